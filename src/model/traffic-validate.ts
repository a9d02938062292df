/**
 * Semantic checks of routes and traffic policies: the rules a JSON schema cannot express (exactly one
 * of several fields, weights that add up, services that exist, Envoy's ranges and regex limits).
 * Each issue names its field relative to the spec, e.g. `destinations[1].weight`.
 */
import { issue, type Issue } from '../lib/result.ts';
import { isHostname, serviceHost, serviceKeyOf, serviceRefOfKey, type ServiceRef } from './names.ts';
import { checkRe2, parseRe2 } from './regex.ts';
import { checkLabels } from './specs.ts';
import type {
  CorsPolicy, Destination, FaultPolicy, HashPolicy, HeaderOps, HealthCheckPolicy, LoadBalancerPolicy, PathMatch,
  RateLimitPolicy, RedirectPolicy, RetryPolicy, RewritePolicy, RouteMatch, RouteSpec, StringMatch, Subset, TrafficPolicy,
} from './traffic.ts';

/** What route validation needs to know of each service, keyed by `<namespace>/<name>`. */
export interface RouteContext {
  services: Map<string, { port: number; protocol: string; endpointLabels: Record<string, string>[] }>;
}

/** Envoy's retry-on conditions (x-envoy-retry-on and x-envoy-retry-grpc-on). */
export const RETRY_ON = [
  '5xx', 'gateway-error', 'reset', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx', 'refused-stream',
  'retriable-status-codes', 'retriable-headers', 'http3-post-connect-failure',
  'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
] as const;

const DAY_MS = 86_400_000;
const UINT32_MAX = 4_294_967_295;
const MAX_PRIORITY = 1_000_000;
/** Envoy's default `max_direct_response_body_size_bytes`. */
const MAX_DIRECT_BODY_BYTES = 4096;
/** Envoy's local rate limit filter rejects a shorter `fill_interval`. */
const MIN_FILL_INTERVAL_MS = 50;
/** Ring hash bounds Envoy accepts (`maximum_ring_size` lte 8M). */
const MAX_RING_SIZE = 8_388_608;
const REDIRECT_CODES = [301, 302, 303, 307, 308];
/** The 4xx and 5xx codes `envoy.type.v3.StatusCode` names: a rate limit's status is that enum, so no other code encodes. */
export const ENVOY_ERROR_STATUS_CODES = [
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 423, 424, 426, 428, 429, 431,
  500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
];
/** RFC 9110 token: header names and methods. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MATCHABLE_PSEUDO = new Set([':authority', ':method', ':path']);

const at = (base: string, key: string | number): string =>
  typeof key === 'number' ? `${base}[${key}]` : base ? `${base}.${key}` : key;
const quote = (s: string): string => `"${s.slice(0, 80)}"`;

function int(out: Issue[], v: number | undefined, path: string, min: number, max: number): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) out.push(issue(path, `must be an integer from ${min} to ${max}`));
}

function percent(out: Issue[], v: number | undefined, path: string): void {
  if (v !== undefined && !(Number.isFinite(v) && v >= 0 && v <= 100)) out.push(issue(path, 'must be a percentage from 0 to 100'));
}

function millis(out: Issue[], v: number | undefined, path: string, min = 1): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= DAY_MS)) {
    out.push(issue(path, `must be a whole number of milliseconds from ${min} to ${DAY_MS} (24 h)`));
  }
}

/** Names of the fields of `obj` among `keys` that are given. */
function given<T extends object>(obj: T, keys: (keyof T & string)[]): string[] {
  return keys.filter((k) => obj[k] !== undefined);
}

function exactlyOne(out: Issue[], forms: string[], all: string[], path: string): void {
  if (forms.length === 1) return;
  const list = all.join(', ');
  out.push(issue(path, forms.length === 0 ? `needs one of ${list}` : `has ${forms.join(' and ')}; give exactly one of ${list}`));
}

