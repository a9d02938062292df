/**
 * Builds `envoy.config.route.v3.Route` for a RouteSpec: the match, one action (`RouteAction`,
 * `RedirectAction` or `DirectResponseAction`), header changes, and the per-filter configs that turn
 * on fault injection, CORS and local rate limiting for this route alone.
 */
import { statPrefix } from '../model/names.ts';
import type {
  CorsPolicy,
  DirectResponse,
  FaultPolicy,
  HashPolicy,
  HeaderOps,
  MirrorPolicy,
  RateLimitPolicy,
  RedirectPolicy,
  RetryPolicy,
  RewritePolicy,
  RouteSpec,
  Subset,
} from '../model/traffic.ts';
import { duration, typed, type Plain } from './common.ts';
import { CORS_FILTER, CORS_POLICY_TYPE, FAULT_FILTER, FAULT_TYPE, LOCAL_RATELIMIT_FILTER } from './http-filters.ts';
import { localRateLimitConfig } from './service-rate-limit.ts';
import { fractionalPercent } from './percent.ts';
import { headerMatcher, regexMatcher, routeMatch, stringMatcher } from './route-match.ts';
import { routeTracing } from './tracing.ts';

/** Names the cluster of a service, or of a subset of its endpoints: cluster naming belongs to the caller. */
export type ClusterOf = (d: { namespace: string; name: string; subset?: Subset }) => string;

/** What a route takes from elsewhere than its own spec. */
export interface RouteOptions {
  /** From the destination service's load balancer policy (ring_hash, maglev). */
  hashPolicy?: HashPolicy[];
}

const FILTER_CONFIG_TYPE = 'envoy.config.route.v3.FilterConfig';

const REDIRECT_CODES: Record<NonNullable<RedirectPolicy['statusCode']>, string> = {
  301: 'MOVED_PERMANENTLY',
  302: 'FOUND',
  303: 'SEE_OTHER',
  307: 'TEMPORARY_REDIRECT',
  308: 'PERMANENT_REDIRECT',
};

/** `envoy.config.route.v3.Route` named `<namespace>/<name>`: match, action, header changes, tracing and per-filter configs. */
export function route(spec: RouteSpec, clusterOf: ClusterOf, opts: RouteOptions = {}): Plain {
  const out: Plain = { name: `${spec.namespace}/${spec.name}`, match: routeMatch(spec.match), ...routeActionOf(spec, clusterOf, opts) };
  Object.assign(out, headerChanges('request', spec.requestHeaders), headerChanges('response', spec.responseHeaders));
  if (spec.tracing) out.tracing = routeTracing(spec.tracing);
  const perFilter = typedPerFilterConfig(spec);
  if (Object.keys(perFilter).length) out.typedPerFilterConfig = perFilter;
  return out;
}

/** The action oneof of a Route: forward to the destinations, redirect, or answer directly. */
function routeActionOf(spec: RouteSpec, clusterOf: ClusterOf, opts: RouteOptions): Plain {
  if (spec.destinations) return { route: routeAction(spec, clusterOf, opts.hashPolicy) };
  if (spec.redirect) return { redirect: redirectAction(spec.redirect) };
  if (spec.directResponse) return { directResponse: directResponseAction(spec.directResponse) };
  // None given: the model validator rejects this; a Route without an action fails the publish gate.
  return {};
}

/**
 * `envoy.config.route.v3.RouteAction` to the spec's destinations. Without a timeout the route has
 * none (Envoy's 15 s default would cut streams); with one, `max_stream_duration` carries it too,
 * because proxyless gRPC clients ignore `timeout` and read only that.
 */
export function routeAction(spec: RouteSpec, clusterOf: ClusterOf, hashPolicies: HashPolicy[] = []): Plain {
  const out: Plain = { ...clusterSpecifier(spec, clusterOf), timeout: duration(spec.timeoutMs ?? 0) };
  if (spec.timeoutMs) out.maxStreamDuration = { maxStreamDuration: duration(spec.timeoutMs) };
  if (spec.retries) out.retryPolicy = retryPolicy(spec.retries);
  if (spec.mirror) out.requestMirrorPolicies = [requestMirrorPolicy(spec.mirror, clusterOf)];
  if (hashPolicies.length) out.hashPolicy = hashPolicies.map(hashPolicy);
  return { ...out, ...rewrite(spec.rewrite) };
}

