/** The worker's part of ingestion, on this thread: messages of open streams into COPY rows, rollups and counters. */
import { describe, expect, it } from 'vitest';
import { encodeTelemetry, httpEntry } from '../../test/support/telemetry-client.ts';
import { AccessLogBatcher } from './access-log-batcher.ts';

const NOW = new Date('2026-12-02T10:00:00Z');
const entry = (status: number) => httpEntry({ start: new Date(NOW.getTime() - 5000), ms: 5, status, cluster: 'orders.shop' });
const message = (...logEntry: object[]) => encodeTelemetry('accessLogs', { httpLogs: { logEntry } });

describe('AccessLogBatcher', () => {
  it('makes the entries of an open stream into COPY rows and rollup counts, and takes them once', () => {
    const b = new AccessLogBatcher();
    b.open(1, { proxyId: 'web-1', service: 'shop/web' });
    expect(b.add(1, message(entry(200), entry(503)), NOW)).toBeUndefined();
    expect(b.rows).toBe(2);
    const taken = b.takeRows()!;
    const lines = new TextDecoder().decode(taken.bytes).split('\n');
    expect(taken.rows).toBe(2);
    expect(lines.slice(0, 2).map((l) => l.split('\t').slice(1, 6))).toEqual([
      ['web-1', 'http', 'outbound', 'shop/web', 'shop/orders'],
      ['web-1', 'http', 'outbound', 'shop/web', 'shop/orders'],
    ]);
    expect(lines[2]).toBe('');
    expect(b.takeRows()).toBeUndefined();
    expect(b.rollups.take().find((c) => c.kind === 'service')).toMatchObject({ requests: 2, status2xx: 1, status5xx: 1 });
    expect(b.stats).toEqual({ messages: 1, entries: 2, rejected: 0, rollupOverflow: 0 });
  });

  it('writes rows past its first buffer and non-ASCII text exactly, and starts a fresh buffer after a take', () => {
    const b = new AccessLogBatcher();
    b.open(1, { proxyId: 'web-1' });
    const paths = Array.from({ length: 400 }, (_, i) => `/é😀/${'x'.repeat(300)}/${i}`);
    b.add(1, encodeTelemetry('accessLogs', { httpLogs: { logEntry: paths.map((path) => ({ ...entry(200), request: { requestMethod: 'GET', path } })) } }), NOW);
    const first = b.takeRows()!;
    expect(first.bytes.byteLength).toBeGreaterThan(128 * 1024);
    const lines = new TextDecoder().decode(first.bytes).split('\n');
    expect(lines.slice(0, -1).map((l) => l.split('\t')[8])).toEqual(paths);
    b.add(1, message(entry(200)), NOW);
    const second = b.takeRows()!;
    expect(second.rows).toBe(1);
    expect(second.bytes.buffer).not.toBe(first.bytes.buffer);
    expect(new TextDecoder().decode(first.bytes).split('\n')[0]!.split('\t')[8]).toBe(paths[0]);
  });

  it('counts refused entries and keeps the first until it is taken', () => {
    const b = new AccessLogBatcher();
    b.open(1, { proxyId: 'web-1' });
    b.add(1, message({ commonProperties: {} }, entry(200), { commonProperties: {} }), NOW);
    expect(b.stats).toMatchObject({ entries: 3, rejected: 2 });
    expect(b.takeRejection()).toEqual({ proxy: 'web-1', field: 'commonProperties.startTime', reason: 'is required' });
    expect(b.takeRejection()).toBeUndefined();
    expect(b.rows).toBe(1);
  });

  it('answers the reason for an undecodable message, then ignores the stream, as it does streams never opened or closed', () => {
    const b = new AccessLogBatcher();
    b.open(1, { proxyId: 'web-1' });
    b.open(2, { proxyId: 'web-2' });
    expect(b.add(1, Uint8Array.from([0x0a, 0xff, 0xff]), NOW)).toContain('truncated or corrupt');
    expect(b.add(1, message(entry(200)), NOW)).toBeUndefined();
    expect(b.add(3, message(entry(200)), NOW)).toBeUndefined();
    b.close(2);
    expect(b.add(2, message(entry(200)), NOW)).toBeUndefined();
    expect(b.rows).toBe(0);
    expect(b.stats.messages).toBe(0);
  });

  it('leaves rollup keys out beyond its bound, and counts them', () => {
    const b = new AccessLogBatcher(1);
    b.open(1, { proxyId: 'web-1', service: 'shop/web' });
    b.add(1, message(entry(200), { ...entry(200), commonProperties: { ...entry(200).commonProperties, routeName: 'shop/r' } }), NOW);
    expect(b.stats.rollupOverflow).toBe(1);
    expect(b.rows).toBe(2);
  });

  it('takes rollups as statements\' columns and edge deltas, and counts them again when their write failed', () => {
    const b = new AccessLogBatcher();
    b.open(1, { proxyId: 'web-1', service: 'shop/web' });
    b.add(1, message(entry(200), entry(503)), NOW);
    const first = b.takeRollups();
    // An edge and its service, one statement: the bucket's column, then kind … latency.
    expect(first.cells).toBe(2);
    expect(first.columns).toHaveLength(1);
    expect(first.columns[0]!.arrays[1]).toBe('{"edge","service"}');
    expect(first.edges).toEqual([{ reporter: 'source', source: 'shop/web', destination: 'shop/orders', requests: [1, 0, 0, 1, 0], bytesReceived: expect.any(Number), bytesSent: expect.any(Number), durationMs: 10, timed: 2 }]);
    b.rollupsStored(false);
    b.add(1, message(entry(200)), NOW);
    expect(b.takeRollups().edges[0]!.requests).toEqual([2, 0, 0, 1, 0]);
    b.rollupsStored(true);
    expect(b.takeRollups()).toEqual({ cells: 0, columns: [], edges: [] });
  });
});
