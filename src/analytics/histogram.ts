/**
 * Mergeable latency histograms for traffic analytics.
 *
 * Every histogram uses the same fixed bucket layout, so any two of them (two minutes of one route,
 * two replicas of one service) merge exactly by adding bucket counts: merging never loses accuracy.
 *
 * ## Layout (version 1)
 *
 * Values are latencies in milliseconds (fractions allowed); buckets are laid out in microseconds.
 *
 * - Bucket 0 holds `[0, 1 µs)`: sub-microsecond values (absolute error < 1 µs).
 * - Buckets `1 .. 32 × 64` are log-linear, HdrHistogram style: each power-of-two octave
 *   `[2^e, 2^(e+1)) µs` for `e = 0 .. 31` is cut into {@link SUB_BUCKETS} = 64 equal-width buckets,
 *   so a bucket `[lo, hi)` has `(hi - lo) / lo ≤ 1/64 ≈ 1.56%`.
 * - The top of the layout is `2^32 µs ≈ 4295 s ≈ 71.6 min` ({@link MAX_TRACKABLE_MS}); larger values
 *   are clamped into the last bucket (and still counted in `count`, `sum`, `max`).
 *
 * ## Error bound
 *
 * A quantile is reported as the midpoint of the bucket holding the nearest-rank sample, clamped to
 * the exact `[min, max]` seen. For a true sample quantile `x` in `[1 µs, 2^32 µs)` the answer `y`
 * satisfies `|y - x| ≤ x × RELATIVE_ERROR` with {@link RELATIVE_ERROR} = 1/128 ≈ 0.78%.
 * Below 1 µs the absolute error is under 1 µs; above the top of the layout the answer is the top
 * bucket's midpoint (an underestimate), unless the rank is the last one, which returns `max`.
 * `q = 0` and `q = 1` (and any q whose rank is the first or the last) return the exact min and max.
 *
 * The module is pure: no I/O, no clocks, no randomness.
 */
import { fail, issue, ok, type Issue, type Result } from '../lib/result.ts';

/** Serialization format version; it names this bucket layout. Change the layout, bump this. */
export const HISTOGRAM_VERSION = 1;
/** Linear sub-buckets per power-of-two octave. */
export const SUB_BUCKETS = 64;
/** Number of octaves above 1 µs: the layout covers `[1 µs, 2^OCTAVES µs)`. */
export const OCTAVES = 32;
/** Total number of buckets (bucket 0 is `[0, 1 µs)`); valid indexes are `0 .. BUCKET_COUNT - 1`. */
export const BUCKET_COUNT = 1 + OCTAVES * SUB_BUCKETS;
/** The smallest value resolved with bounded relative error: 1 µs. */
export const MIN_TRACKABLE_MS = 0.001;
/** The top of the layout, `2^32 µs` in ms (≈ 71.6 minutes); larger values go to the last bucket. */
export const MAX_TRACKABLE_MS = 2 ** OCTAVES / 1000;
/** Worst-case relative error of {@link LatencyHistogram.quantile} for values within the layout. */
export const RELATIVE_ERROR = 1 / (2 * SUB_BUCKETS);

const TOP_US = 2 ** OCTAVES;

/** The bucket index that `valueMs` (finite, ≥ 0) falls into, clamping above the top of the layout. */
export function bucketIndex(valueMs: number): number {
  const us = valueMs * 1000;
  if (!(us >= 1)) return 0; // [0, 1 µs); also catches NaN defensively
  if (us >= TOP_US) return BUCKET_COUNT - 1;
  let e = Math.floor(Math.log2(us));
  // Math.log2 may round across a power of two; powers of two are exact, so correct the exponent.
  if (2 ** e > us) e -= 1;
  else if (2 ** (e + 1) <= us) e += 1;
  // us / 2^e is exact and in [1, 2); (m - 1) * 64 is exact too, so the sub-bucket is exact.
  const sub = Math.floor((us / 2 ** e - 1) * SUB_BUCKETS);
  return 1 + e * SUB_BUCKETS + sub;
}

/** The value `record` last placed, and its bucket index. */
let lastValueMs = Number.NaN;
let lastIndex = 0;

/** The range `[lowMs, highMs)` covered by bucket `index` (the last bucket also holds clamped values). */
export function bucketBounds(index: number): { lowMs: number; highMs: number } {
  if (!Number.isInteger(index) || index < 0 || index >= BUCKET_COUNT) {
    throw new RangeError(`bucket index ${index} is outside 0..${BUCKET_COUNT - 1}`);
  }
  if (index === 0) return { lowMs: 0, highMs: MIN_TRACKABLE_MS };
  const e = Math.floor((index - 1) / SUB_BUCKETS);
  const sub = (index - 1) % SUB_BUCKETS;
  const width = 2 ** e / SUB_BUCKETS;
  const lowUs = 2 ** e + sub * width;
  return { lowMs: lowUs / 1000, highMs: (lowUs + width) / 1000 };
}

