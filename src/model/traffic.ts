/**
 * Traffic management in the domain model: routes (matches, destinations with weights and subsets,
 * per-route resilience and rewriting) and a service's traffic policy (load balancing, connection
 * pool, outlier detection, health checks, rate limits). Plain data, as the API stores it; durations
 * are milliseconds, percentages 0-100 (fractions allowed).
 */
import type { ServiceRef } from './names.ts';

/** A string matcher: exactly one of `exact`, `prefix`, `suffix`, `regex` (RE2 syntax). */
export interface StringMatch {
  exact?: string;
  prefix?: string;
  suffix?: string;
  regex?: string;
  /** Case-insensitive comparison (not for `regex`). */
  ignoreCase?: boolean;
}

/** The path part of a match: exactly one of `prefix`, `exact`, `regex`; case-sensitive unless told. */
export interface PathMatch {
  prefix?: string;
  exact?: string;
  regex?: string;
  caseSensitive?: boolean;
}

/** A header matcher: one of the string forms or `present`; `invert` negates the result. */
export interface HeaderMatch extends StringMatch {
  name: string;
  present?: boolean;
  invert?: boolean;
}

/** A query parameter matcher: one of the string forms or `present`. */
export interface QueryMatch extends StringMatch {
  name: string;
  present?: boolean;
}

/** What a request must look like for a route to take it; every part given must match. */
export interface RouteMatch {
  path?: PathMatch;
  headers?: HeaderMatch[];
  query?: QueryMatch[];
  /** HTTP methods (GET, POST, ...): matched on the `:method` pseudo-header. */
  methods?: string[];
}

/** Endpoint labels that pick a subset of a service's endpoints, e.g. `{ version: 'v2' }`. */
export type Subset = Record<string, string>;

/** One destination of a route: a service, optionally a subset of it, with a share of the traffic. */
export interface Destination extends ServiceRef {
  subset?: Subset;
  /** Relative weight; a route's weights add up to 100. */
  weight: number;
}

export interface RetryPolicy {
  /** Retries after the first attempt. */
  attempts: number;
  perTryTimeoutMs?: number;
  /** Envoy retry-on conditions: `5xx`, `gateway-error`, `reset`, `connect-failure`, `retriable-4xx`, `refused-stream`, and for gRPC `cancelled`, `deadline-exceeded`, `internal`, `resource-exhausted`, `unavailable`. */
  retryOn: string[];
  backoff?: { baseMs: number; maxMs?: number };
  /** Response statuses to retry on; required by, and only with, the condition `retriable-status-codes`. */
  retriableStatusCodes?: number[];
  /** Responses to retry when any of these matches; required by, and only with, the condition `retriable-headers`. */
  retriableHeaders?: HeaderMatch[];
}

export interface FaultPolicy {
  delay?: { fixedMs: number; percent: number };
  /** Exactly one of `httpStatus` and `grpcStatus`. */
  abort?: { httpStatus?: number; grpcStatus?: number; percent: number };
}

/** Copies of requests sent to another service (responses ignored). */
export interface MirrorPolicy extends ServiceRef {
  subset?: Subset;
  percent: number;
}

/** Header changes: `set` replaces, `add` appends, `remove` deletes. */
export interface HeaderOps {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}

/** Request rewrite before forwarding: a path prefix or regex substitution, and/or the authority. */
export interface RewritePolicy {
  prefix?: string;
  regex?: { pattern: string; substitution: string };
  host?: string;
}

export interface RedirectPolicy {
  scheme?: 'http' | 'https';
  host?: string;
  port?: number;
  /** Replaces the whole path; or `prefix` replaces the matched prefix. */
  path?: string;
  prefix?: string;
  statusCode?: 301 | 302 | 303 | 307 | 308;
  stripQuery?: boolean;
}

export interface DirectResponse {
  status: number;
  body?: string;
}

