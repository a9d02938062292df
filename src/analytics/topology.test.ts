import { describe, expect, it } from 'vitest';
import { emptyCounts, type RollupCounts } from './rollup.ts';
import { statusOf, topologyOf } from './topology.ts';
import type { RollupReporter } from '../registry/schema.ts';
import { summaryOf } from './series.ts';

const TH = { degraded: 0.001, failing: 0.1 };
const FROM = new Date('2026-12-02T10:00:00Z');
const TO = new Date('2026-12-02T10:05:00Z');
const edge = (source: string, destination: string, reporter: RollupReporter, ok: number, s5xx = 0, ms = 10) => {
  const c: RollupCounts = { ...emptyCounts(), requests: ok + s5xx, status2xx: ok, status5xx: s5xx };
  c.latency.record(ms, ok + s5xx);
  return { source, destination, reporter, ...c };
};
const svc = (service: string, total = 2, healthy = 2) => ({ service, protocol: 'http', total, healthy });

describe('topologyOf', () => {
  it('makes nodes of the services and edges of the callers seen, coloured by 5xx ratio', () => {
    const topo = topologyOf(
      [svc('shop/web'), svc('shop/orders'), svc('shop/db')],
      [
        edge('', 'shop/web', 'destination', 3000),
        edge('shop/web', 'shop/orders', 'source', 950, 50),
        edge('shop/web', 'shop/orders', 'destination', 990, 10),
        edge('shop/orders', 'shop/db', 'source', 999, 1),
      ],
      FROM,
      TO,
      TH,
    );
    expect(topo.edges.map((e) => [e.source, e.destination, e.traffic.requests, e.traffic.rps, e.traffic.errorRate, e.status])).toEqual([
      ['shop/orders', 'shop/db', 1000, 3.3333, 0.001, 'degraded'],
      ['shop/web', 'shop/orders', 1000, 3.3333, 0.05, 'degraded'],
      ['unknown', 'shop/web', 3000, 10, 0, 'healthy'],
    ]);
    expect(topo.nodes.map((n) => [n.id, n.registered, n.status, n.traffic?.requests ?? null])).toEqual([
      ['shop/db', true, 'degraded', 1000],
      ['shop/orders', true, 'degraded', 1000],
      ['shop/web', true, 'healthy', 3000],
      ['unknown', false, 'idle', null],
    ]);
    expect(topo.edges[1]!.traffic.p99).toBeCloseTo(10, 0);
  });

  it('colours a node by its endpoints too: none healthy is failing, some unhealthy degraded', () => {
    const topo = topologyOf([svc('a/x', 2, 0), svc('a/y', 2, 1), svc('a/z', 0, 0)], [], FROM, TO, TH);
    expect(topo.nodes.map((n) => [n.id, n.status])).toEqual([
      ['a/x', 'failing'],
      ['a/y', 'degraded'],
      ['a/z', 'idle'],
    ]);
  });

  it('uses the thresholds given: failing above, degraded at or above', () => {
    const at = (ok: number, bad: number) => summaryOf({ ...emptyCounts(), requests: ok + bad, status5xx: bad }, 1);
    expect(statusOf(at(9, 1), TH)).toBe('degraded');
    expect(statusOf(at(8, 2), TH)).toBe('failing');
    expect(statusOf(at(8, 2), { degraded: 0.5, failing: 0.9 })).toBe('healthy');
  });
});
