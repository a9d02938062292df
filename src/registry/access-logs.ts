/** The raw access-log table (partitioned by day, see partitions.ts): the batched insert and the trace queries. */
import type { AccessLogRecord } from '../analytics/access-log.ts';
import type { Db } from './db.ts';
import { accessLogEntries } from './schema.ts';

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
      route: r.route ?? null,
    })),
  );
}
