/**
 * The rollup tables: each replica merges its minute deltas into its own minute rows (add to what
 * it stored, write back in one transaction: no other writer has those rows; what it stored comes
 * from a cache of its recent buckets, else a read), the leader merges the minute rows of an hour
 * into the hour table, and readers merge what the filters select.
 */
import { and, asc, eq, gte, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { addCounts, emptyCounts, HOUR_MS, type RollupCell, type RollupKey } from '../analytics/rollup.ts';
import { LatencyHistogram } from '../analytics/histogram.ts';
import type { Db } from './db.ts';
import { arrayLiteral } from './array-literal.ts';
import { trafficRollupsHour, trafficRollupsMinute, type RollupKind, type RollupReporter } from './schema.ts';

export type Granularity = 'minute' | 'hour';
const TABLES = { minute: trafficRollupsMinute, hour: trafficRollupsHour } as const;

const keyId = (bucket: Date, k: RollupKey) => `${bucket.getTime()}\u0000${k.kind}\u0000${k.reporter}\u0000${k.source}\u0000${k.destination}\u0000${k.route}`;

/** A stored row with its histogram parsed. */
export interface StoredRollup extends RollupCell {
  replica: string;
}

type Row = typeof trafficRollupsMinute.$inferSelect;

/** A row's counts; a histogram that does not parse counts as empty (its requests still count). */
function fromRow(row: Row): StoredRollup {
  const latency = LatencyHistogram.fromJSON(row.latency);
  return { ...row, latency: latency.ok ? latency.value : new LatencyHistogram() };
}

/** The columns of a rollup row after `replica`, in insert order, with their array type and how a cell fills them. */
const COLUMNS: [string, string, (c: RollupCell) => string | number][] = [
  ['kind', 'text', (c) => c.kind],
  ['reporter', 'text', (c) => c.reporter],
  ['source', 'text', (c) => c.source],
  ['destination', 'text', (c) => c.destination],
  ['route', 'text', (c) => c.route],
  ['requests', 'int8', (c) => c.requests],
  ['status_2xx', 'int8', (c) => c.status2xx],
  ['status_3xx', 'int8', (c) => c.status3xx],
  ['status_4xx', 'int8', (c) => c.status4xx],
  ['status_5xx', 'int8', (c) => c.status5xx],
  ['no_status', 'int8', (c) => c.noStatus],
  ['bytes_received', 'int8', (c) => c.bytesReceived],
  ['bytes_sent', 'int8', (c) => c.bytesSent],
  ['latency', 'jsonb', (c) => JSON.stringify(c.latency.toJSON())],
];
const KEY_COLUMNS = 5;
const TABLE_NAMES = { minute: 'traffic_rollups_minute', hour: 'traffic_rollups_hour' } as const;

/**
 * Replaces rows (same bucket, replica and key) with the given cells in one statement: one
 * array literal per column, unnested into rows, so any number of cells is 16
 * parameters and one round trip (drizzle's multi-row insert typed every one of 16 per row).
 */
async function upsert(db: Db, granularity: Granularity, replica: string, cells: readonly RollupCell[]): Promise<void> {
  if (cells.length === 0) return;
  const names = COLUMNS.map(([c]) => `"${c}"`);
  const arrays = sql.join(
    [sql`${arrayLiteral(cells.map((c) => c.bucket.toISOString()))}::timestamptz[]`, ...COLUMNS.map(([, type, get]) => sql`${arrayLiteral(cells.map(get))}::${sql.raw(type)}[]`)],
    sql`, `,
  );
  const update = sql.raw(names.slice(KEY_COLUMNS).map((n) => `${n} = excluded.${n}`).join(', '));
  await db.execute(sql`
    insert into ${sql.raw(TABLE_NAMES[granularity])} ("bucket", "replica", ${sql.raw(names.join(', '))})
    select u.b, ${replica}::text, ${sql.raw(names.map((_, i) => `u.c${i}`).join(', '))}
    from unnest(${arrays}) as u(b, ${sql.raw(names.map((_, i) => `c${i}`).join(', '))})
    on conflict ("bucket", "replica", ${sql.raw(names.slice(0, KEY_COLUMNS).join(', '))}) do update set ${update}`);
}

/**
 * This replica's minute rows of the last few minutes as it last wrote them. The replica is the only
 * writer of rows with its id, so once a bucket's rows were read (or found absent) the cache knows
 * them exactly, and merging a delta needs no read; a bucket not cached (a restart, a late entry) or
 * whose row count changed behind its back (a truncated table) is read first. Two processes sharing
 * one REPLICA_ID at once are not supported (they never were).
 */
export class MinuteRowCache {
  private readonly buckets = new Map<number, Map<string, RollupCell>>();
  /** Buckets read from the table so far (the reads the cache did not save). */
  bucketsRead = 0;

  /**
   * Keeps buckets for `keepMs` past the clock (Envoy flushes its access logs every second, so deltas
   * for older minutes are rare, and a rare one is read). The clock, not the newest bucket, decides:
   * one entry from a proxy whose clock runs ahead must not evict the present.
   */
  constructor(
    private readonly keepMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The stored rows of a bucket, when it is cached. */
  bucket(ms: number): Map<string, RollupCell> | undefined {
    return this.buckets.get(ms);
  }

  /** Records the rows now stored (after a successful write), and forgets buckets too old to matter. */
  remember(ms: number, rows: Map<string, RollupCell>): void {
    this.buckets.set(ms, rows);
    const oldest = this.now() - this.keepMs;
    for (const b of this.buckets.keys()) if (b < oldest) this.buckets.delete(b);
  }
}

/** A cell holding `a` + `b`, leaving both as they were (a cached row must stay as stored if the write fails). */
const sumOf = (a: RollupCell, b: RollupCell): RollupCell => addCounts(addCounts({ ...a, ...emptyCounts() }, a), b);

/**
 * The stored rows of this replica's buckets: from the cache where the table still holds as many
 * rows as the cache does (one `count(*)` per merge, to notice rows deleted behind its back, e.g. a
 * truncated table), else read and parsed. Each returned map may be the cache's own: do not change
 * it before the write is stored.
 */
async function storedRows(tx: Db, replica: string, buckets: number[], cache: MinuteRowCache): Promise<Map<number, Map<string, RollupCell>>> {
  const t = trafficRollupsMinute;
  const out = new Map<number, Map<string, RollupCell>>();
  const cached = buckets.filter((ms) => cache.bucket(ms));
  if (cached.length > 0) {
    const counts = await tx
      .select({ bucket: t.bucket, n: sql<number>`count(*)::int` })
      .from(t)
      .where(and(eq(t.replica, replica), inArray(t.bucket, cached.map((ms) => new Date(ms)))))
      .groupBy(t.bucket);
    const stored = new Map(counts.map((c) => [c.bucket.getTime(), Number(c.n)]));
    for (const ms of cached) if ((stored.get(ms) ?? 0) === cache.bucket(ms)!.size) out.set(ms, cache.bucket(ms)!);
  }
  const missing = buckets.filter((ms) => !out.has(ms));
  for (const ms of missing) out.set(ms, new Map());
  if (missing.length > 0) {
    cache.bucketsRead += missing.length;
    for (const row of await tx.select().from(t).where(and(eq(t.replica, replica), inArray(t.bucket, missing.map((ms) => new Date(ms)))))) {
      out.get(row.bucket.getTime())!.set(keyId(row.bucket, row), fromRow(row));
    }
  }
  return out;
}

/** Most cells summed and written by one statement of a merge. */
const MERGE_SLICE = 500;

/**
 * Adds a replica's minute deltas to its stored minute rows, in one transaction. With a cache, the
 * rows of buckets it holds are not read again (see `storedRows`).
 */
export async function mergeMinuteCells(db: Db, replica: string, cells: readonly RollupCell[], cache = new MinuteRowCache()): Promise<void> {
  if (cells.length === 0) return;
  const buckets = [...new Set(cells.map((c) => c.bucket.getTime()))];
  const { stored, totals } = await db.transaction(async (t) => {
    const tx = t as unknown as Db;
    const stored = await storedRows(tx, replica, buckets, cache);
    const totals: RollupCell[] = [];
    // In slices, each its own statement: the event loop (which also serves xDS and reads the
    // telemetry streams) gets its turn between them instead of waiting for all the cells' JSON.
    for (let i = 0; i < cells.length; i += MERGE_SLICE) {
      const slice = cells.slice(i, i + MERGE_SLICE).map((c) => {
        const old = stored.get(c.bucket.getTime())!.get(keyId(c.bucket, c));
        return old ? sumOf(old, c) : c;
      });
      await upsert(tx, 'minute', replica, slice);
      totals.push(...slice);
    }
    return { stored, totals };
  });
  // Only now that the write is stored: a failed one leaves the cache as the table is.
  for (const c of totals) stored.get(c.bucket.getTime())!.set(keyId(c.bucket, c), c);
  for (const [ms, rows] of stored) cache.remember(ms, rows);
}

/** Which rows to read: a time range and any of the key's fields. */
export interface RollupFilter {
  from: Date;
  to: Date;
  kind?: RollupKind;
  reporter?: RollupReporter;
  source?: string;
  destination?: string;
  route?: string;
}

/** The rows of a range and filter, oldest bucket first (every replica's rows: callers merge). */
export async function readRollups(db: Db, granularity: Granularity, f: RollupFilter): Promise<StoredRollup[]> {
  const t = TABLES[granularity];
  const where: SQL[] = [gte(t.bucket, f.from), lt(t.bucket, f.to)];
  for (const col of ['kind', 'reporter', 'source', 'destination', 'route'] as const) {
    const v = f[col];
    if (v !== undefined) where.push(eq(t[col], v));
  }
  const rows = await db.select().from(t).where(and(...where)).orderBy(asc(t.bucket));
  return rows.map(fromRow);
}

/** Merges the minute rows of every replica for the hour starting at `hour` into the hour table (replacing what it held). */
export async function rollUpHour(db: Db, hour: Date): Promise<number> {
  const rows = await readRollups(db, 'minute', { from: hour, to: new Date(hour.getTime() + HOUR_MS) });
  const byKey = new Map<string, RollupCell>();
  for (const r of rows) {
    const id = keyId(hour, r);
    const cell = byKey.get(id) ?? { bucket: hour, kind: r.kind, reporter: r.reporter, source: r.source, destination: r.destination, route: r.route, ...emptyCounts() };
    byKey.set(id, addCounts(cell, r));
  }
  await upsert(db, 'hour', '', [...byKey.values()]);
  return byKey.size;
}

/** True when the hour table holds rows for the hour starting at `hour`. */
export async function hourRolledUp(db: Db, hour: Date): Promise<boolean> {
  const rows = await db.select({ one: sql<number>`1` }).from(trafficRollupsHour).where(eq(trafficRollupsHour.bucket, hour)).limit(1);
  return rows.length > 0;
}
