/**
 * The rollup tables: each replica adds its minute deltas to its own minute rows (PostgreSQL adds
 * the counts and merges the histograms, in one transaction), the leader merges the minute rows of
 * an hour into the hour table, and readers merge what the filters select.
 */
import { and, asc, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
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
 * Rollup cells as the merge statement takes them: one PostgreSQL array literal per column (the
 * bucket, then `COLUMNS`), unnested into rows, so any number of cells is 16 parameters and one
 * round trip (drizzle's multi-row insert typed every one of 16 per row). Made where the cells are
 * counted (the ingestion worker), so the thread that writes them only passes strings on.
 */
export interface RollupColumns {
  cells: number;
  arrays: string[];
}

/** Most cells one statement writes: statements stay a few hundred KB, and the event loop gets its turn between them. */
const MERGE_SLICE = 500;

/** Cells as statements' columns, `MERGE_SLICE` cells a statement. */
export function rollupColumns(cells: readonly RollupCell[]): RollupColumns[] {
  const out: RollupColumns[] = [];
  for (let i = 0; i < cells.length; i += MERGE_SLICE) {
    const slice = cells.slice(i, i + MERGE_SLICE);
    out.push({ cells: slice.length, arrays: [arrayLiteral(slice.map((c) => c.bucket.toISOString())), ...COLUMNS.map(([, , get]) => arrayLiteral(slice.map(get)))] });
  }
  return out;
}

const NAMES = COLUMNS.map(([c]) => `"${c}"`);
/** On a row already stored: `replace` takes the new values, `add` adds the counts and merges the histograms (migration 0011). */
const ON_CONFLICT = {
  replace: NAMES.slice(KEY_COLUMNS).map((n) => `${n} = excluded.${n}`).join(', '),
  add: NAMES.slice(KEY_COLUMNS).map((n) => (n === '"latency"' ? `${n} = apg_merge_latency(t.${n}, excluded.${n})` : `${n} = t.${n} + excluded.${n}`)).join(', '),
};

/** Writes one statement's cells into rows of `replica` (same bucket and key: replaced, or added to). */
async function upsert(db: Db, granularity: Granularity, replica: string, batch: RollupColumns, mode: keyof typeof ON_CONFLICT): Promise<void> {
  if (batch.cells === 0) return;
  const arrays = sql.join(
    batch.arrays.map((literal, i) => sql`${literal}::${sql.raw(i === 0 ? 'timestamptz' : COLUMNS[i - 1]![1])}[]`),
    sql`, `,
  );
  await db.execute(sql`
    insert into ${sql.raw(TABLE_NAMES[granularity])} as t ("bucket", "replica", ${sql.raw(NAMES.join(', '))})
    select u.b, ${replica}::text, ${sql.raw(NAMES.map((_, i) => `u.c${i}`).join(', '))}
    from unnest(${arrays}) as u(b, ${sql.raw(NAMES.map((_, i) => `c${i}`).join(', '))})
    on conflict ("bucket", "replica", ${sql.raw(NAMES.slice(0, KEY_COLUMNS).join(', '))}) do update set ${sql.raw(ON_CONFLICT[mode])}`);
}

/**
 * Adds a replica's minute deltas to its stored minute rows, all statements in one transaction
 * (a failed merge adds nothing, so its deltas can be merged again). PostgreSQL adds them to what
 * is stored: nothing is read back, and a replica that restarted adds to the rows it wrote before.
 */
export async function mergeMinuteDeltas(db: Db, replica: string, batches: readonly RollupColumns[]): Promise<void> {
  if (batches.every((b) => b.cells === 0)) return;
  await db.transaction(async (tx) => {
    for (const batch of batches) await upsert(tx as unknown as Db, 'minute', replica, batch, 'add');
  });
}

/** `mergeMinuteDeltas` of cells. */
export const mergeMinuteCells = (db: Db, replica: string, cells: readonly RollupCell[]) => mergeMinuteDeltas(db, replica, rollupColumns(cells));

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
  await db.transaction(async (tx) => {
    for (const batch of rollupColumns([...byKey.values()])) await upsert(tx as unknown as Db, 'hour', '', batch, 'replace');
  });
  return byKey.size;
}

/** True when the hour table holds rows for the hour starting at `hour`. */
export async function hourRolledUp(db: Db, hour: Date): Promise<boolean> {
  const rows = await db.select({ one: sql<number>`1` }).from(trafficRollupsHour).where(eq(trafficRollupsHour.bucket, hour)).limit(1);
  return rows.length > 0;
}
