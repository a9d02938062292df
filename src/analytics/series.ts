/**
 * Rollup rows made into what the API shows: RED time series (rate, errors, duration percentiles)
 * and window summaries. Pure. Rows of one request are reported by up to two proxies (the caller's
 * and the destination's); each group of rows is read from one side only, so no request counts twice.
 */
import type { RollupReporter } from '../registry/schema.ts';
import { addCounts, emptyCounts, type RollupCounts } from './rollup.ts';

/** One step of a series, or a summary of a window. Latencies in milliseconds; null without samples. */
export interface TrafficSummary {
  requests: number;
  /** Requests per second over the step or window. */
  rps: number;
  status2xx: number;
  status3xx: number;
  status4xx: number;
  status5xx: number;
  noStatus: number;
  /** 5xx answers over requests (0 without requests). */
  errorRate: number;
  bytesReceived: number;
  bytesSent: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

export interface SeriesPoint extends TrafficSummary {
  /** Start of the step (ISO 8601). */
  t: string;
}

type Row = RollupCounts & { bucket: Date; reporter: RollupReporter };

/**
 * Keeps, per group, the rows of one reporting side: the side that saw more requests (where only
 * some proxies log, the other side saw a part), the preferred one on a tie.
 */
export function oneReporter<T extends { reporter: RollupReporter; requests: number }>(rows: readonly T[], groupOf: (r: T) => string, preferred: RollupReporter): T[] {
  const seen = new Map<string, { source: number; destination: number }>();
  for (const r of rows) {
    const g = seen.get(groupOf(r)) ?? { source: 0, destination: 0 };
    g[r.reporter] += r.requests;
    seen.set(groupOf(r), g);
  }
  const other: RollupReporter = preferred === 'source' ? 'destination' : 'source';
  const side = (g: string) => {
    const n = seen.get(g)!;
    return n[other] > n[preferred] ? other : preferred;
  };
  return rows.filter((r) => r.reporter === side(groupOf(r)));
}

const round = (n: number, digits = 3) => Number(n.toFixed(digits));
const quantile = (c: RollupCounts, q: number) => {
  const v = c.latency.quantile(q);
  return v === undefined ? null : round(v);
};

/** The summary of counts over a window of `seconds`. */
export function summaryOf(c: RollupCounts, seconds: number): TrafficSummary {
  return {
    requests: c.requests,
    rps: seconds > 0 ? round(c.requests / seconds, 4) : 0,
    status2xx: c.status2xx,
    status3xx: c.status3xx,
    status4xx: c.status4xx,
    status5xx: c.status5xx,
    noStatus: c.noStatus,
    errorRate: c.requests > 0 ? round(c.status5xx / c.requests, 6) : 0,
    bytesReceived: c.bytesReceived,
    bytesSent: c.bytesSent,
    p50: quantile(c, 0.5),
    p90: quantile(c, 0.9),
    p99: quantile(c, 0.99),
  };
}

/** Sums rows into fresh counts (the rows are not changed). */
export function total(rows: readonly RollupCounts[]): RollupCounts {
  return rows.reduce<RollupCounts>((acc, r) => addCounts(acc, r), emptyCounts());
}

/** Steps of `stepMs` from `from` (inclusive) to `to` (exclusive), each summing the rows whose bucket falls in it. */
export function seriesOf(rows: readonly Row[], from: Date, to: Date, stepMs: number): SeriesPoint[] {
  const steps: RollupCounts[] = [];
  const start = from.getTime();
  const n = Math.max(0, Math.ceil((to.getTime() - start) / stepMs));
  for (let i = 0; i < n; i++) steps.push(emptyCounts());
  for (const r of rows) {
    const i = Math.floor((r.bucket.getTime() - start) / stepMs);
    if (i >= 0 && i < n) addCounts(steps[i]!, r);
  }
  return steps.map((c, i) => ({ t: new Date(start + i * stepMs).toISOString(), ...summaryOf(c, stepMs / 1000) }));
}

/** Per destination service: the requests, 5xx and latency of `service` rows, each service read from one reporting side (see oneReporter). */
export function serviceTotals(rows: readonly (Row & { destination: string })[]): { service: string; counts: RollupCounts }[] {
  const picked = oneReporter(rows, (r) => r.destination, 'destination');
  const by = new Map<string, RollupCounts>();
  for (const r of picked) by.set(r.destination, addCounts(by.get(r.destination) ?? emptyCounts(), r));
  return [...by.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([service, counts]) => ({ service, counts }));
}