/** One destination: `cluster`; several: `weighted_clusters` with the weights as given (they add up to 100). */
function clusterSpecifier(spec: RouteSpec, clusterOf: ClusterOf): Plain {
  const destinations = spec.destinations ?? [];
  const [only] = destinations;
  if (destinations.length === 1 && only) return { cluster: clusterOf(serviceOf(only)) };
  return { weightedClusters: { clusters: destinations.map((d) => ({ name: clusterOf(serviceOf(d)), weight: { value: d.weight } })) } };
}

/** Just the service (and subset) of a destination or mirror, so the resolver sees nothing else. */
function serviceOf(d: { namespace: string; name: string; subset?: Subset }): Parameters<ClusterOf>[0] {
  return d.subset ? { namespace: d.namespace, name: d.name, subset: d.subset } : { namespace: d.namespace, name: d.name };
}

/** `envoy.config.route.v3.RetryPolicy`: conditions joined as Envoy's comma list, attempts after the first, optional per-try timeout and back-off. */
export function retryPolicy(r: RetryPolicy): Plain {
  const out: Plain = { retryOn: r.retryOn.join(','), numRetries: { value: r.attempts } };
  if (r.perTryTimeoutMs !== undefined) out.perTryTimeout = duration(r.perTryTimeoutMs);
  if (r.backoff) {
    const max = r.backoff.maxMs !== undefined ? { maxInterval: duration(r.backoff.maxMs) } : {};
    out.retryBackOff = { baseInterval: duration(r.backoff.baseMs), ...max };
  }
  if (r.retriableStatusCodes) out.retriableStatusCodes = r.retriableStatusCodes;
  if (r.retriableHeaders) out.retriableHeaders = r.retriableHeaders.map(headerMatcher);
  return out;
}

/** `RouteAction.RequestMirrorPolicy`: copies of the given share of requests to another service (or subset). */
export function requestMirrorPolicy(m: MirrorPolicy, clusterOf: ClusterOf): Plain {
  return { cluster: clusterOf(serviceOf(m)), runtimeFraction: { defaultValue: fractionalPercent(m.percent) } };
}

/** `RouteAction.HashPolicy`: what a ring_hash or maglev cluster hashes on. */
export function hashPolicy(h: HashPolicy): Plain {
  const terminal = h.terminal ? { terminal: true } : {};
  if (h.header !== undefined) return { header: { headerName: h.header }, ...terminal };
  if (h.cookie) return { cookie: hashCookie(h.cookie), ...terminal };
  if (h.sourceIp) return { connectionProperties: { sourceIp: true }, ...terminal };
  if (h.queryParameter !== undefined) return { queryParameter: { name: h.queryParameter }, ...terminal };
  return terminal;
}

/** A cookie to hash on; with a TTL, Envoy sets the cookie when the request lacks it (TTL 0: a session cookie). */
function hashCookie(c: NonNullable<HashPolicy['cookie']>): Plain {
  const out: Plain = { name: c.name };
  if (c.ttlSeconds !== undefined) out.ttl = duration(c.ttlSeconds * 1000);
  if (c.path !== undefined) out.path = c.path;
  return out;
}

/** The rewrite fields of a RouteAction: path prefix or regex substitution, and the authority. */
function rewrite(r: RewritePolicy | undefined): Plain {
  const out: Plain = {};
  if (r?.prefix !== undefined) out.prefixRewrite = r.prefix;
  if (r?.regex) out.regexRewrite = { pattern: regexMatcher(r.regex.pattern), substitution: r.regex.substitution };
  if (r?.host !== undefined) out.hostRewriteLiteral = r.host;
  return out;
}

/** `envoy.config.route.v3.RedirectAction`; Envoy's defaults (301, scheme/host/port/path kept) stay implicit. */
export function redirectAction(r: RedirectPolicy): Plain {
  const out: Plain = {};
  // scheme_redirect covers both schemes; https_redirect would be a second spelling of one of them.
  if (r.scheme !== undefined) out.schemeRedirect = r.scheme;
  if (r.host !== undefined) out.hostRedirect = r.host;
  if (r.port !== undefined) out.portRedirect = r.port;
  if (r.path !== undefined) out.pathRedirect = r.path;
  else if (r.prefix !== undefined) out.prefixRewrite = r.prefix;
  if (r.statusCode !== undefined) out.responseCode = REDIRECT_CODES[r.statusCode];
  if (r.stripQuery) out.stripQuery = true;
  return out;
}

