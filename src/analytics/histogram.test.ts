import { describe, expect, it } from 'vitest';
import {
  BUCKET_COUNT,
  LatencyHistogram,
  MAX_TRACKABLE_MS,
  MIN_TRACKABLE_MS,
  RELATIVE_ERROR,
  bucketBounds,
  bucketIndex,
  type HistogramJSON,
} from './histogram.ts';

/** mulberry32: a small seeded PRNG, so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Brute force nearest-rank quantile over a sorted copy. */
function nearestRank(sorted: number[], q: number): number {
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

function histogramOf(values: number[]): LatencyHistogram {
  const h = new LatencyHistogram();
  for (const v of values) expect(h.record(v)).toBe(true);
  return h;
}

const distributions: Record<string, (r: () => number) => number> = {
  uniform: (r) => r() * 1000,
  exponential: (r) => -Math.log(1 - r()) * 50,
  bimodal: (r) => (r() < 0.7 ? 2 + r() * 6 : 600 + r() * 400),
  'all-equal': () => 42.5,
  'log-uniform 1µs..1h': (r) => MIN_TRACKABLE_MS * Math.pow(3_600_000 / MIN_TRACKABLE_MS, r()),
};

const QUANTILES = [0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1];

describe('bucket layout', () => {
  it('maps every bucket midpoint and nudged lower bound back to that bucket, in order', () => {
    for (let i = 0; i < BUCKET_COUNT; i++) {
      const { lowMs, highMs } = bucketBounds(i);
      expect(highMs).toBeGreaterThan(lowMs);
      expect(bucketIndex((lowMs + highMs) / 2)).toBe(i);
      if (i > 0) {
        expect(bucketIndex(lowMs * (1 + 1e-12))).toBe(i);
        expect(bucketBounds(i - 1).highMs).toBeCloseTo(lowMs, 12);
        expect((highMs - lowMs) / lowMs).toBeLessThanOrEqual(1 / 64 + 1e-12);
      }
    }
  });

  it('covers 0 to beyond one hour, clamping outside values into the end buckets', () => {
    expect(bucketIndex(0)).toBe(0);
    expect(bucketIndex(MIN_TRACKABLE_MS / 10)).toBe(0);
    expect(bucketIndex(MIN_TRACKABLE_MS)).toBe(1);
    expect(MAX_TRACKABLE_MS).toBeGreaterThan(3_600_000);
    expect(bucketIndex(3_600_000)).toBeLessThan(BUCKET_COUNT - 1);
    expect(bucketIndex(MAX_TRACKABLE_MS * 10)).toBe(BUCKET_COUNT - 1);
    expect(bucketIndex(Number.MAX_VALUE)).toBe(BUCKET_COUNT - 1);
    expect(() => bucketBounds(BUCKET_COUNT)).toThrow(RangeError);
  });

  it('handles exact powers of two in microseconds without exponent rounding slips', () => {
    for (let e = 0; e < 32; e++) {
      expect(bucketIndex(2 ** e / 1000)).toBe(bucketIndex((2 ** e / 1000) * (1 + 1e-12)));
    }
  });
});

describe('quantile accuracy', () => {
  for (const [name, draw] of Object.entries(distributions)) {
    for (const size of [1, 7, 1000, 20_000]) {
      it(`is within the relative error bound for ${name} (n=${size})`, () => {
        const r = prng(size * 31 + name.length);
        const values = Array.from({ length: size }, () => draw(r));
        const h = histogramOf(values);
        const sorted = [...values].sort((a, b) => a - b);
        expect(h.count).toBe(size);
        expect(h.min).toBe(sorted[0]);
        expect(h.max).toBe(sorted[sorted.length - 1]);
        expect(h.sum).toBeCloseTo(values.reduce((a, b) => a + b, 0), 6);
        for (const q of QUANTILES) {
          const truth = nearestRank(sorted, q);
          const got = h.quantile(q)!;
          if (truth >= MIN_TRACKABLE_MS) {
            expect(Math.abs(got - truth) / truth, `q=${q} truth=${truth} got=${got}`).toBeLessThanOrEqual(RELATIVE_ERROR * (1 + 1e-9));
          } else {
            expect(Math.abs(got - truth)).toBeLessThan(MIN_TRACKABLE_MS);
          }
        }
      });
    }
  }

  it('returns exact min and max at the ends and the exact value when all samples are equal', () => {
    const h = histogramOf([3.3, 1.1, 2.2]);
    expect(h.quantile(0)).toBe(1.1);
    expect(h.quantile(1)).toBe(3.3);
    const same = histogramOf(Array.from({ length: 100 }, () => 7.77));
    for (const q of QUANTILES) expect(same.quantile(q)).toBe(7.77);
  });

  it('clamps values past the top of the layout into the last bucket and still counts them', () => {
    const h = histogramOf([1, MAX_TRACKABLE_MS * 3, MAX_TRACKABLE_MS * 5]);
    expect(h.count).toBe(3);
    expect(h.max).toBe(MAX_TRACKABLE_MS * 5);
    expect(h.buckets().at(-1)).toEqual([BUCKET_COUNT - 1, 2]);
    const { lowMs, highMs } = bucketBounds(BUCKET_COUNT - 1);
    expect(h.quantile(0.5)).toBe((lowMs + highMs) / 2);
    expect(h.quantile(1)).toBe(MAX_TRACKABLE_MS * 5);
  });

  it('puts sub-microsecond values in bucket 0', () => {
    const h = histogramOf([0, 0.0002, 0.0004]);
    expect(h.buckets()).toEqual([[0, 3]]);
    expect(h.quantile(0.5)).toBeLessThan(MIN_TRACKABLE_MS);
  });

  it('returns undefined for an empty histogram and throws RangeError for q outside [0, 1]', () => {
    const h = new LatencyHistogram();
    expect(h.quantile(0.5)).toBeUndefined();
    expect(h.min).toBeUndefined();
    expect(h.max).toBeUndefined();
    expect(h.mean).toBeUndefined();
    expect(h.count).toBe(0);
    expect(h.sum).toBe(0);
    for (const q of [-0.1, 1.01, NaN, 50]) expect(() => histogramOf([1]).quantile(q)).toThrow(RangeError);
  });
});

describe('record', () => {
  it('refuses negative, NaN and infinite values and bad counts, counting them as rejected', () => {
    const h = new LatencyHistogram();
    expect(h.record(-1)).toBe(false);
    expect(h.record(NaN)).toBe(false);
    expect(h.record(Infinity)).toBe(false);
    expect(h.record(-Infinity)).toBe(false);
    expect(h.record(5, 0)).toBe(false);
    expect(h.record(5, -2)).toBe(false);
    expect(h.record(5, 1.5)).toBe(false);
    expect(h.record(5, NaN)).toBe(false);
    expect(h.record('5' as unknown as number)).toBe(false);
    expect(h.record(-1, 4)).toBe(false); // valid count: weighted
    expect(h.rejected).toBe(9 + 4);
    expect(h.count).toBe(0);
    expect(h.sum).toBe(0);
    expect(h.buckets()).toEqual([]);
    expect(h.toJSON()).toEqual({ v: 1, b: [], n: 0, s: 0, min: null, max: null });
  });

  it('records a value with a count as that many occurrences', () => {
    const a = new LatencyHistogram();
    expect(a.record(12.5, 4)).toBe(true);
    const b = histogramOf([12.5, 12.5, 12.5, 12.5]);
    expect(a.toJSON()).toEqual(b.toJSON());
  });
});

describe('merge', () => {
  const r = prng(7);
  const values = Array.from({ length: 5000 }, () => (r() < 0.5 ? distributions.exponential!(r) : distributions.bimodal!(r)));
  const parts = [values.slice(0, 1200), values.slice(1200, 1201), values.slice(1201, 4000), values.slice(4000)];

  function same(a: LatencyHistogram, b: LatencyHistogram): void {
    expect(a.buckets()).toEqual(b.buckets());
    expect(a.count).toBe(b.count);
    expect(a.min).toBe(b.min);
    expect(a.max).toBe(b.max);
    expect(a.sum).toBeCloseTo(b.sum, 6); // floating-point addition order differs
    for (const q of QUANTILES) expect(a.quantile(q)).toBe(b.quantile(q));
  }

  it('equals the histogram of the concatenated samples, bucket by bucket', () => {
    const whole = histogramOf(values);
    const merged = new LatencyHistogram();
    for (const p of parts) merged.merge(histogramOf(p));
    same(merged, whole);
  });

  it('is associative and commutative', () => {
    const [a, b, c] = [histogramOf(parts[0]!), histogramOf(parts[2]!), histogramOf(parts[3]!)];
    const left = a.clone().merge(b).merge(c);
    const right = a.clone().merge(b.clone().merge(c));
    const reversed = c.clone().merge(b).merge(a);
    same(left, right);
    same(left, reversed);
    same(a.clone().merge(b), b.clone().merge(a));
  });

  it('leaves the other histogram alone, and merging an empty one changes nothing', () => {
    const a = histogramOf(parts[0]!);
    const b = histogramOf(parts[1]!);
    const before = b.toJSON();
    a.merge(b);
    expect(b.toJSON()).toEqual(before);
    const json = a.toJSON();
    expect(a.merge(new LatencyHistogram()).toJSON()).toEqual(json);
    expect(new LatencyHistogram().merge(a).toJSON()).toEqual(json);
  });
});

describe('JSON', () => {
  function valid(): HistogramJSON {
    return histogramOf([0.5, 3, 3, 40, 1200]).toJSON();
  }

  function issuesOf(x: unknown, at?: string): string[] {
    const r = LatencyHistogram.fromJSON(x, at);
    if (r.ok) throw new Error('expected a failure');
    return r.issues.map((i) => i.path);
  }

  it('round-trips through JSON text, keeping buckets, stats and quantiles', () => {
    const r = prng(99);
    const h = histogramOf(Array.from({ length: 3000 }, () => distributions.exponential!(r)));
    const parsed = LatencyHistogram.fromJSON(JSON.parse(JSON.stringify(h)));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.toJSON()).toEqual(h.toJSON());
    for (const q of QUANTILES) expect(parsed.value.quantile(q)).toBe(h.quantile(q));
    expect(parsed.value.sum).toBe(h.sum);
    const empty = LatencyHistogram.fromJSON(JSON.parse(JSON.stringify(new LatencyHistogram())));
    expect(empty.ok && empty.value.count === 0 && empty.value.quantile(0.5) === undefined).toBe(true);
  });

  it('is sparse and sorted', () => {
    const json = valid();
    expect(json.b.length).toBe(4);
    expect(json.b.map(([i]) => i)).toEqual([...json.b.map(([i]) => i)].sort((a, b) => a - b));
    expect(json).toMatchObject({ v: 1, n: 5, min: 0.5, max: 1200 });
  });

  it('names the bad field for garbage input', () => {
    expect(issuesOf(null)).toEqual(['']);
    expect(issuesOf('{"v":1}')).toEqual(['']);
    expect(issuesOf([1, 2])).toEqual(['']);
    expect(issuesOf({ ...valid(), v: 2 })).toEqual(['v']);
    expect(issuesOf({ ...valid(), b: 'lots' })).toContain('b');
    expect(issuesOf({ ...valid(), b: [[3]] })).toContain('b[0]');
    expect(issuesOf({ ...valid(), b: [[-1, 5]] })).toContain('b[0][0]');
    expect(issuesOf({ ...valid(), b: [[BUCKET_COUNT, 5]] })).toContain('b[0][0]');
    expect(issuesOf({ ...valid(), b: [[10, 2], [10, 3]] })).toContain('b[1][0]');
    expect(issuesOf({ ...valid(), b: [[10, 2], [5, 3]] })).toContain('b[1][0]');
    expect(issuesOf({ ...valid(), b: [[10, 0]] })).toContain('b[0][1]');
    expect(issuesOf({ ...valid(), b: [[10, 1.5]] })).toContain('b[0][1]');
    expect(issuesOf({ ...valid(), n: 6 })).toEqual(['n']);
    expect(issuesOf({ ...valid(), n: -1 })).toEqual(['n']);
    expect(issuesOf({ ...valid(), s: NaN })).toEqual(['s']);
    expect(issuesOf({ ...valid(), s: '12' })).toEqual(['s']);
    expect(issuesOf({ ...valid(), min: null })).toEqual(['min']);
    expect(issuesOf({ ...valid(), min: 2000 })).toEqual(['min']);
    expect(issuesOf({ ...valid(), min: 3 })).toEqual(['min']); // not in the first bucket
    expect(issuesOf({ ...valid(), max: 5000 })).toEqual(['max']); // not in the last bucket
    expect(issuesOf({ ...valid(), max: Infinity })).toEqual(['max']);
    expect(issuesOf({ v: 1, b: [], n: 0, s: 0, min: 0, max: null })).toEqual(['min']);
    expect(issuesOf({ v: 1, b: [], n: 0, s: 1, min: null, max: null })).toEqual(['s']);
    expect(issuesOf({ ...valid(), n: 6 }, 'latency')).toEqual(['latency.n']);
    expect(issuesOf(undefined, 'latency')).toEqual(['latency']);
  });

  it('reports every bad field at once', () => {
    expect(issuesOf({ v: 'x', b: null, n: 'x', s: -1 })).toEqual(['v', 'b', 'n', 's', 'min', 'max']);
  });

  it('never throws on random garbage', () => {
    const r = prng(1234);
    const atoms = [null, undefined, 0, -1, 1.5, NaN, 'x', true, [], {}, [1], [1, 1], [[1, 1]], 1e300];
    const pick = (): unknown => atoms[Math.floor(r() * atoms.length)];
    for (let k = 0; k < 2000; k++) {
      const x = { v: r() < 0.8 ? 1 : pick(), b: r() < 0.5 ? [[1, 1], [pick(), pick()]] : pick(), n: pick(), s: pick(), min: pick(), max: pick() };
      const result = LatencyHistogram.fromJSON(x);
      if (!result.ok) expect(result.issues.length).toBeGreaterThan(0);
    }
  });
});