/** Issues for a header name in a match or hash policy: a lower-case token or :authority, :method, :path. */
export function checkMatchHeaderName(name: string, path: string): Issue[] {
  if (MATCHABLE_PSEUDO.has(name)) return [];
  if (name.startsWith(':')) return [issue(path, `${quote(name)} is a pseudo-header that cannot be matched (only :authority, :method and :path can)`)];
  return checkToken(name, path);
}

function checkToken(name: string, path: string): Issue[] {
  if (!TOKEN.test(name)) return [issue(path, `${quote(name)} is not a valid header name (letters, digits and !#$%&'*+-.^_\`|~)`)];
  return name === name.toLowerCase() ? [] : [issue(path, `${quote(name)} must be lower-case`)];
}

/** Issues for a header that a route sets, adds or removes: never a pseudo-header or `host`. */
export function checkOpHeaderName(name: string, path: string): Issue[] {
  if (name.startsWith(':')) return [issue(path, `${quote(name)} is a pseudo-header, which cannot be changed`)];
  if (name.toLowerCase() === 'host') return [issue(path, '"host" cannot be changed here (use rewrite.host)')];
  return checkToken(name, path);
}

/** Issues for a header value Envoy would reject: line breaks, NUL, or a `%` that is not `%%` or a `%VARIABLE%`. */
export function checkHeaderValue(value: string, path: string): Issue[] {
  if (/[\r\n\0]/.test(value)) return [issue(path, 'must not contain CR, LF or NUL')];
  const rest = value.replace(/%%/g, '').replace(/%[A-Z][A-Z0-9_]*(\([^)]*\))?(:[0-9]+)?%/g, '');
  return rest.includes('%') ? [issue(path, 'has a lone % (Envoy reads %NAME% as a variable: write a literal % as %%)')] : [];
}

function checkHeaderMap(out: Issue[], headers: Record<string, string> | undefined, path: string): void {
  for (const [name, value] of Object.entries(headers ?? {})) {
    const p = at(path, name);
    out.push(...checkOpHeaderName(name, p), ...checkHeaderValue(value, p));
  }
}

function checkHeaderOps(out: Issue[], ops: HeaderOps | undefined, path: string): void {
  if (!ops) return;
  checkHeaderMap(out, ops.set, at(path, 'set'));
  checkHeaderMap(out, ops.add, at(path, 'add'));
  ops.remove?.forEach((name, i) => out.push(...checkOpHeaderName(name, at(at(path, 'remove'), i))));
}

/** Issues for a string matcher; `present` counts as a form for header and query matchers. */
export function checkStringMatch(m: StringMatch & { present?: boolean }, path: string, withPresent = false): Issue[] {
  const out: Issue[] = [];
  const all = withPresent ? ['exact', 'prefix', 'suffix', 'regex', 'present'] : ['exact', 'prefix', 'suffix', 'regex'];
  const forms = given(m, all as (keyof typeof m & string)[]);
  exactlyOne(out, forms, all, path);
  for (const k of ['prefix', 'suffix'] as const) if (m[k] === '') out.push(issue(at(path, k), 'must not be empty'));
  if (m.regex !== undefined) out.push(...checkRe2(m.regex, at(path, 'regex')));
  if (m.ignoreCase && (forms[0] === 'regex' || forms[0] === 'present') && forms.length === 1) {
    out.push(issue(at(path, 'ignoreCase'), 'applies only to exact, prefix and suffix (a regex can start with (?i))'));
  }
  return out;
}

function checkPath(out: Issue[], p: PathMatch, path: string): void {
  exactlyOne(out, given(p, ['prefix', 'exact', 'regex']), ['prefix', 'exact', 'regex'], path);
  for (const k of ['prefix', 'exact'] as const) {
    const v = p[k];
    if (v !== undefined && !v.startsWith('/')) out.push(issue(at(path, k), 'must start with "/"'));
  }
  if (p.regex !== undefined) out.push(...checkRe2(p.regex, at(path, 'regex')));
  // Envoy ignores case_sensitive for safe_regex.
  if (p.regex !== undefined && p.caseSensitive === false) out.push(issue(at(path, 'caseSensitive'), 'has no effect on a regex (start it with (?i))'));
}