/** The value a bucket stands for in quantile answers: its midpoint, in ms. */
function bucketMidpointMs(index: number): number {
  const { lowMs, highMs } = bucketBounds(index);
  return (lowMs + highMs) / 2;
}

/**
 * The stored form (e.g. a PostgreSQL `jsonb` column): sparse `[bucketIndex, count]` pairs sorted by
 * index with positive counts, total count `n`, sum of values `s` (ms), and exact `min`/`max` (ms),
 * which are `null` when `n` is 0 (JSON has no Infinity).
 */
export interface HistogramJSON {
  v: typeof HISTOGRAM_VERSION;
  b: [number, number][];
  n: number;
  s: number;
  min: number | null;
  max: number | null;
}

/**
 * A latency histogram over the shared layout. Record values, merge histograms, ask for quantiles.
 *
 * `record` refuses (returns `false` and adds to {@link rejected}) negative, NaN or infinite values
 * and counts that are not positive safe integers, so bad input never corrupts the data.
 */
export class LatencyHistogram {
  /** Sparse bucket counts: index → positive count. */
  #buckets = new Map<number, number>();
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = -Infinity;
  #rejected = 0;

  /** Number of values recorded. */
  get count(): number {
    return this.#count;
  }

  /** Sum of the values recorded, in ms (exact inputs, floating-point addition). */
  get sum(): number {
    return this.#sum;
  }

  /** Smallest value recorded (exact), or `undefined` when empty. */
  get min(): number | undefined {
    return this.#count === 0 ? undefined : this.#min;
  }

  /** Largest value recorded (exact), or `undefined` when empty. */
  get max(): number | undefined {
    return this.#count === 0 ? undefined : this.#max;
  }

  /** Mean of the values recorded, or `undefined` when empty. */
  get mean(): number | undefined {
    return this.#count === 0 ? undefined : this.#sum / this.#count;
  }

  /**
   * How many calls to {@link record} were refused, weighted by their count when that count was
   * valid (else 1). A local diagnostic: added by {@link merge}, not serialized by {@link toJSON}.
   */
  get rejected(): number {
    return this.#rejected;
  }

