import { describe, expect, it } from 'vitest';
import { expectValidEnvoy } from '../../test/support/envoy.ts';
import type { Plain } from './common.ts';
import { fractionalPercent } from './percent.ts';

const SCALE: Record<string, number> = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 };

describe('fractionalPercent', () => {
  const cases: { percent: number; want: Plain }[] = [
    { percent: 0, want: { numerator: 0, denominator: 'HUNDRED' } },
    { percent: 1, want: { numerator: 1, denominator: 'HUNDRED' } },
    { percent: 50, want: { numerator: 50, denominator: 'HUNDRED' } },
    { percent: 100, want: { numerator: 100, denominator: 'HUNDRED' } },
    { percent: 12.5, want: { numerator: 1250, denominator: 'TEN_THOUSAND' } },
    { percent: 0.01, want: { numerator: 1, denominator: 'TEN_THOUSAND' } },
    // 0.07 * 100 is 7.000000000000001 in floating point: still exact at TEN_THOUSAND
    { percent: 0.07, want: { numerator: 7, denominator: 'TEN_THOUSAND' } },
    { percent: 99.99, want: { numerator: 9999, denominator: 'TEN_THOUSAND' } },
    { percent: 0.001, want: { numerator: 10, denominator: 'MILLION' } },
    { percent: 0.0001, want: { numerator: 1, denominator: 'MILLION' } },
    { percent: 1.005, want: { numerator: 10_050, denominator: 'MILLION' } },
    // finer than a millionth: rounded at MILLION
    { percent: 33.333333, want: { numerator: 333_333, denominator: 'MILLION' } },
    { percent: 100 / 3, want: { numerator: 333_333, denominator: 'MILLION' } },
    { percent: 0.00004, want: { numerator: 0, denominator: 'MILLION' } },
    { percent: 99.99996, want: { numerator: 1_000_000, denominator: 'MILLION' } },
  ];
  it.each(cases)('$percent% → $want.numerator/$want.denominator', ({ percent, want }) => {
    const got = fractionalPercent(percent);
    expect(got).toStrictEqual(want);
    expectValidEnvoy('envoy.type.v3.FractionalPercent', got);
  });

  it('keeps the value to within half a millionth, on the smallest denominator that holds it', () => {
    // steps of 0.05 (exact at HUNDRED or TEN_THOUSAND) and of 1/7 (rounded at MILLION)
    const percents = [...Array.from({ length: 2001 }, (_, i) => i / 20), ...Array.from({ length: 701 }, (_, i) => i / 7)];
    for (const percent of percents) {
      const { numerator, denominator } = fractionalPercent(percent) as { numerator: number; denominator: string };
      const scale = SCALE[denominator] ?? NaN;
      expect(Math.abs((numerator / scale) * 100 - percent), `value of ${percent}`).toBeLessThanOrEqual(0.5e-4);
      expect(Number.isInteger(numerator)).toBe(true);
      if (Number.isInteger(percent)) expect(denominator, `${percent}`).toBe('HUNDRED');
    }
  });
});
