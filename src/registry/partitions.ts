/**
 * Telemetry tables partitioned by UTC day: a partition per day, created ahead of the rows that will
 * land in it and dropped whole once the day is past the table's retention (a DROP, never a DELETE).
 */
import { sql } from 'drizzle-orm';
import type { Db } from './db.ts';

/** The day-partitioned tables and the column they are partitioned on. */
export const PARTITIONED_TABLES = ['access_log_entries', 'traffic_rollups_minute', 'traffic_rollups_hour'] as const;
export type PartitionedTable = (typeof PARTITIONED_TABLES)[number];

const DAY_MS = 86_400_000;

/** The partition of a table for a UTC day: `<table>_pYYYYMMDD`. */
export function partitionName(table: PartitionedTable, day: Date): string {
  return `${table}_p${day.toISOString().slice(0, 10).replaceAll('-', '')}`;
}

const startOfDay = (t: Date) => new Date(Math.floor(t.getTime() / DAY_MS) * DAY_MS);

/** Creates the table's partitions of the days from `daysBack` before `now` to `daysAhead` after it, those missing. */
export async function ensurePartitions(db: Db, table: PartitionedTable, now: Date, daysBack = 1, daysAhead = 2): Promise<string[]> {
  const existing = new Set(await listPartitions(db, table));
  const created: string[] = [];
  for (let d = -daysBack; d <= daysAhead; d++) {
    const from = new Date(startOfDay(now).getTime() + d * DAY_MS);
    const name = partitionName(table, from);
    if (existing.has(name)) continue;
    const to = new Date(from.getTime() + DAY_MS);
    await db.execute(sql.raw(`create table if not exists "${name}" partition of "${table}" for values from ('${from.toISOString()}') to ('${to.toISOString()}')`));
    created.push(name);
  }
  return created;
}

/** The table's day partitions that exist, oldest first. */
export async function listPartitions(db: Db, table: PartitionedTable): Promise<string[]> {
  const res = await db.execute(
    sql`select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent where p.relname = ${table}`,
  );
  const pattern = new RegExp(`^${table}_p\\d{8}$`);
  return (res as unknown as { rows: { name: string }[] }).rows.map((r) => r.name).filter((n) => pattern.test(n)).sort();
}

/** Drops the table's partitions of the days that ended at or before `before`; returns their names. */
export async function dropPartitionsBefore(db: Db, table: PartitionedTable, before: Date): Promise<string[]> {
  const dropped: string[] = [];
  for (const name of await listPartitions(db, table)) {
    const day = name.slice(-8);
    const end = Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6, 8))) + DAY_MS;
    if (end > before.getTime()) continue;
    await db.execute(sql.raw(`drop table if exists "${name}"`));
    dropped.push(name);
  }
  return dropped;
}
