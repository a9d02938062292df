import { describe, expect, it } from 'vitest';
import type { RateLimitPolicy } from '../model/traffic.ts';
import { envoyRoot } from '../protos/loader.ts';
import { expectValidEnvoy } from '../../test/support/envoy.ts';
import type { Plain } from './common.ts';
import { inboundConnectionRateLimitFilter, inboundRateLimitFilter, tokenBucket } from './service-rate-limit.ts';

// The filters' configs travel inside Anys; the shared root does not load them by default.
envoyRoot([
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/filters/network/local_ratelimit/v3/local_rate_limit.proto',
]);

const HTTP_FILTER = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter';
const NETWORK_FILTER = 'envoy.config.listener.v3.Filter';
const BUCKET: RateLimitPolicy = { maxTokens: 100, tokensPerFill: 10, fillIntervalMs: 1000 };
const ALL = (runtimeKey: string): Plain => ({ defaultValue: { numerator: 100, denominator: 'HUNDRED' }, runtimeKey });

/** The HTTP filter for stat prefix `inbound_web`; a case lists only the LocalRateLimit fields that differ. */
const httpFilter = (over: Plain = {}): Plain => ({
  name: 'envoy.filters.http.local_ratelimit',
  typedConfig: {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
    statPrefix: 'inbound_web',
    status: { code: 429 },
    tokenBucket: { maxTokens: 100, tokensPerFill: { value: 10 }, fillInterval: { seconds: 1 } },
    filterEnabled: ALL('inbound_web.local_rate_limit_enabled'),
    filterEnforced: ALL('inbound_web.local_rate_limit_enforced'),
    ...over,
  },
});

describe('inboundRateLimitFilter', () => {
  const cases: { name: string; policy: RateLimitPolicy; want: Plain }[] = [
    { name: 'a bucket alone: 429, enabled and enforced for every request', policy: BUCKET, want: httpFilter() },
    {
      name: 'another status (an HttpStatus enum value), sub-second fill',
      policy: { ...BUCKET, status: 503, fillIntervalMs: 250 },
      want: httpFilter({
        status: { code: 503 },
        tokenBucket: { maxTokens: 100, tokensPerFill: { value: 10 }, fillInterval: { seconds: 0, nanos: 250_000_000 } },
      }),
    },
    {
      name: 'response headers, sorted by name',
      policy: { ...BUCKET, responseHeaders: { 'x-rate-limited': 'true', 'retry-after': '1' } },
      want: httpFilter({
        responseHeadersToAdd: [
          { header: { key: 'retry-after', value: '1' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' },
          { header: { key: 'x-rate-limited', value: 'true' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' },
        ],
      }),
    },
    { name: 'no response headers given: none listed', policy: { ...BUCKET, responseHeaders: {} }, want: httpFilter() },
  ];
  it.each(cases)('$name', ({ policy, want }) => {
    const got = inboundRateLimitFilter(policy, 'inbound_web');
    expect(got).toStrictEqual(want);
    expectValidEnvoy(HTTP_FILTER, got);
  });

  it('a status outside envoy.type.v3.StatusCode does not pass the gate', () => {
    expect(() => expectValidEnvoy(HTTP_FILTER, inboundRateLimitFilter({ ...BUCKET, status: 499 }, 'inbound_web'))).toThrow();
  });
});

describe('inboundConnectionRateLimitFilter', () => {
  const cases: { name: string; policy: RateLimitPolicy; statPrefix: string; want: Plain }[] = [
    {
      name: 'a connection bucket, on with a per-service runtime switch',
      policy: BUCKET,
      statPrefix: 'inbound_db',
      want: {
        name: 'envoy.filters.network.local_ratelimit',
        typedConfig: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit',
          statPrefix: 'inbound_db',
          tokenBucket: { maxTokens: 100, tokensPerFill: { value: 10 }, fillInterval: { seconds: 1 } },
          runtimeEnabled: { defaultValue: { value: true }, runtimeKey: 'inbound_db.local_rate_limit_enabled' },
        },
      },
    },
    {
      name: 'HTTP-only parts of the policy (status, headers) are left out',
      policy: { maxTokens: 5, tokensPerFill: 1, fillIntervalMs: 60_000, status: 503, responseHeaders: { 'x-limited': '1' } },
      statPrefix: 'inbound_cache',
      want: {
        name: 'envoy.filters.network.local_ratelimit',
        typedConfig: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit',
          statPrefix: 'inbound_cache',
          tokenBucket: { maxTokens: 5, tokensPerFill: { value: 1 }, fillInterval: { seconds: 60 } },
          runtimeEnabled: { defaultValue: { value: true }, runtimeKey: 'inbound_cache.local_rate_limit_enabled' },
        },
      },
    },
  ];
  it.each(cases)('$name', ({ policy, statPrefix, want }) => {
    const got = inboundConnectionRateLimitFilter(policy, statPrefix);
    expect(got).toStrictEqual(want);
    expectValidEnvoy(NETWORK_FILTER, got);
  });
});

describe('tokenBucket', () => {
  it.each([
    { policy: BUCKET, want: { maxTokens: 100, tokensPerFill: { value: 10 }, fillInterval: { seconds: 1 } } },
    { policy: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 1500 }, want: { maxTokens: 1, tokensPerFill: { value: 1 }, fillInterval: { seconds: 1, nanos: 500_000_000 } } },
  ])('$policy.maxTokens tokens, $policy.tokensPerFill per $policy.fillIntervalMs ms', ({ policy, want }) => {
    const got = tokenBucket(policy);
    expect(got).toStrictEqual(want);
    expectValidEnvoy('envoy.type.v3.TokenBucket', got);
  });
});