function checkMatch(out: Issue[], m: RouteMatch): void {
  if (m.path) checkPath(out, m.path, 'match.path');
  m.headers?.forEach((h, i) => {
    const p = `match.headers[${i}]`;
    out.push(...checkMatchHeaderName(h.name, at(p, 'name')), ...checkStringMatch(h, p, true));
  });
  m.query?.forEach((q, i) => {
    const p = `match.query[${i}]`;
    if (q.name === '') out.push(issue(at(p, 'name'), 'must not be empty'));
    out.push(...checkStringMatch(q, p, true));
  });
  checkUnique(out, m.methods, 'match.methods', (v, p) => (TOKEN.test(v) ? [] : [issue(p, `${quote(v)} is not a valid HTTP method`)]));
}

/** Runs `check` on each item and reports repeats (compared by `key`). */
function checkUnique(out: Issue[], items: string[] | undefined, path: string, check: (v: string, p: string) => Issue[], key = (v: string) => v): void {
  const seen = new Map<string, number>();
  items?.forEach((v, i) => {
    const p = at(path, i);
    out.push(...check(v, p));
    const first = seen.get(key(v));
    if (first !== undefined) out.push(issue(p, `repeats ${path}[${first}] (${quote(v)})`));
    else seen.set(key(v), i);
  });
}

/** Issues for an authority: a host name or `*.suffix`, with an optional `:port`. */
export function checkHost(host: string, path: string, wildcard = true): Issue[] {
  const m = /^(\*\.)?([^:]*)(?::([0-9]{1,5}))?$/.exec(host);
  const port = m?.[3] === undefined ? undefined : Number(m[3]);
  if (m && (wildcard || !m[1]) && isHostname(m[2] ?? '') && (port === undefined || (port >= 1 && port <= 65535))) return [];
  const form = wildcard ? 'a host name or *.suffix, with an optional :port (1-65535)' : 'a host name with an optional :port (1-65535)';
  return [issue(path, `${quote(host)} is not ${form}`)];
}

function subsetText(s: Subset): string {
  return Object.keys(s).sort().map((k) => `${k}=${s[k]}`).join(',');
}

/** Issues for a reference to a service (a destination or the mirror) and its subset. */
function checkServiceRef(out: Issue[], ref: ServiceRef & { subset?: Subset }, path: string, ctx: RouteContext): void {
  const key = serviceKeyOf(ref);
  const svc = ctx.services.get(key);
  if (!svc) return void out.push(issue(path, `service ${key} does not exist`));
  if (svc.protocol === 'tcp') out.push(issue(path, `service ${key} speaks tcp, which HTTP routes cannot send to`));
  const subset = ref.subset ?? {};
  if (Object.keys(subset).length === 0) return;
  const labels = checkLabels(subset, at(path, 'subset'));
  if (labels.length > 0) return void out.push(...labels);
  const selects = svc.endpointLabels.some((l) => Object.entries(subset).every(([k, v]) => l[k] === v));
  if (!selects) out.push(issue(at(path, 'subset'), `subset "${subsetText(subset)}" selects no endpoint of service ${key}`));
}

function checkDestinations(out: Issue[], dests: Destination[], ctx: RouteContext): void {
  if (dests.length === 0) return void out.push(issue('destinations', 'must list at least one destination'));
  const seen = new Map<string, number>();
  let sum = 0;
  dests.forEach((d, i) => {
    const p = `destinations[${i}]`;
    int(out, d.weight, at(p, 'weight'), 0, 100);
    sum += d.weight;
    checkServiceRef(out, d, p, ctx);
    const key = `${serviceKeyOf(d)} ${subsetText(d.subset ?? {})}`;
    const first = seen.get(key);
    if (first !== undefined) out.push(issue(p, `repeats destinations[${first}] (same service and subset)`));
    else seen.set(key, i);
  });
  if (Number.isFinite(sum) && sum !== 100) out.push(issue('destinations', `weights must add up to 100; they add up to ${sum}`));
}

