/** Builds `envoy.type.v3.FractionalPercent` from the model's 0-100 percentages. */
import type { Plain } from './common.ts';

/** Envoy's coarser denominators, smallest first, with how many of their units make one percent; MILLION is the fallback. */
const COARSE_DENOMINATORS: readonly [name: string, perPercent: number][] = [
  ['HUNDRED', 1],
  ['TEN_THOUSAND', 100],
];
const MILLION_PER_PERCENT = 10_000;

/** Float products like 0.07 * 100 = 7.000000000000001 still count as whole numbers. */
const EPSILON = 1e-9;

/**
 * A percentage (0-100, fractions allowed) as a FractionalPercent with the smallest denominator that
 * holds it exactly, so 50 stays `50/HUNDRED` and reads as such in config dumps; finer values round at MILLION.
 */
export function fractionalPercent(percent: number): Plain {
  for (const [denominator, perPercent] of COARSE_DENOMINATORS) {
    const scaled = percent * perPercent;
    const whole = Math.round(scaled);
    if (Math.abs(scaled - whole) < EPSILON) return { numerator: whole, denominator };
  }
  return { numerator: Math.round(percent * MILLION_PER_PERCENT), denominator: 'MILLION' };
}
