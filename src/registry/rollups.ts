/**
 * The rollup tables: each replica merges its minute deltas into its own minute rows (read, add,
 * write back in one transaction: no other writer has those rows), the leader merges the minute
 * rows of an hour into the hour table, and readers merge what the filters select.
 */
import { and, asc, eq, gte, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { addCounts, emptyCounts, HOUR_MS, type RollupCell, type RollupKey } from '../analytics/rollup.ts';
import { LatencyHistogram } from '../analytics/histogram.ts';
import type { Db } from './db.ts';
import { trafficRollupsHour, trafficRollupsMinute, type RollupKind, type RollupReporter } from './schema.ts';

export type Granularity = 'minute' | 'hour';
const TABLES = { minute: trafficRollupsMinute, hour: trafficRollupsHour } as const;
/** Rows per INSERT: 16 parameters each stays far below PostgreSQL's 65,535. */
const CHUNK = 1000;

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

const toRow = (replica: string, c: RollupCell) => ({
  bucket: c.bucket,
  replica,
  kind: c.kind,
  reporter: c.reporter,
  source: c.source,
  destination: c.destination,
  route: c.route,
  requests: c.requests,
  status2xx: c.status2xx,
  status3xx: c.status3xx,
  status4xx: c.status4xx,
  status5xx: c.status5xx,
  noStatus: c.noStatus,
  bytesReceived: c.bytesReceived,
  bytesSent: c.bytesSent,
  latency: c.latency.toJSON(),
});

/** Replaces rows (same bucket, replica and key) with the given cells, in chunks. */
async function upsert(db: Db, granularity: Granularity, replica: string, cells: readonly RollupCell[]): Promise<void> {
  const t = TABLES[granularity];
  const excluded = (col: string) => sql.raw(`excluded."${col}"`);
  const set = {
    requests: excluded('requests'),
    status2xx: excluded('status_2xx'),
    status3xx: excluded('status_3xx'),
    status4xx: excluded('status_4xx'),
    status5xx: excluded('status_5xx'),
    noStatus: excluded('no_status'),
    bytesReceived: excluded('bytes_received'),
    bytesSent: excluded('bytes_sent'),
    latency: excluded('latency'),
  };
  for (let i = 0; i < cells.length; i += CHUNK) {
    await db
      .insert(t)
      .values(cells.slice(i, i + CHUNK).map((c) => toRow(replica, c)))
      .onConflictDoUpdate({
        target: [t.bucket, t.replica, t.kind, t.reporter, t.source, t.destination, t.route],
        set,
      });
  }
}

/** Adds a replica's minute deltas to its stored minute rows (one transaction). */
export async function mergeMinuteCells(db: Db, replica: string, cells: readonly RollupCell[]): Promise<void> {
  if (cells.length === 0) return;
  const buckets = [...new Set(cells.map((c) => c.bucket.getTime()))].map((ms) => new Date(ms));
  await db.transaction(async (tx) => {
    const t = trafficRollupsMinute;
    const stored = await tx.select().from(t).where(and(eq(t.replica, replica), inArray(t.bucket, buckets)));
    const byId = new Map(stored.map((r) => [keyId(r.bucket, r), fromRow(r)]));
    const merged = cells.map((c) => {
      const old = byId.get(keyId(c.bucket, c));
      return old ? addCounts(old, c) : c;
    });
    await upsert(tx as unknown as Db, 'minute', replica, merged);
  });
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
