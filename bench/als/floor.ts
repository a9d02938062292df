/**
 * The database floors of `bench:als`: the same records the pipeline stores, written by one connection
 * in batches of 2,000 (as the ingestion's one writer does), with no gRPC and no decoding in the way.
 * - COPY (text format, `pg-copy-streams`) into a plain table: no partitions, no indexes. The floor.
 * - COPY into a plain table with the real table's two indexes (`at`, `trace_id`): what the indexes cost.
 * - COPY into the real `access_log_entries` (day partitions, the same two indexes).
 * - `insertAccessLogRecords` (the `unnest` insert the server uses) into `access_log_entries`.
 * Each writes batches for a fixed time from an emptied table; the time includes turning records
 * into the statement's text or parameters, since a writer in the server has to do that too.
 */
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { AccessLogRecord } from '../../src/analytics/access-log.ts';
import { insertAccessLogRecords } from '../../src/registry/access-logs.ts';
import type { Db } from '../../src/registry/db.ts';
import { now } from '../xds/ipc.ts';

/** The table's columns, each with how a record fills it (undefined → NULL). */
const COLUMNS: [string, (r: AccessLogRecord) => string | number | undefined][] = [
  ['at', (r) => r.at.toISOString()],
  ['proxy_id', (r) => r.proxyId],
  ['protocol', (r) => r.protocol],
  ['direction', (r) => r.direction],
  ['source', (r) => r.source],
  ['destination', (r) => r.destination],
  ['method', (r) => r.method],
  ['path', (r) => r.path],
  ['status', (r) => r.status],
  ['grpc_status', (r) => r.grpcStatus],
  ['duration_ms', (r) => r.durationMs],
  ['bytes_received', (r) => r.bytesReceived],
  ['bytes_sent', (r) => r.bytesSent],
  ['trace_id', (r) => r.traceId],
  ['request_id', (r) => r.requestId],
  ['route', (r) => r.route],
];

const SPECIAL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** One field in COPY's text format. */
const field = (v: string | number | undefined) => (v === undefined ? '\\N' : typeof v === 'number' ? String(v) : v.replace(SPECIAL, (c) => ESCAPES[c]!));

/** Records as COPY text rows (tab-separated, `\N` for NULL, one line each). */
export function copyText(records: readonly AccessLogRecord[]): string {
  let out = '';
  for (const r of records) out += COLUMNS.map(([, get]) => field(get(r))).join('\t') + '\n';
  return out;
}

/** Stores records with one `COPY … FROM STDIN` on a dedicated connection. */
export async function copyRecords(client: pg.ClientBase, table: string, records: readonly AccessLogRecord[]): Promise<void> {
  const stream = client.query(copyFrom(`copy ${table} (${COLUMNS.map(([c]) => `"${c}"`).join(', ')}) from stdin`));
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
  });
  stream.end(copyText(records));
  await done;
}

/** What one floor measured. */
export interface FloorResult {
  label: string;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  /** Median time of one 2,000-row batch, ms. */
  batchP50Ms: number;
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
  times.sort((a, b) => a - b);
  return { label, rows, seconds, rowsPerSecond: rows / seconds, batchP50Ms: times[Math.floor(times.length / 2)] ?? NaN };
}

/** The four floors, each from an emptied table; `client` is a dedicated connection, `db` a pool of one. */
export async function measureFloors(client: pg.Client, db: Db, records: readonly AccessLogRecord[], durationMs: number): Promise<FloorResult[]> {
  await client.query('drop table if exists access_log_floor');
  await client.query('create table access_log_floor (like access_log_entries)');
  await client.query('drop table if exists access_log_indexed');
  await client.query('create table access_log_indexed (like access_log_entries)');
  await client.query('create index on access_log_indexed (at)');
  await client.query('create index on access_log_indexed (trace_id)');
  const results: FloorResult[] = [];
  const run = async (label: string, table: string, write: (b: readonly AccessLogRecord[]) => Promise<void>) => {
    await client.query(`truncate ${table}`);
    await client.query('checkpoint');
    results.push(await measureWriter(label, records, durationMs, write));
  };
  await run('COPY → plain table (floor)', 'access_log_floor', (b) => copyRecords(client, 'access_log_floor', b));
  await run('COPY → plain table + the 2 indexes', 'access_log_indexed', (b) => copyRecords(client, 'access_log_indexed', b));
  await run('COPY → access_log_entries', 'access_log_entries', (b) => copyRecords(client, 'access_log_entries', b));
  await run('unnest insert → access_log_entries', 'access_log_entries', (b) => insertAccessLogRecords(db, b));
  await client.query('drop table access_log_floor, access_log_indexed');
  return results;
}