/** `envoy.config.route.v3.DirectResponseAction`: a status and an optional inline body. */
export function directResponseAction(d: DirectResponse): Plain {
  return d.body !== undefined ? { status: d.status, body: { inlineString: d.body } } : { status: d.status };
}

/** Header map entries sorted by name, so a reordered map gives the same resource. */
function sortedEntries(values: Record<string, string> | undefined): [string, string][] {
  return Object.entries(values ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** `envoy.config.core.v3.HeaderValueOption`s for header ops: `set` overwrites, `add` appends (sets first, each sorted by name). */
export function headerValueOptions(ops: HeaderOps): Plain[] {
  const option = (appendAction: string) => ([key, value]: [string, string]): Plain => ({ header: { key, value }, appendAction });
  return [...sortedEntries(ops.set).map(option('OVERWRITE_IF_EXISTS_OR_ADD')), ...sortedEntries(ops.add).map(option('APPEND_IF_EXISTS_OR_ADD'))];
}

/** `<side>_headers_to_add` / `<side>_headers_to_remove` of a Route, each only when non-empty. */
function headerChanges(side: 'request' | 'response', ops: HeaderOps | undefined): Plain {
  if (!ops) return {};
  const out: Plain = {};
  const add = headerValueOptions(ops);
  if (add.length) out[`${side}HeadersToAdd`] = add;
  if (ops.remove?.length) out[`${side}HeadersToRemove`] = [...new Set(ops.remove)].sort();
  return out;
}

/**
 * The route's `typed_per_filter_config`, keyed by filter name. CORS and local rate limit are wrapped
 * as optional FilterConfigs: proxyless gRPC clients reject the whole route configuration when a route
 * configures a filter they lack, unless it is marked optional (they do implement fault injection).
 */
export function typedPerFilterConfig(spec: RouteSpec): Plain {
  const out: Plain = {};
  if (spec.fault) out[FAULT_FILTER] = httpFault(spec.fault);
  if (spec.cors) out[CORS_FILTER] = optionalFilterConfig(corsPolicy(spec.cors));
  if (spec.rateLimit) out[LOCAL_RATELIMIT_FILTER] = optionalFilterConfig(localRateLimit(spec.rateLimit, routeStatPrefix(spec)));
  return out;
}

/** `envoy.config.route.v3.FilterConfig` (as an Any) marking a per-route filter config optional. */
function optionalFilterConfig(config: Plain): Plain {
  return typed(FILTER_CONFIG_TYPE, { config, isOptional: true });
}

/** Stat prefix of a route's own rate limiter, so its counters show per route. */
function routeStatPrefix(spec: RouteSpec): string {
  return statPrefix(`route/${spec.namespace}/${spec.name}`);
}

/** `HTTPFault` (as an Any) injecting a fixed delay and/or an HTTP or gRPC abort into the given share of requests. */
export function httpFault(f: FaultPolicy): Plain {
  const out: Plain = {};
  if (f.delay) out.delay = { fixedDelay: duration(f.delay.fixedMs), percentage: fractionalPercent(f.delay.percent) };
  if (f.abort) {
    const status = f.abort.grpcStatus !== undefined ? { grpcStatus: f.abort.grpcStatus } : { httpStatus: f.abort.httpStatus };
    out.abort = { ...status, percentage: fractionalPercent(f.abort.percent) };
  }
  return typed(FAULT_TYPE, out);
}

/** `CorsPolicy` (as an Any): origins as string matchers, lists as the comma-separated header values Envoy sends. */
export function corsPolicy(c: CorsPolicy): Plain {
  const out: Plain = { allowOriginStringMatch: c.allowOrigins.map(stringMatcher) };
  if (c.allowMethods?.length) out.allowMethods = c.allowMethods.join(',');
  if (c.allowHeaders?.length) out.allowHeaders = c.allowHeaders.join(',');
  if (c.exposeHeaders?.length) out.exposeHeaders = c.exposeHeaders.join(',');
  if (c.maxAgeSeconds !== undefined) out.maxAge = String(c.maxAgeSeconds);
  if (c.allowCredentials !== undefined) out.allowCredentials = { value: c.allowCredentials };
  return typed(CORS_POLICY_TYPE, out);
}

/** A route's local rate limit: the same fully enabled config a service's inbound filter carries. */
export function localRateLimit(r: RateLimitPolicy, statPrefix: string): Plain {
  return localRateLimitConfig(r, statPrefix);
}