export interface CorsPolicy {
  allowOrigins: StringMatch[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAgeSeconds?: number;
  allowCredentials?: boolean;
}

/** A local token bucket: `maxTokens` burst, `tokensPerFill` added every `fillIntervalMs`. */
export interface RateLimitPolicy {
  maxTokens: number;
  tokensPerFill: number;
  fillIntervalMs: number;
  /** Status of a limited request (default 429). */
  status?: number;
  responseHeaders?: Record<string, string>;
}

/** What a consistent-hash load balancer hashes on: exactly one of the forms. */
export interface HashPolicy {
  header?: string;
  cookie?: { name: string; ttlSeconds?: number; path?: string };
  sourceIp?: boolean;
  queryParameter?: string;
  /** Stop at this policy when it produced a hash. */
  terminal?: boolean;
}

/** A route's own tracing: the share of its requests traced (0-100), in place of the mesh's. */
export interface RouteTracing {
  samplePercent: number;
}

/** A route: requests for `hosts` that match `match` go to `destinations` (or get a redirect or a direct response). */
export interface RouteSpec extends ServiceRef {
  /** Authorities the route claims; empty means the hosts of its destination services. */
  hosts: string[];
  /** Higher first; ties by namespace then name (documented in the API). */
  priority: number;
  match: RouteMatch;
  /** Exactly one of `destinations`, `redirect` and `directResponse`. */
  destinations?: Destination[];
  redirect?: RedirectPolicy;
  directResponse?: DirectResponse;
  timeoutMs?: number;
  retries?: RetryPolicy;
  fault?: FaultPolicy;
  mirror?: MirrorPolicy;
  requestHeaders?: HeaderOps;
  responseHeaders?: HeaderOps;
  rewrite?: RewritePolicy;
  cors?: CorsPolicy;
  rateLimit?: RateLimitPolicy;
  tracing?: RouteTracing;
}

export type LbAlgorithm = 'round_robin' | 'least_request' | 'random' | 'ring_hash' | 'maglev';

export interface LoadBalancerPolicy {
  algorithm: LbAlgorithm;
  /** For ring_hash and maglev: what the routes to this service hash on. */
  hashOn?: HashPolicy[];
  /** ring_hash ring size bounds. */
  ringSize?: { min?: number; max?: number };
  /** least_request: endpoints sampled per pick (default 2). */
  choiceCount?: number;
  /** Prefer endpoints in the caller's zone (Envoy zone-aware routing) down to this share of healthy local endpoints. */
  zoneAware?: { minClusterSize?: number; routingEnabledPercent?: number };
}

export interface ConnectionPoolPolicy {
  maxConnections?: number;
  maxPendingRequests?: number;
  maxRequests?: number;
  maxRetries?: number;
}

export interface OutlierDetectionPolicy {
  consecutive5xx?: number;
  consecutiveGatewayErrors?: number;
  intervalMs?: number;
  baseEjectionTimeMs?: number;
  maxEjectionPercent?: number;
  /**
   * Eject endpoints whose share of failed requests in an interval reaches `threshold` percent, once
   * `minimumHosts` endpoints (default 5) each saw `requestVolume` requests (default 50). The form of
   * ejection proxyless gRPC applies (it ignores the consecutive-error counters).
   */
  failurePercentage?: { threshold: number; minimumHosts?: number; requestVolume?: number };
}

export interface HealthCheckPolicy {
  /** Exactly one of `http`, `grpc`, `tcp`. */
  /** `expectedStatuses` ranges include both ends: `{ start: 200, end: 299 }` is 2xx (default 200 alone). */
  http?: { path: string; expectedStatuses?: { start: number; end: number }[]; host?: string };
  grpc?: { serviceName?: string };
  tcp?: Record<string, never>;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

/** A service's traffic policy; every part optional, absent parts keep Envoy's defaults. */
export interface TrafficPolicy {
  loadBalancer?: LoadBalancerPolicy;
  connectionPool?: ConnectionPoolPolicy;
  outlierDetection?: OutlierDetectionPolicy;
  healthCheck?: HealthCheckPolicy;
  rateLimit?: RateLimitPolicy;
  /**
   * Locality failover: each caller gets the endpoints as priorities by nearness to its node's
   * locality (its zone, then its region, then anywhere), so it stays in its zone while that has a
   * healthy endpoint and fails over tier by tier. EDS-discovered services only (see endpoints.ts).
   */
  localityFailover?: boolean;
}