/** A list that a retry condition needs (status codes, header matches): present exactly when the condition is, and not empty. */
function checkRetryList<K extends 'retriableStatusCodes' | 'retriableHeaders'>(
  out: Issue[],
  r: RetryPolicy,
  key: K,
  condition: string,
  each: (item: NonNullable<RetryPolicy[K]>[number], path: string) => void,
): void {
  const path = `retries.${key}`;
  const list = r[key];
  const wanted = r.retryOn.includes(condition);
  if (!list) return void (wanted && out.push(issue(path, `is required by the retry condition ${condition}`)));
  if (!wanted) return void out.push(issue(path, `applies only with the retry condition ${condition}`));
  if (list.length === 0) return void out.push(issue(path, 'must not be empty'));
  list.forEach((item, i) => each(item as NonNullable<RetryPolicy[K]>[number], `${path}[${i}]`));
}

function checkRetries(out: Issue[], r: RetryPolicy): void {
  int(out, r.attempts, 'retries.attempts', 0, 10);
  millis(out, r.perTryTimeoutMs, 'retries.perTryTimeoutMs');
  const known: readonly string[] = RETRY_ON;
  checkUnique(out, r.retryOn, 'retries.retryOn', (v, p) => (known.includes(v) ? [] : [issue(p, `${quote(v)} is not a retry condition (one of ${RETRY_ON.join(', ')})`)]));
  if (r.attempts > 0 && r.retryOn.length === 0) out.push(issue('retries.retryOn', 'names no condition, so nothing would be retried'));
  checkRetryList(out, r, 'retriableStatusCodes', 'retriable-status-codes', (code, p) => int(out, code, p, 100, 599));
  checkRetryList(out, r, 'retriableHeaders', 'retriable-headers', (h, p) => out.push(...checkMatchHeaderName(h.name, at(p, 'name')), ...checkStringMatch(h, p, true)));
  if (r.backoff) {
    millis(out, r.backoff.baseMs, 'retries.backoff.baseMs');
    millis(out, r.backoff.maxMs, 'retries.backoff.maxMs');
    const { baseMs, maxMs } = r.backoff;
    if (maxMs !== undefined && maxMs < baseMs) out.push(issue('retries.backoff.maxMs', `must be at least baseMs (${baseMs})`));
  }
}

function checkFault(out: Issue[], f: FaultPolicy): void {
  if (!f.delay && !f.abort) out.push(issue('fault', 'needs delay or abort'));
  if (f.delay) {
    millis(out, f.delay.fixedMs, 'fault.delay.fixedMs');
    percent(out, f.delay.percent, 'fault.delay.percent');
  }
  if (f.abort) {
    exactlyOne(out, given(f.abort, ['httpStatus', 'grpcStatus']), ['httpStatus', 'grpcStatus'], 'fault.abort');
    int(out, f.abort.httpStatus, 'fault.abort.httpStatus', 200, 599);
    int(out, f.abort.grpcStatus, 'fault.abort.grpcStatus', 0, 16);
    percent(out, f.abort.percent, 'fault.abort.percent');
  }
}

function checkRewrite(out: Issue[], r: RewritePolicy): void {
  if (r.prefix !== undefined && r.regex !== undefined) out.push(issue('rewrite', 'has prefix and regex; give at most one'));
  if (r.prefix !== undefined && !r.prefix.startsWith('/')) out.push(issue('rewrite.prefix', 'must start with "/"'));
  if (r.host !== undefined) out.push(...checkHost(r.host, 'rewrite.host', false));
  if (!r.regex) return;
  const parsed = parseRe2(r.regex.pattern, 'rewrite.regex.pattern');
  if (!parsed.ok) return void out.push(...parsed.issues);
  // RE2::Rewrite: `\` is followed by a digit (a group) or another `\`.
  for (const [, esc = ''] of r.regex.substitution.matchAll(/\\(.?)/gs)) {
    if (/[0-9]/.test(esc) && Number(esc) > parsed.value.groups) {
      out.push(issue('rewrite.regex.substitution', `refers to group \\${esc}, but the pattern has ${parsed.value.groups} capture group(s)`));
    } else if (!/[0-9\\]/.test(esc)) out.push(issue('rewrite.regex.substitution', `has \\${esc}; a backslash must be followed by a digit (a group) or another backslash`));
  }
}

