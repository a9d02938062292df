import { describe, expect, it } from 'vitest';
import type { AccessLogRecord } from './access-log.ts';
import { accessRecord } from '../../test/support/access-log-records.ts';
import { bucketOf, RollupAccumulator } from './rollup.ts';

const rec = (over: Partial<AccessLogRecord> = {}) => accessRecord('2026-12-02T10:00:30Z', over);

describe('RollupAccumulator', () => {
  it('counts status classes, bytes and latency per minute and key; take empties it', () => {
    const acc = new RollupAccumulator();
    acc.add(rec({ status: 200, durationMs: 5 }));
    acc.add(rec({ status: 302 }));
    acc.add(rec({ status: 404 }));
    acc.add(rec({ status: 503, durationMs: 100 }));
    acc.add(rec({ status: undefined, durationMs: undefined }));
    acc.add(rec({ at: new Date('2026-12-02T10:01:00Z') }));
    const cells = acc.take();
    expect(acc.size).toBe(0);
    const service = cells.filter((c) => c.kind === 'service');
    expect(service.map((c) => c.bucket.toISOString())).toEqual(['2026-12-02T10:00:00.000Z', '2026-12-02T10:01:00.000Z']);
    expect(service[0]).toMatchObject({ requests: 5, status2xx: 1, status3xx: 1, status4xx: 1, status5xx: 1, noStatus: 1, bytesReceived: 500, bytesSent: 5000 });
    expect(service[0]!.latency.count).toBe(4);
    expect(service[0]!.latency.max).toBeGreaterThanOrEqual(99);
  });

  it('makes each service\'s cell from its edges: every caller\'s requests, once per reporting side', () => {
    const acc = new RollupAccumulator();
    acc.add(rec({ durationMs: 5, route: 'shop/a' }));
    acc.add(rec({ source: 'shop/cart', status: 503, durationMs: 50 }));
    acc.add(rec({ source: undefined, durationMs: 500 }));
    acc.add(rec({ direction: 'inbound', durationMs: 7 }));
    const cells = acc.take();
    const of = (kind: string, reporter: string) => cells.filter((c) => c.kind === kind && c.reporter === reporter);
    expect(of('edge', 'source').map((c) => [c.source, c.requests])).toEqual([['shop/web', 1], ['shop/cart', 1], ['', 1]]);
    expect(of('service', 'source')).toHaveLength(1);
    expect(of('service', 'source')[0]).toMatchObject({ source: '', route: '', destination: 'shop/orders', requests: 3, status2xx: 2, status5xx: 1, bytesSent: 3000 });
    expect(of('service', 'source')[0]!.latency.count).toBe(3);
    expect(of('service', 'source')[0]!.latency.max).toBe(500);
    expect(of('service', 'destination')[0]).toMatchObject({ requests: 1 });
    expect(of('route', 'source').map((c) => [c.route, c.requests])).toEqual([['shop/a', 1]]);
  });

  it('leaves out requests to no service of the mesh (passthrough)', () => {
    const acc = new RollupAccumulator();
    acc.add(rec({ destination: undefined, route: 'shop/r' }));
    expect(acc.size).toBe(0);
    expect(acc.take()).toEqual([]);
  });

  it('keys an inbound request without a known caller under the destination side and an empty source', () => {
    const acc = new RollupAccumulator();
    acc.add(rec({ direction: 'inbound', source: undefined }));
    expect(acc.take().map(({ kind, reporter, source, destination, route }) => ({ kind, reporter, source, destination, route }))).toEqual([
      { kind: 'edge', reporter: 'destination', source: '', destination: 'shop/orders', route: '' },
      { kind: 'service', reporter: 'destination', source: '', destination: 'shop/orders', route: '' },
    ]);
  });

  it('is bounded: edges and routes beyond the limit are counted as overflow, and a failed write is put back', () => {
    const acc = new RollupAccumulator(2);
    acc.add(rec());
    acc.add(rec({ route: 'shop/r' }));
    acc.add(rec({ source: 'shop/other' }));
    expect(acc.size).toBe(2);
    expect(acc.overflow).toBe(1);
    const taken = acc.take();
    expect(taken.find((c) => c.kind === 'service')!.requests).toBe(2);
    acc.add(rec());
    acc.restore(taken);
    const again = acc.take();
    expect(again.find((c) => c.kind === 'service')!.requests).toBe(3);
    expect(again.find((c) => c.kind === 'route')!.requests).toBe(1);
    expect(again).toHaveLength(3);
  });

  it('buckets by the start of the minute or hour', () => {
    expect(bucketOf(new Date('2026-12-02T10:59:59.999Z'), 3_600_000).toISOString()).toBe('2026-12-02T10:00:00.000Z');
  });
});
