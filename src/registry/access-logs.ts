/** The raw access-log table (partitioned by day, see partitions.ts): the batched insert and the trace queries. */
import { and, asc, desc, eq, gt, gte, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { AccessLogRecord } from '../analytics/access-log.ts';
import type { Db } from './db.ts';
import { accessLogEntries } from './schema.ts';
import { arrayLiteral } from './array-literal.ts';

/** Columns in insert order, each with its array type and how a record fills it. */
const COLUMNS: [string, string, (r: AccessLogRecord) => string | number | null][] = [
  ['at', 'timestamptz', (r) => r.at.toISOString()],
  ['proxy_id', 'text', (r) => r.proxyId],
  ['protocol', 'text', (r) => r.protocol],
  ['direction', 'text', (r) => r.direction],
  ['source', 'text', (r) => r.source ?? null],
  ['destination', 'text', (r) => r.destination ?? null],
  ['route', 'text', (r) => r.route ?? null],
  ['method', 'text', (r) => r.method ?? null],
  ['path', 'text', (r) => r.path ?? null],
  ['status', 'int4', (r) => r.status ?? null],
  ['grpc_status', 'int4', (r) => r.grpcStatus ?? null],
  ['duration_ms', 'float8', (r) => r.durationMs ?? null],
  ['bytes_received', 'int8', (r) => r.bytesReceived],
  ['bytes_sent', 'int8', (r) => r.bytesSent],
  ['trace_id', 'text', (r) => r.traceId ?? null],
  ['request_id', 'text', (r) => r.requestId ?? null],
];

/**
 * Stores a batch in one statement (their days' partitions must exist): one array parameter per
 * column (an array literal), unnested into rows, so a batch of any size is 16 parameters and one round trip.
 */
export async function insertAccessLogRecords(db: Db, records: readonly AccessLogRecord[]): Promise<void> {
  if (records.length === 0) return;
  const names = sql.raw(COLUMNS.map(([c]) => `"${c}"`).join(', '));
  const arrays = sql.join(
    // Array literals built here: pg's per-element serialisation of 16 × 2,000 values cost more than the insert.
    COLUMNS.map(([, type, get]) => sql`${arrayLiteral(records.map(get))}::${sql.raw(type)}[]`),
    sql`, `,
  );
  await db.execute(sql`insert into access_log_entries (${names}) select * from unnest(${arrays})`);
}

export type AccessLogRow = typeof accessLogEntries.$inferSelect;

/** Every entry of one trace (or request id), in time order; at most `limit`. */
export async function traceEntries(db: Db, traceId: string, limit = 1000): Promise<AccessLogRow[]> {
  return db.select().from(accessLogEntries).where(eq(accessLogEntries.traceId, traceId)).orderBy(asc(accessLogEntries.at)).limit(limit);
}

/** What the search of recent requests looks for: slow ones, failed ones (5xx, no response, or a gRPC error), of a service. */
export interface AccessLogSearch {
  since: Date;
  until: Date;
  /** At least this long. */
  minDurationMs?: number;
  /** Only 5xx answers and requests that got no response. */
  failed?: boolean;
  /** `ns/name` as caller or destination. */
  service?: string;
  limit: number;
}

/** Recent entries matching the search, slowest first (then newest). */
export async function searchAccessLogs(db: Db, q: AccessLogSearch): Promise<AccessLogRow[]> {
  const t = accessLogEntries;
  const where: SQL[] = [gte(t.at, q.since), lt(t.at, q.until)];
  if (q.minDurationMs !== undefined) where.push(gte(t.durationMs, q.minDurationMs));
  if (q.failed) where.push(or(gte(t.status, 500), and(isNull(t.status), eq(t.protocol, 'http')), gt(t.grpcStatus, 0))!);
  if (q.service !== undefined) where.push(or(eq(t.destination, q.service), eq(t.source, q.service))!);
  return db
    .select()
    .from(t)
    .where(and(...where))
    .orderBy(sql`${t.durationMs} desc nulls last`, desc(t.at))
    .limit(q.limit);
}