function checkRedirect(out: Issue[], r: RedirectPolicy): void {
  if (given(r, ['scheme', 'host', 'port', 'path', 'prefix']).length === 0 && !r.stripQuery) out.push(issue('redirect', 'changes nothing, so clients would loop'));
  if (r.scheme !== undefined && r.scheme !== 'http' && r.scheme !== 'https') out.push(issue('redirect.scheme', 'must be http or https'));
  if (r.host !== undefined && !isHostname(r.host)) out.push(issue('redirect.host', `${quote(r.host)} is not a host name (a port goes in redirect.port)`));
  int(out, r.port, 'redirect.port', 1, 65535);
  if (r.path !== undefined && r.prefix !== undefined) out.push(issue('redirect', 'has path and prefix; give at most one'));
  for (const k of ['path', 'prefix'] as const) {
    const v = r[k];
    if (v !== undefined && !v.startsWith('/')) out.push(issue(at('redirect', k), 'must start with "/"'));
  }
  if (r.statusCode !== undefined && !REDIRECT_CODES.includes(r.statusCode)) out.push(issue('redirect.statusCode', `must be one of ${REDIRECT_CODES.join(', ')}`));
}

function checkCors(out: Issue[], c: CorsPolicy): void {
  if (c.allowOrigins.length === 0) out.push(issue('cors.allowOrigins', 'must list at least one origin'));
  c.allowOrigins.forEach((o, i) => out.push(...checkStringMatch(o, `cors.allowOrigins[${i}]`)));
  checkUnique(out, c.allowMethods, 'cors.allowMethods', (v, p) => (TOKEN.test(v) ? [] : [issue(p, `${quote(v)} is not a valid HTTP method`)]));
  for (const k of ['allowHeaders', 'exposeHeaders'] as const) {
    checkUnique(out, c[k], `cors.${k}`, (v, p) => (TOKEN.test(v) ? [] : [issue(p, `${quote(v)} is not a valid header name`)]), (v) => v.toLowerCase());
  }
  int(out, c.maxAgeSeconds, 'cors.maxAgeSeconds', 0, UINT32_MAX);
}

/** Issues for a local rate limit (a route's or a service's). */
export function checkRateLimit(r: RateLimitPolicy, path: string): Issue[] {
  const out: Issue[] = [];
  int(out, r.maxTokens, at(path, 'maxTokens'), 1, UINT32_MAX);
  int(out, r.tokensPerFill, at(path, 'tokensPerFill'), 1, UINT32_MAX);
  millis(out, r.fillIntervalMs, at(path, 'fillIntervalMs'), MIN_FILL_INTERVAL_MS);
  if (r.status !== undefined && !ENVOY_ERROR_STATUS_CODES.includes(r.status)) {
    out.push(issue(at(path, 'status'), `must be a 4xx or 5xx code Envoy names (e.g. 429, 503); ${r.status} is not one`));
  }
  checkHeaderMap(out, r.responseHeaders, at(path, 'responseHeaders'));
  return out;
}

/** The one action a route takes, and issues when it has none or several. */
function checkAction(out: Issue[], spec: RouteSpec): void {
  const actions = given(spec, ['destinations', 'redirect', 'directResponse']);
  if (actions.length === 0) out.push(issue('destinations', 'a route needs one of destinations, redirect and directResponse'));
  else if (actions.length > 1) out.push(issue(actions[1]!, `cannot be combined with ${actions[0]}; give exactly one of destinations, redirect and directResponse`));
  if (spec.destinations || actions.length === 0) return;
  if (spec.hosts.length === 0) out.push(issue('hosts', `a route with ${actions[0]} must claim hosts: it has no destination services to take them from`));
  // These are fields of Envoy's RouteAction, which a redirect or a direct response does not have.
  for (const k of ['timeoutMs', 'retries', 'mirror', 'rewrite'] as const) {
    if (spec[k] !== undefined) out.push(issue(k, 'applies only to routes with destinations'));
  }
}