  /**
   * Records `count` occurrences of `valueMs`. Returns `false`, recording nothing, when the value is
   * negative, NaN or infinite or the count is not a positive safe integer.
   */
  record(valueMs: number, count = 1): boolean {
    const countOk = Number.isSafeInteger(count) && count > 0;
    if (typeof valueMs !== 'number' || !Number.isFinite(valueMs) || valueMs < 0 || !countOk) {
      this.#rejected += countOk ? count : 1;
      return false;
    }
    // A request is recorded into a few histograms in a row (its edge's, its route's): its index once.
    if (valueMs !== lastValueMs) {
      lastValueMs = valueMs;
      lastIndex = bucketIndex(valueMs);
    }
    const i = lastIndex;
    this.#buckets.set(i, (this.#buckets.get(i) ?? 0) + count);
    this.#count += count;
    this.#sum += valueMs * count;
    if (valueMs < this.#min) this.#min = valueMs;
    if (valueMs > this.#max) this.#max = valueMs;
    return true;
  }

  /** Adds `other`'s counts into this histogram (exact: same layout everywhere). Returns `this`. */
  merge(other: LatencyHistogram): this {
    for (const [i, c] of other.#buckets) this.#buckets.set(i, (this.#buckets.get(i) ?? 0) + c);
    this.#count += other.#count;
    this.#sum += other.#sum;
    if (other.#min < this.#min) this.#min = other.#min;
    if (other.#max > this.#max) this.#max = other.#max;
    this.#rejected += other.#rejected;
    return this;
  }

  /** An independent copy. */
  clone(): LatencyHistogram {
    return new LatencyHistogram().merge(this);
  }

  /** Non-empty buckets as `[index, count]` pairs sorted by index. */
  buckets(): [number, number][] {
    return [...this.#buckets.entries()].sort((a, b) => a[0] - b[0]);
  }

  /**
   * The nearest-rank `q`-quantile (the value of rank `max(1, ceil(q × count))` in sorted order),
   * within {@link RELATIVE_ERROR} of the true sample quantile (see the module doc for the edges).
   * Returns `undefined` when the histogram is empty. Throws `RangeError` when `q` is not in
   * `[0, 1]`: that is a programming error, not data.
   */
  quantile(q: number): number | undefined {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile ${q} is outside [0, 1]`);
    if (this.#count === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    if (rank === 1) return this.#min;
    if (rank >= this.#count) return this.#max;
    let seen = 0;
    for (const [i, c] of this.buckets()) {
      seen += c;
      if (seen >= rank) return Math.min(this.#max, Math.max(this.#min, bucketMidpointMs(i)));
    }
    return this.#max; // unreachable: counts add up to #count
  }

  /** The compact stored form; see {@link HistogramJSON}. */
  toJSON(): HistogramJSON {
    const empty = this.#count === 0;
    return {
      v: HISTOGRAM_VERSION,
      b: this.buckets(),
      n: this.#count,
      s: this.#sum,
      min: empty ? null : this.#min,
      max: empty ? null : this.#max,
    };
  }

  /**
   * Parses a stored form, checking every field; never throws. Issues name the bad field, e.g.
   * `b[2][1]` or `min` (prefixed with `at.` when `at` is given; the whole value is `at` itself).
   */
  static fromJSON(x: unknown, at = ''): Result<LatencyHistogram> {
    const p = (field: string): string => (at === '' ? field : `${at}.${field}`);
    if (typeof x !== 'object' || x === null || Array.isArray(x)) {
      return fail(issue(at, 'must be an object { v, b, n, s, min, max }'));
    }
    const o = x as Record<string, unknown>;
    const issues: Issue[] = [];
    if (o.v !== HISTOGRAM_VERSION) {
      issues.push(issue(p('v'), `must be ${HISTOGRAM_VERSION} (the bucket layout version); got ${describe(o.v)}`));
    }

    const buckets = new Map<number, number>();
    let total = 0;
    if (!Array.isArray(o.b)) {
      issues.push(issue(p('b'), 'must be an array of [bucketIndex, count] pairs'));
    } else {
      let prev = -1;
      o.b.forEach((pair: unknown, k) => {
        const here = p(`b[${k}]`);
        if (!Array.isArray(pair) || pair.length !== 2) {
          issues.push(issue(here, 'must be a [bucketIndex, count] pair'));
          return;
        }
        const [i, c] = pair as unknown[];
        let good = true;
        if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= BUCKET_COUNT) {
          issues.push(issue(`${here}[0]`, `must be an integer bucket index in 0..${BUCKET_COUNT - 1}; got ${describe(i)}`));
          good = false;
        } else if (i <= prev) {
          issues.push(issue(`${here}[0]`, `must be greater than the previous index ${prev} (sorted, no duplicates)`));
          good = false;
        }
        if (typeof c !== 'number' || !Number.isSafeInteger(c) || c <= 0) {
          issues.push(issue(`${here}[1]`, `must be a positive integer count; got ${describe(c)}`));
          good = false;
        }
        if (typeof i === 'number' && Number.isInteger(i)) prev = Math.max(prev, i);
        if (good) {
          buckets.set(i as number, c as number);
          total += c as number;
        }
      });
    }

    const n = o.n;
    const nOk = typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
    if (!nOk) issues.push(issue(p('n'), `must be a non-negative integer; got ${describe(n)}`));
    else if (issues.length === 0 && n !== total) {
      issues.push(issue(p('n'), `is ${n} but the bucket counts add up to ${total}`));
    }

    const s = o.s;
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0) {
      issues.push(issue(p('s'), `must be a finite non-negative number; got ${describe(s)}`));
    } else if (nOk && n === 0 && s !== 0) {
      issues.push(issue(p('s'), 'must be 0 when n is 0'));
    }

    const bounds: { min?: number; max?: number } = {};
    for (const key of ['min', 'max'] as const) {
      const value = o[key];
      if (!nOk && value === null) continue; // judged with n, which is already reported
      if (nOk && n === 0) {
        if (value !== null) issues.push(issue(p(key), `must be null when n is 0; got ${describe(value)}`));
      } else if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        issues.push(issue(p(key), `must be a finite non-negative number; got ${describe(value)}`));
      } else {
        bounds[key] = value;
      }
    }
    if (issues.length === 0 && nOk && n > 0 && bounds.min !== undefined && bounds.max !== undefined) {
      const indexes = [...buckets.keys()];
      if (bounds.min > bounds.max) issues.push(issue(p('min'), `is greater than max (${bounds.max})`));
      else if (bucketIndex(bounds.min) !== indexes[0]) {
        issues.push(issue(p('min'), `falls in bucket ${bucketIndex(bounds.min)}, but the first bucket is ${indexes[0]}`));
      } else if (bucketIndex(bounds.max) !== indexes[indexes.length - 1]) {
        issues.push(issue(p('max'), `falls in bucket ${bucketIndex(bounds.max)}, but the last bucket is ${indexes[indexes.length - 1]}`));
      }
    }

    if (issues.length > 0) return fail(...issues);
    const h = new LatencyHistogram();
    h.#buckets = buckets;
    h.#count = n as number;
    h.#sum = s as number;
    if (bounds.min !== undefined && bounds.max !== undefined) {
      h.#min = bounds.min;
      h.#max = bounds.max;
    }
    return ok(h);
  }
}

/** A short description of an unexpected value for issue messages. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value);
  return Array.isArray(value) ? 'an array' : typeof value;
}
