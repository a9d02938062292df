import { describe, expect, it } from 'vitest';
import { expectValidEnvoy } from '../../test/support/envoy.ts';
import { adsConfigSource, duration, socketAddress, typed, type Plain } from './common.ts';

describe('duration', () => {
  const cases: { ms: number; want: Plain }[] = [
    { ms: 0, want: { seconds: 0 } },
    { ms: 1000, want: { seconds: 1 } },
    { ms: 5000, want: { seconds: 5 } },
    { ms: 250, want: { seconds: 0, nanos: 250_000_000 } },
    { ms: 1500, want: { seconds: 1, nanos: 500_000_000 } },
    { ms: 0.001, want: { seconds: 0, nanos: 1000 } },
    { ms: 0.1, want: { seconds: 0, nanos: 100_000 } },
    { ms: 86_400_000, want: { seconds: 86_400 } },
    // a sub-second part that rounds to a whole second carries instead of giving nanos = 1e9
    { ms: 999.9999999, want: { seconds: 1 } },
    { ms: 1999.99999999, want: { seconds: 2 } },
    // negative: nanos take the sign of seconds, and there is no -0
    { ms: -500, want: { seconds: 0, nanos: -500_000_000 } },
    { ms: -1500, want: { seconds: -1, nanos: -500_000_000 } },
    { ms: -2000, want: { seconds: -2 } },
    { ms: -999.9999999, want: { seconds: -1 } },
  ];
  it.each(cases)('$ms ms → $want', ({ ms, want }) => {
    const got = duration(ms);
    expect(got).toEqual(want);
    expect(Object.is(got.seconds, -0)).toBe(false);
    expectValidEnvoy('google.protobuf.Duration', got);
  });

  it('always keeps |nanos| below a second with the sign of seconds', () => {
    for (const ms of [-3000.5, -1, -0.4, 0.4, 1, 999.5, 999.9999996, 1000.0000004, 12_345.678]) {
      const { seconds, nanos = 0 } = duration(ms) as { seconds: number; nanos?: number };
      expect(Math.abs(nanos), `nanos of ${ms}`).toBeLessThan(1e9);
      expect(seconds * nanos, `signs of ${ms}`).toBeGreaterThanOrEqual(0);
      expect(seconds * 1000 + nanos / 1e6, `value of ${ms}`).toBeCloseTo(ms, 5);
    }
  });
});

describe('small building blocks', () => {
  const cases: { name: string; message: string; got: Plain; want: Plain }[] = [
    {
      name: 'ADS config source',
      message: 'envoy.config.core.v3.ConfigSource',
      got: adsConfigSource(),
      want: { ads: {}, resourceApiVersion: 'V3' },
    },
    {
      name: 'IPv4 socket address',
      message: 'envoy.config.core.v3.Address',
      got: socketAddress('10.1.2.3', 8080),
      want: { socketAddress: { address: '10.1.2.3', portValue: 8080 } },
    },
    {
      name: 'IPv6 socket address',
      message: 'envoy.config.core.v3.Address',
      got: socketAddress('::1', 443),
      want: { socketAddress: { address: '::1', portValue: 443 } },
    },
    {
      name: 'typed() without fields',
      message: 'envoy.extensions.filters.http.router.v3.Router',
      got: typed('envoy.extensions.filters.http.router.v3.Router'),
      want: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
    },
    {
      name: 'typed() with fields',
      message: 'envoy.extensions.filters.http.router.v3.Router',
      got: typed('envoy.extensions.filters.http.router.v3.Router', { suppressEnvoyHeaders: true }),
      want: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router', suppressEnvoyHeaders: true },
    },
  ];
  it.each(cases)('$name', ({ message, got, want }) => {
    expect(got).toEqual(want);
    expectValidEnvoy(message, got);
  });
});