/** A host that is a TCP service's (`<name>.<namespace>`, any port) has no HTTP virtual host for a route to join. */
function checkNotTcpHost(out: Issue[], host: string, path: string, ctx: RouteContext): void {
  const hostname = host.toLowerCase().replace(/:\d+$/, '');
  for (const [key, svc] of ctx.services) {
    const ref = serviceRefOfKey(key);
    if (svc.protocol === 'tcp' && ref && hostname === serviceHost(ref)) {
      return void out.push(issue(path, `is the host of service ${key}, which speaks tcp: HTTP routes cannot apply to it`));
    }
  }
}

/** Issues for a route, its services looked up in `ctx`; paths are relative to the spec. */
export function checkRoute(spec: RouteSpec, ctx: RouteContext): Issue[] {
  const out: Issue[] = [];
  checkAction(out, spec);
  checkUnique(out, spec.hosts, 'hosts', (h, p) => checkHost(h, p), (h) => h.toLowerCase());
  spec.hosts.forEach((h, i) => checkNotTcpHost(out, h, `hosts[${i}]`, ctx));
  int(out, spec.priority, 'priority', -MAX_PRIORITY, MAX_PRIORITY);
  checkMatch(out, spec.match);
  if (spec.destinations) checkDestinations(out, spec.destinations, ctx);
  if (spec.redirect) checkRedirect(out, spec.redirect);
  if (spec.directResponse) {
    int(out, spec.directResponse.status, 'directResponse.status', 200, 599);
    const bytes = new TextEncoder().encode(spec.directResponse.body ?? '').length;
    if (bytes > MAX_DIRECT_BODY_BYTES) out.push(issue('directResponse.body', `is ${bytes} bytes; the limit is ${MAX_DIRECT_BODY_BYTES}`));
  }
  millis(out, spec.timeoutMs, 'timeoutMs', 0);
  if (spec.retries) checkRetries(out, spec.retries);
  if (spec.fault) checkFault(out, spec.fault);
  if (spec.mirror) {
    checkServiceRef(out, spec.mirror, 'mirror', ctx);
    percent(out, spec.mirror.percent, 'mirror.percent');
  }
  checkHeaderOps(out, spec.requestHeaders, 'requestHeaders');
  checkHeaderOps(out, spec.responseHeaders, 'responseHeaders');
  if (spec.rewrite) checkRewrite(out, spec.rewrite);
  if (spec.cors) checkCors(out, spec.cors);
  if (spec.rateLimit) out.push(...checkRateLimit(spec.rateLimit, 'rateLimit'));
  if (spec.tracing) percent(out, spec.tracing.samplePercent, 'tracing.samplePercent');
  return out;
}

function checkHashPolicy(out: Issue[], h: HashPolicy, path: string): void {
  const forms = given(h, ['header', 'cookie', 'queryParameter']);
  if (h.sourceIp) forms.push('sourceIp');
  exactlyOne(out, forms, ['header', 'cookie', 'sourceIp', 'queryParameter'], path);
  if (h.header !== undefined) out.push(...checkMatchHeaderName(h.header, at(path, 'header')));
  if (h.cookie) {
    if (!TOKEN.test(h.cookie.name)) out.push(issue(at(path, 'cookie.name'), `${quote(h.cookie.name)} is not a valid cookie name`));
    int(out, h.cookie.ttlSeconds, at(path, 'cookie.ttlSeconds'), 0, UINT32_MAX);
    if (h.cookie.path !== undefined && !h.cookie.path.startsWith('/')) out.push(issue(at(path, 'cookie.path'), 'must start with "/"'));
  }
  if (h.queryParameter === '') out.push(issue(at(path, 'queryParameter'), 'must not be empty'));
}

