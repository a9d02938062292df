/**
 * Builds the HTTP filter chain an HCM needs for the routes it carries (`envoy.extensions.filters.
 * network.http_connection_manager.v3.HttpFilter`): each optional filter with an inactive base config,
 * which a route's per-filter config (see route-action.ts) switches on for that route alone.
 */
import type { RateLimitPolicy, RouteSpec } from '../model/traffic.ts';
import { typed, type Plain } from './common.ts';
import { inboundRateLimitFilter } from './service-rate-limit.ts';

const ROUTER_TYPE = 'envoy.extensions.filters.http.router.v3.Router';

/** The router filter, which must end every HTTP filter chain. */
export function routerFilter(): Plain {
  return { name: 'envoy.filters.http.router', typedConfig: typed(ROUTER_TYPE) };
}

export const FAULT_FILTER = 'envoy.filters.http.fault';
export const CORS_FILTER = 'envoy.filters.http.cors';
export const LOCAL_RATELIMIT_FILTER = 'envoy.filters.http.local_ratelimit';

export const FAULT_TYPE = 'envoy.extensions.filters.http.fault.v3.HTTPFault';
export const CORS_TYPE = 'envoy.extensions.filters.http.cors.v3.Cors';
export const CORS_POLICY_TYPE = 'envoy.extensions.filters.http.cors.v3.CorsPolicy';
export const LOCAL_RATELIMIT_TYPE = 'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';

/** The proto files of these filters' configs: the loader must load them to encode (and validate) routes that use them. */
export const HTTP_FILTER_PROTO_FILES = [
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
];

/** Stat prefix of the chain's local rate limit filter; it never limits, so its stats stay at zero. */
const BASE_RATELIMIT_STAT_PREFIX = 'http_local_rate_limiter';

/** Which optional filters the routes of one HCM use. */
export interface HttpFilterNeeds {
  fault?: boolean;
  cors?: boolean;
  rateLimit?: boolean;
  /** A limit on every request through the HCM: a service's own, on its sidecars' inbound side. */
  limitAll?: { policy: RateLimitPolicy; statPrefix: string };
  /** RBAC filters of the service the HCM serves (rbac.ts), first in the chain: a denied request goes no further. */
  authorization?: Plain[];
}

/** The optional filters the given routes use. */
export function httpFilterNeeds(routes: readonly RouteSpec[]): HttpFilterNeeds {
  return {
    fault: routes.some((r) => r.fault !== undefined),
    cors: routes.some((r) => r.cors !== undefined),
    rateLimit: routes.some((r) => r.rateLimit !== undefined),
  };
}

/**
 * The HTTP filter chain for `needs`, in Envoy's order rbac → fault → cors → local_ratelimit → router. Each
 * filter's base config does nothing; the routes' per-filter configs turn it on. CORS and local rate
 * limit are optional: proxyless gRPC clients do not implement them and would otherwise reject the
 * whole listener, while Envoy, which has them, ignores the flag.
 */
export function httpFilters(needs: HttpFilterNeeds): Plain[] {
  const out: Plain[] = [...(needs.authorization ?? [])];
  // An HTTPFault without delay or abort injects nothing.
  if (needs.fault) out.push({ name: FAULT_FILTER, typedConfig: typed(FAULT_TYPE) });
  // The CORS filter acts only on routes (or virtual hosts) that carry a CorsPolicy.
  if (needs.cors) out.push({ name: CORS_FILTER, typedConfig: typed(CORS_TYPE), isOptional: true });
  // Without filter_enabled the local rate limit filter is off (0%), and there is no bucket to take from.
  // A limit on everything comes with its bucket and is on for every request; routes need none of their own there.
  if (needs.limitAll) out.push(inboundRateLimitFilter(needs.limitAll.policy, needs.limitAll.statPrefix));
  else if (needs.rateLimit) {
    out.push({ name: LOCAL_RATELIMIT_FILTER, typedConfig: typed(LOCAL_RATELIMIT_TYPE, { statPrefix: BASE_RATELIMIT_STAT_PREFIX }), isOptional: true });
  }
  return [...out, routerFilter()];
}
