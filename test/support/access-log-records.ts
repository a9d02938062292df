/** Access-log records for tests: web calling orders over HTTP, answered 200 in 10 ms; `over` changes what a case needs. */
import type { AccessLogRecord } from '../../src/analytics/access-log.ts';

/** A record starting at `at`. */
export function accessRecord(at: string | Date, over: Partial<AccessLogRecord> = {}): AccessLogRecord {
  return {
    at: new Date(at),
    proxyId: 'web-1',
    protocol: 'http',
    direction: 'outbound',
    source: 'shop/web',
    destination: 'shop/orders',
    status: 200,
    durationMs: 10,
    bytesReceived: 100,
    bytesSent: 1000,
    ...over,
  };
}
