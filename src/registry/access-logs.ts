/**
 * The raw access-log table's days: a partition per UTC day, created ahead of the entries that will
 * land in it and dropped whole once the day is past the retention, and the batched insert.
 */
import { sql } from 'drizzle-orm';
import type { AccessLogRecord } from '../analytics/access-log.ts';
import type { Db } from './db.ts';
import { accessLogEntries } from './schema.ts';

const DAY_MS = 86_400_000;
const PARTITION = /^access_log_entries_p(\d{4})(\d{2})(\d{2})$/;

/** The partition of a UTC day: `access_log_entries_pYYYYMMDD`. */
export function partitionName(day: Date): string {
  return `access_log_entries_p${day.toISOString().slice(0, 10).replaceAll('-', '')}`;
}

const startOfDay = (t: Date) => new Date(Math.floor(t.getTime() / DAY_MS) * DAY_MS);

/** Creates the partitions of the days from `daysBack` before `now` to `daysAhead` after it, those missing. */
export async function ensurePartitions(db: Db, now: Date, daysBack = 1, daysAhead = 2): Promise<string[]> {
  const existing = new Set(await listPartitions(db));
  const created: string[] = [];
  for (let d = -daysBack; d <= daysAhead; d++) {
    const from = new Date(startOfDay(now).getTime() + d * DAY_MS);
    const name = partitionName(from);
    if (existing.has(name)) continue;
    const to = new Date(from.getTime() + DAY_MS);
    await db.execute(
      sql.raw(`create table if not exists "${name}" partition of access_log_entries for values from ('${from.toISOString()}') to ('${to.toISOString()}')`),
    );
    created.push(name);
  }
  return created;
}

/** The day partitions that exist, oldest first. */
export async function listPartitions(db: Db): Promise<string[]> {
  const res = await db.execute(sql`select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent where p.relname = 'access_log_entries'`);
  return (res as unknown as { rows: { name: string }[] }).rows.map((r) => r.name).filter((n) => PARTITION.test(n)).sort();
}

/** Drops the partitions of the days that ended at or before `before`; returns their names. */
export async function dropPartitionsBefore(db: Db, before: Date): Promise<string[]> {
  const dropped: string[] = [];
  for (const name of await listPartitions(db)) {
    const [, y, m, d] = PARTITION.exec(name)!;
    const end = Date.UTC(Number(y), Number(m) - 1, Number(d)) + DAY_MS;
    if (end > before.getTime()) continue;
    await db.execute(sql.raw(`drop table if exists "${name}"`));
    dropped.push(name);
  }
  return dropped;
}

/** Stores a batch of records in one multi-row insert (their days' partitions must exist). */
export async function insertAccessLogRecords(db: Db, records: readonly AccessLogRecord[]): Promise<void> {
  if (records.length === 0) return;
  await db.insert(accessLogEntries).values(
    records.map((r) => ({
      at: r.at,
      proxyId: r.proxyId,
      protocol: r.protocol,
      direction: r.direction,
      source: r.source ?? null,
      destination: r.destination ?? null,
      method: r.method ?? null,
      path: r.path ?? null,
      status: r.status ?? null,
      durationMs: r.durationMs ?? null,
      bytesReceived: r.bytesReceived,
      bytesSent: r.bytesSent,
      traceId: r.traceId ?? null,
      requestId: r.requestId ?? null,
    })),
  );
}
