/** The raw access-log table (partitioned by day, see partitions.ts): the batched COPY and the trace queries. */
import { and, asc, desc, eq, gt, gte, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { AccessLogRecord } from '../analytics/access-log.ts';
import type { Database, Db } from './db.ts';
import { accessLogEntries } from './schema.ts';

/** The columns a stored entry fills, in the order of `copyLine`'s fields. */
export const ACCESS_LOG_COLUMNS = [
  'at', 'proxy_id', 'protocol', 'direction', 'source', 'destination', 'route', 'method', 'path',
  'status', 'grpc_status', 'duration_ms', 'bytes_received', 'bytes_sent', 'trace_id', 'request_id',
] as const;

const NEEDS_ESCAPE = /[\\\t\n\r\0]/;
const ESCAPED = /[\\\t\n\r\0]/g;
/** COPY's text-format escapes; NUL cannot be stored in a text column at all, so it becomes U+FFFD. */
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\uFFFD' };

/** A text field in COPY's text format (`\N` for absent). */
const text = (v: string | undefined) => (v === undefined ? '\\N' : NEEDS_ESCAPE.test(v) ? v.replace(ESCAPED, (c) => ESCAPES[c]!) : v);
/** A number field (`\N` for absent). */
const num = (v: number | undefined) => (v === undefined ? '\\N' : String(v));

/** One record as a line of COPY text (tab-separated, in `ACCESS_LOG_COLUMNS` order). */
export function accessLogCopyLine(r: AccessLogRecord): string {
  return `${r.at.toISOString()}\t${text(r.proxyId)}\t${r.protocol}\t${r.direction}\t${text(r.source)}\t${text(r.destination)}\t${text(r.route)}\t${text(r.method)}\t${text(r.path)}\t${num(r.status)}\t${num(r.grpcStatus)}\t${num(r.durationMs)}\t${r.bytesReceived}\t${r.bytesSent}\t${text(r.traceId)}\t${text(r.requestId)}\n`;
}

/** Stores rows already in COPY text (`ACCESS_LOG_COLUMNS` order, one per line, in any number of parts) with one COPY: all or nothing. */
export async function copyAccessLogRows(database: Pick<Database, 'copyIn'>, parts: readonly Uint8Array[]): Promise<void> {
  if (parts.length === 0) return;
  await database.copyIn('access_log_entries', ACCESS_LOG_COLUMNS, parts);
}

/**
 * Stores a batch with one COPY (their days' partitions must exist): all or nothing. COPY costs
 * PostgreSQL less than half the CPU per row of an `insert … select from unnest(…)` of the same
 * rows (measured in docs/benchmarks.md), and the text is as cheap to build as array parameters.
 */
export async function insertAccessLogRecords(database: Pick<Database, 'copyIn'>, records: readonly AccessLogRecord[]): Promise<void> {
  if (records.length === 0) return;
  await database.copyIn('access_log_entries', ACCESS_LOG_COLUMNS, accessLogCopyText(records));
}

/** Records as COPY text rows for `ACCESS_LOG_COLUMNS`. */
export function accessLogCopyText(records: readonly AccessLogRecord[]): string {
  let rows = '';
  for (const r of records) rows += accessLogCopyLine(r);
  return rows;
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