function checkLoadBalancer(out: Issue[], lb: LoadBalancerPolicy, path: string): void {
  const hashing = lb.algorithm === 'ring_hash' || lb.algorithm === 'maglev';
  if (!['round_robin', 'least_request', 'random', 'ring_hash', 'maglev'].includes(lb.algorithm)) {
    out.push(issue(at(path, 'algorithm'), 'must be one of round_robin, least_request, random, ring_hash, maglev'));
  }
  if (lb.hashOn && !hashing) out.push(issue(at(path, 'hashOn'), 'applies only to ring_hash and maglev'));
  lb.hashOn?.forEach((h, i) => checkHashPolicy(out, h, `${at(path, 'hashOn')}[${i}]`));
  if (lb.ringSize) {
    const p = at(path, 'ringSize');
    if (lb.algorithm !== 'ring_hash') out.push(issue(p, 'applies only to ring_hash'));
    int(out, lb.ringSize.min, at(p, 'min'), 1, MAX_RING_SIZE);
    int(out, lb.ringSize.max, at(p, 'max'), 1, MAX_RING_SIZE);
    const { min, max } = lb.ringSize;
    if (min !== undefined && max !== undefined && min > max) out.push(issue(at(p, 'min'), `must not exceed max (${max})`));
  }
  if (lb.choiceCount !== undefined && lb.algorithm !== 'least_request') out.push(issue(at(path, 'choiceCount'), 'applies only to least_request'));
  int(out, lb.choiceCount, at(path, 'choiceCount'), 2, UINT32_MAX);
  if (lb.zoneAware) {
    // Envoy's hashing balancers know no zone-aware routing; the maglev extension has no field for it.
    if (hashing) out.push(issue(at(path, 'zoneAware'), 'applies only to round_robin, least_request and random'));
    int(out, lb.zoneAware.minClusterSize, at(path, 'zoneAware.minClusterSize'), 0, UINT32_MAX);
    percent(out, lb.zoneAware.routingEnabledPercent, at(path, 'zoneAware.routingEnabledPercent'));
  }
}

function checkHealthCheck(out: Issue[], hc: HealthCheckPolicy, path: string): void {
  exactlyOne(out, given(hc, ['http', 'grpc', 'tcp']), ['http', 'grpc', 'tcp'], path);
  if (hc.http) {
    const p = at(path, 'http');
    if (!hc.http.path.startsWith('/')) out.push(issue(at(p, 'path'), 'must start with "/"'));
    if (hc.http.host !== undefined) out.push(...checkHost(hc.http.host, at(p, 'host'), false));
    hc.http.expectedStatuses?.forEach((r, i) => {
      const q = `${at(p, 'expectedStatuses')}[${i}]`;
      int(out, r.start, at(q, 'start'), 100, 599);
      int(out, r.end, at(q, 'end'), 100, 599);
      if (r.end < r.start) out.push(issue(at(q, 'end'), `must not be less than start (${r.start}); the range includes both ends`));
    });
  }
  millis(out, hc.intervalMs, at(path, 'intervalMs'));
  millis(out, hc.timeoutMs, at(path, 'timeoutMs'));
  int(out, hc.healthyThreshold, at(path, 'healthyThreshold'), 1, UINT32_MAX);
  int(out, hc.unhealthyThreshold, at(path, 'unhealthyThreshold'), 1, UINT32_MAX);
}

