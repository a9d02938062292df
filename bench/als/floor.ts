/**
 * The database floors of `bench:als`: the same records the pipeline stores, written by one connection
 * in batches of 2,000 (as one of the ingestion's writers does), with no gRPC and no decoding in the way.
 * - COPY into a plain table: no partitions, no indexes. The floor.
 * - COPY into a plain table with btree indexes on `at` and `trace_id` (the indexes before 0010).
 * - COPY into a plain table with the real table's indexes (BRIN on `at`, hash on `trace_id`).
 * - `insertAccessLogRecords` (the server's writer: COPY through its pool) into the real
 *   `access_log_entries` (day partitions, the same indexes).
 * Each writes batches for a fixed time from an emptied table; the time includes turning records
 * into COPY text, since a writer in the server has to do that too. All use the server's COPY text.
 */
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { AccessLogRecord } from '../../src/analytics/access-log.ts';
import { ACCESS_LOG_COLUMNS, accessLogCopyText, insertAccessLogRecords } from '../../src/registry/access-logs.ts';
import type { Database } from '../../src/registry/db.ts';
import { now } from '../xds/ipc.ts';

/** Stores records with one `COPY … FROM STDIN` on a dedicated connection. */
async function copyRecords(client: pg.ClientBase, table: string, records: readonly AccessLogRecord[]): Promise<void> {
  const stream = client.query(copyFrom(`copy ${table} (${ACCESS_LOG_COLUMNS.map((c) => `"${c}"`).join(', ')}) from stdin`));
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
  });
  stream.end(accessLogCopyText(records));
  await done;
}

/**
 * CPU time of every process named `postgres` so far (ms): the server's backends, and any
 * neighbours'. Backends and autovacuum workers that ended count too, through the children's time
 * of the postmaster that reaped them (else the figure can fall between two readings).
 */
export function postgresCpuMs(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]); // utime, stime, cutime, cstime
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks * 10;
}

/** What one floor measured. */
export interface FloorResult {
  label: string;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  /** Median time of one 2,000-row batch, ms. */
  batchP50Ms: number;
  /** CPU of all PostgreSQL processes per row stored, µs. */
  postgresUsPerRow: number;
}

/** Writes `batch`-sized slices of `records` (cycling) with `write` for `durationMs`, one at a time. */
export async function measureWriter(
  label: string,
  records: readonly AccessLogRecord[],
  durationMs: number,
  write: (batch: readonly AccessLogRecord[]) => Promise<void>,
  batch = 2000,
): Promise<FloorResult> {
  const whole = Math.floor(records.length / batch) * batch;
  if (whole === 0) throw new Error(`need at least ${batch} records`);
  const times: number[] = [];
  let offset = 0;
  const cpu0 = postgresCpuMs();
  const t0 = now();
  while (now() - t0 < durationMs) {
    const slice = records.slice(offset, offset + batch);
    offset = (offset + batch) % whole;
    const b0 = now();
    await write(slice);
    times.push(now() - b0);
  }
  const seconds = (now() - t0) / 1000;
  const rows = times.length * batch;
  const postgresUsPerRow = ((postgresCpuMs() - cpu0) * 1000) / rows;
  times.sort((a, b) => a - b);
  return { label, rows, seconds, rowsPerSecond: rows / seconds, batchP50Ms: times[Math.floor(times.length / 2)] ?? NaN, postgresUsPerRow };
}

/** The four floors, each from an emptied table; `client` is a dedicated connection, `database` a pool of one. */
export async function measureFloors(client: pg.Client, database: Database, records: readonly AccessLogRecord[], durationMs: number): Promise<FloorResult[]> {
  const plain: [string, string[]][] = [
    ['access_log_floor', []],
    ['access_log_btrees', ['create index on access_log_btrees (at)', 'create index on access_log_btrees (trace_id)']],
    ['access_log_brin_hash', ['create index on access_log_brin_hash using brin (at)', 'create index on access_log_brin_hash using hash (trace_id)']],
  ];
  for (const [table, indexes] of plain) {
    await client.query(`drop table if exists ${table}`);
    await client.query(`create table ${table} (like access_log_entries)`);
    for (const index of indexes) await client.query(index);
  }
  const results: FloorResult[] = [];
  const run = async (label: string, table: string, write: (b: readonly AccessLogRecord[]) => Promise<void>) => {
    await client.query(`truncate ${table}`);
    await client.query('checkpoint');
    results.push(await measureWriter(label, records, durationMs, write));
  };
  await run('COPY → plain table (floor)', 'access_log_floor', (b) => copyRecords(client, 'access_log_floor', b));
  await run('COPY → plain table + btree (at), btree (trace_id)', 'access_log_btrees', (b) => copyRecords(client, 'access_log_btrees', b));
  await run('COPY → plain table + brin (at), hash (trace_id)', 'access_log_brin_hash', (b) => copyRecords(client, 'access_log_brin_hash', b));
  await run('server writer (COPY) → access_log_entries', 'access_log_entries', (b) => insertAccessLogRecords(database, b));
  await client.query(`drop table ${plain.map(([t]) => t).join(', ')}`);
  return results;
}
