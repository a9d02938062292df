import { describe, expect, it } from 'vitest';
import { emptyCounts, type RollupCounts } from './rollup.ts';
import { oneReporter, seriesOf, summaryOf } from './series.ts';
import type { RollupReporter } from '../registry/schema.ts';

const counts = (latencies: number[], over: Partial<RollupCounts> = {}): RollupCounts => {
  const c = { ...emptyCounts(), requests: latencies.length, status2xx: latencies.length, ...over };
  for (const l of latencies) c.latency.record(l);
  return c;
};
const row = (bucket: string, reporter: RollupReporter, latencies: number[], over: Partial<RollupCounts> = {}) => ({ bucket: new Date(bucket), reporter, ...counts(latencies, over) });

/** Nearest-rank percentile of raw values: what the histogram's answer is checked against. */
const nearestRank = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.max(0, Math.ceil(q * values.length) - 1)]!;

describe('summaryOf', () => {
  it('gives rate, error rate and percentiles within the histogram\'s error of a brute-force nearest rank', () => {
    const values = Array.from({ length: 5000 }, (_, i) => 1 + ((i * 7919) % 1000) * 0.37);
    const s = summaryOf(counts(values, { status2xx: 4990, status5xx: 10 }), 100);
    expect(s).toMatchObject({ requests: 5000, rps: 50, errorRate: 0.002 });
    for (const [q, got] of [[0.5, s.p50], [0.9, s.p90], [0.99, s.p99]] as const) {
      const want = nearestRank(values, q);
      expect(Math.abs(got! - want) / want).toBeLessThanOrEqual(1 / 128);
    }
  });

  it('has no percentiles and no error rate without requests', () => {
    expect(summaryOf(emptyCounts(), 60)).toMatchObject({ requests: 0, rps: 0, errorRate: 0, p50: null, p99: null });
  });
});

describe('seriesOf', () => {
  it('sums minute rows into steps, empty steps included', () => {
    const rows = [row('2026-12-02T10:00:00Z', 'source', [1, 2]), row('2026-12-02T10:01:00Z', 'source', [3]), row('2026-12-02T10:05:00Z', 'source', [4])];
    const series = seriesOf(rows, new Date('2026-12-02T10:00:00Z'), new Date('2026-12-02T10:06:00Z'), 120_000);
    expect(series.map((p) => [p.t, p.requests, p.rps])).toEqual([
      ['2026-12-02T10:00:00.000Z', 3, 0.025],
      ['2026-12-02T10:02:00.000Z', 0, 0],
      ['2026-12-02T10:04:00.000Z', 1, 0.0083],
    ]);
  });
});

describe('oneReporter', () => {
  it('reads each group from the side that saw more requests, the preferred side on a tie', () => {
    const rows = [
      { g: 'a', reporter: 'source' as const, requests: 5 },
      { g: 'a', reporter: 'destination' as const, requests: 5 },
      { g: 'b', reporter: 'destination' as const, requests: 1 },
      { g: 'c', reporter: 'source' as const, requests: 10 },
      { g: 'c', reporter: 'destination' as const, requests: 1 },
    ];
    expect(oneReporter(rows, (r) => r.g, 'source')).toEqual([rows[0], rows[2], rows[3]]);
    expect(oneReporter(rows, (r) => r.g, 'destination')).toEqual([rows[1], rows[2], rows[3]]);
  });
});

describe('serviceTotals', () => {
  it('sums each destination\'s rows from one side', async () => {
    const { serviceTotals } = await import('./series.ts');
    const rows = [
      { ...row('2026-12-02T10:00:00Z', 'destination', [1, 2]), destination: 'shop/a' },
      { ...row('2026-12-02T10:01:00Z', 'destination', [3]), destination: 'shop/a' },
      { ...row('2026-12-02T10:00:00Z', 'source', [1, 2]), destination: 'shop/a' },
      { ...row('2026-12-02T10:00:00Z', 'source', [5], { status5xx: 1 }), destination: 'shop/b' },
    ];
    expect(serviceTotals(rows).map((t) => [t.service, t.counts.requests, t.counts.status5xx, t.counts.latency.count])).toEqual([
      ['shop/a', 3, 0, 3],
      ['shop/b', 1, 1, 1],
    ]);
  });
});