/** Issues for a service's traffic policy; paths start with `path` (e.g. `body.trafficPolicy`). */
export function checkTrafficPolicy(policy: TrafficPolicy, path: string): Issue[] {
  const out: Issue[] = [];
  if (policy.loadBalancer) checkLoadBalancer(out, policy.loadBalancer, at(path, 'loadBalancer'));
  const pool = policy.connectionPool ?? {};
  for (const k of ['maxConnections', 'maxPendingRequests', 'maxRequests', 'maxRetries'] as const) {
    int(out, pool[k], at(at(path, 'connectionPool'), k), 1, UINT32_MAX);
  }
  const od = policy.outlierDetection;
  if (od) {
    const p = at(path, 'outlierDetection');
    int(out, od.consecutive5xx, at(p, 'consecutive5xx'), 1, UINT32_MAX);
    int(out, od.consecutiveGatewayErrors, at(p, 'consecutiveGatewayErrors'), 1, UINT32_MAX);
    millis(out, od.intervalMs, at(p, 'intervalMs'));
    millis(out, od.baseEjectionTimeMs, at(p, 'baseEjectionTimeMs'));
    // Envoy's max_ejection_percent is a whole number (UInt32Value).
    int(out, od.maxEjectionPercent, at(p, 'maxEjectionPercent'), 0, 100);
    if (od.failurePercentage) {
      const f = at(p, 'failurePercentage');
      int(out, od.failurePercentage.threshold, at(f, 'threshold'), 0, 100);
      int(out, od.failurePercentage.minimumHosts, at(f, 'minimumHosts'), 1, UINT32_MAX);
      int(out, od.failurePercentage.requestVolume, at(f, 'requestVolume'), 1, UINT32_MAX);
    }
  }
  if (policy.healthCheck) checkHealthCheck(out, policy.healthCheck, at(path, 'healthCheck'));
  if (policy.rateLimit) out.push(...checkRateLimit(policy.rateLimit, at(path, 'rateLimit')));
  return out;
}

/**
 * A canonical text of a match, read as Envoy reads it (src/envoy/route-match.ts writes it so): a
 * missing path is prefix "/", case sensitivity is true unless told and moot for a regex, a header
 * `present: false` is an inverted presence test, and the order of headers, query and methods is moot.
 */
function matchKey(m: RouteMatch): string {
  const p = m.path ?? { prefix: '/' };
  const path = { prefix: p.prefix, exact: p.exact, regex: p.regex, caseSensitive: p.regex === undefined ? (p.caseSensitive ?? true) : true };
  const str = (s: StringMatch) => ({ exact: s.exact, prefix: s.prefix, suffix: s.suffix, regex: s.regex, ignoreCase: s.ignoreCase ?? false });
  const headers = (m.headers ?? []).map((h) => {
    const presence = h.present !== undefined && given(h, ['exact', 'prefix', 'suffix', 'regex']).length === 0;
    const invert = presence ? (h.present === false) !== Boolean(h.invert) : Boolean(h.invert);
    return JSON.stringify({ name: h.name, ...str(h), present: presence ? true : h.present, invert });
  });
  const query = (m.query ?? []).map((q) => JSON.stringify({ name: q.name, ...str(q), present: q.present }));
  const sorted = (xs: string[]) => [...new Set(xs)].sort();
  return JSON.stringify([path, sorted(headers), sorted(query), sorted(m.methods ?? [])]);
}

/**
 * Pairs of routes that Envoy could not tell apart: a common host, the same priority and an equal
 * match (a missing path counts as prefix "/"). Names are `<namespace>/<name>`, `a` before `b`.
 */
export function routeConflicts(routes: RouteSpec[]): { a: string; b: string; host: string }[] {
  const groups = new Map<string, RouteSpec[]>();
  for (const r of routes) {
    const key = `${r.priority} ${matchKey(r.match)}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out: { a: string; b: string; host: string }[] = [];
  for (const group of groups.values()) {
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        const [a, b] = [serviceKeyOf(group[i]!), serviceKeyOf(group[j]!)].sort() as [string, string];
        const hosts = new Set(group[i]!.hosts.map((h) => h.toLowerCase()));
        const common = group[j]!.hosts.map((h) => h.toLowerCase()).filter((h) => hosts.has(h)).sort();
        if (a !== b && common[0] !== undefined) out.push({ a, b, host: common[0] });
      }
    }
  }
  return out.sort((x, y) => (x.a === y.a ? (x.b < y.b ? -1 : x.b > y.b ? 1 : 0) : x.a < y.a ? -1 : 1));
}
