/**
 * A service's own rate limit, applied where its traffic arrives (the inbound listener of its
 * sidecars) so that it holds whoever the callers are; per-route limits are the route side's.
 * One local token bucket per proxy: N replicas admit up to N times the configured rate.
 *
 * Proxyless gRPC servers cannot take these filters: grpc-js-xds implements neither of them, and an
 * unknown filter that is not optional makes it NACK the listener.
 *
 * Both LocalRateLimit messages travel in Anys: the proto root that encodes listeners must hold them,
 * or protobufjs packs them as empty Anys without a word.
 */
import type { RateLimitPolicy } from '../model/traffic.ts';
import { duration, typed, type Plain } from './common.ts';

const HTTP_LOCAL_RATE_LIMIT = 'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const NETWORK_LOCAL_RATE_LIMIT = 'envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit';
const TOO_MANY_REQUESTS = 429;

/** `envoy.type.v3.TokenBucket`: `maxTokens` to start with and at most, `tokensPerFill` more every `fillIntervalMs`. */
export function tokenBucket(policy: RateLimitPolicy): Plain {
  return { maxTokens: policy.maxTokens, tokensPerFill: { value: policy.tokensPerFill }, fillInterval: duration(policy.fillIntervalMs) };
}

/**
 * The HttpFilter `envoy.filters.http.local_ratelimit` for a service's inbound HTTP connection
 * manager (before the router). `status` is an `envoy.type.v3.StatusCode` enum value, so only the
 * codes that enum names (e.g. 429, 503) are valid.
 */
export function inboundRateLimitFilter(policy: RateLimitPolicy, statPrefix: string): Plain {
  return { name: 'envoy.filters.http.local_ratelimit', typedConfig: localRateLimitConfig(policy, statPrefix) };
}

/** The HTTP LocalRateLimit config (an Any), fully enabled: the service filter's, or a route's per-filter config. */
export function localRateLimitConfig(policy: RateLimitPolicy, statPrefix: string): Plain {
  const config: Plain = {
    statPrefix,
    status: { code: policy.status ?? TOO_MANY_REQUESTS },
    tokenBucket: tokenBucket(policy),
    // Both default to 0%: without them the filter neither counts nor limits anything.
    filterEnabled: allRequests(`${statPrefix}.local_rate_limit_enabled`),
    filterEnforced: allRequests(`${statPrefix}.local_rate_limit_enforced`),
  };
  const headers = responseHeadersToAdd(policy.responseHeaders);
  if (headers.length > 0) config.responseHeadersToAdd = headers;
  return typed(HTTP_LOCAL_RATE_LIMIT, config);
}

/**
 * The network Filter `envoy.filters.network.local_ratelimit` for a TCP service's inbound filter
 * chain (before tcp_proxy). At this level a token is a new connection, not a request; a limited
 * connection is closed at once.
 */
export function inboundConnectionRateLimitFilter(policy: RateLimitPolicy, statPrefix: string): Plain {
  return {
    name: 'envoy.filters.network.local_ratelimit',
    typedConfig: typed(NETWORK_LOCAL_RATE_LIMIT, {
      statPrefix,
      tokenBucket: tokenBucket(policy),
      // On, with a runtime key through which an operator can switch one service's limit off.
      runtimeEnabled: { defaultValue: { value: true }, runtimeKey: `${statPrefix}.local_rate_limit_enabled` },
    }),
  };
}

/** `envoy.config.core.v3.RuntimeFractionalPercent` of 100%, overridable through `runtimeKey`. */
function allRequests(runtimeKey: string): Plain {
  return { defaultValue: { numerator: 100, denominator: 'HUNDRED' }, runtimeKey };
}

/** Headers for limited responses, sorted by name so that equal policies give equal bytes. */
function responseHeadersToAdd(headers: Record<string, string> | undefined): Plain[] {
  return Object.entries(headers ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => ({ header: { key, value }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' }));
}
