import { describe, expect, it } from 'vitest';
import type { Issue } from '../lib/result.ts';
import type { RouteSpec, TrafficPolicy } from './traffic.ts';
import { checkRoute, checkTrafficPolicy, ENVOY_ERROR_STATUS_CODES, routeConflicts, type RouteContext } from './traffic-validate.ts';
import { messageType } from '../protos/loader.ts';

const ctx: RouteContext = {
  services: new Map<string, { port: number; protocol: string; endpointLabels: Record<string, string>[] }>([
    ['shop/cart', { port: 8080, protocol: 'http', endpointLabels: [{ version: 'v1' }, { version: 'v2', zone: 'a' }] }],
    ['shop/cart-canary', { port: 8080, protocol: 'http2', endpointLabels: [{}] }],
    ['shop/shadow', { port: 9090, protocol: 'grpc', endpointLabels: [{ track: 'mirror' }] }],
    ['shop/db', { port: 5432, protocol: 'tcp', endpointLabels: [{}] }],
  ]),
};

/** A route with every feature on (destinations as its action). */
function fullRoute(): RouteSpec {
  return {
    namespace: 'shop',
    name: 'cart-api',
    hosts: ['cart.example.com', '*.cart.example.com:8443'],
    priority: 10,
    match: {
      path: { prefix: '/api/', caseSensitive: false },
      headers: [
        { name: 'x-user', prefix: 'beta-', ignoreCase: true },
        { name: ':method', exact: 'GET' },
        { name: 'x-debug', present: true, invert: true },
        { name: 'x-trace', regex: '[0-9a-f]{32}' },
      ],
      query: [{ name: 'v', exact: '2' }, { name: 'preview', present: true }],
      methods: ['GET', 'POST'],
    },
    destinations: [
      { namespace: 'shop', name: 'cart', subset: { version: 'v1' }, weight: 70 },
      { namespace: 'shop', name: 'cart', subset: { version: 'v2' }, weight: 25 },
      { namespace: 'shop', name: 'cart-canary', weight: 5 },
    ],
    timeoutMs: 15_000,
    retries: { attempts: 3, perTryTimeoutMs: 2000, retryOn: ['5xx', 'reset', 'unavailable'], backoff: { baseMs: 25, maxMs: 250 } },
    fault: { delay: { fixedMs: 100, percent: 0.5 }, abort: { httpStatus: 503, percent: 1 } },
    mirror: { namespace: 'shop', name: 'shadow', subset: { track: 'mirror' }, percent: 10 },
    requestHeaders: { set: { 'x-route': 'cart-api' }, add: { 'x-forwarded-by': 'mesh %HOSTNAME%' }, remove: ['x-internal'] },
    responseHeaders: { set: { 'cache-control': 'no-store' }, add: { 'x-discount': '10%%' }, remove: ['server'] },
    rewrite: { regex: { pattern: '^/api/v[0-9]+/(.*)$', substitution: '/\\1' }, host: 'cart.internal:8080' },
    cors: {
      allowOrigins: [{ exact: 'https://shop.example.com' }, { regex: 'https://[a-z]+\\.example\\.com' }],
      allowMethods: ['GET', 'POST'],
      allowHeaders: ['content-type', 'X-Token'],
      exposeHeaders: ['x-request-id'],
      maxAgeSeconds: 600,
      allowCredentials: true,
    },
    rateLimit: { maxTokens: 100, tokensPerFill: 10, fillIntervalMs: 1000, status: 429, responseHeaders: { 'retry-after': '1' } },
    tracing: { samplePercent: 12.5 },
  };
}

/** A redirect route: no destinations and none of the RouteAction fields. */
function redirectRoute(): RouteSpec {
  const { destinations: _d, timeoutMs: _t, retries: _r, mirror: _m, rewrite: _w, ...rest } = fullRoute();
  return { ...rest, redirect: { scheme: 'https', host: 'shop.example.com', port: 443, prefix: '/v2/', statusCode: 308, stripQuery: true } };
}

function directRoute(): RouteSpec {
  const { redirect: _r, ...rest } = redirectRoute();
  return { ...rest, directResponse: { status: 404, body: 'no such cart' } };
}

const is = (path: string, message: string): Issue => ({ path, message });

describe('checkRoute', () => {
  it.each([
    ['destinations', fullRoute],
    ['a redirect', redirectRoute],
    ['a direct response', directRoute],
  ])('finds nothing wrong with a route with every feature on and %s', (_, make) => {
    expect(checkRoute(make(), ctx)).toEqual([]);
  });

  it.each([
    ['a redirect', redirectRoute, 'redirect'],
    ['a direct response', directRoute, 'directResponse'],
  ])('wants hosts on a route with %s (no destination to take them from)', (_, make, action) => {
    expect(checkRoute({ ...make(), hosts: [] }, ctx)).toEqual([is('hosts', `a route with ${action} must claim hosts: it has no destination services to take them from`)]);
  });

  it.each([0, 0.0001, 100])('accepts tracing %s %% on any action (a Route field, not a RouteAction one)', (samplePercent) => {
    for (const make of [fullRoute, redirectRoute, directRoute]) expect(checkRoute({ ...make(), tracing: { samplePercent } }, ctx)).toEqual([]);
  });

  it('finds nothing wrong with a minimal route', () => {
    const r: RouteSpec = { namespace: 'shop', name: 'r', hosts: [], priority: 0, match: {}, destinations: [{ namespace: 'shop', name: 'cart', weight: 100 }] };
    expect(checkRoute(r, ctx)).toEqual([]);
  });

  const ONE_ACTION = 'cannot be combined with destinations; give exactly one of destinations, redirect and directResponse';
  const PATH_FORMS = 'prefix, exact, regex';
  const HEADER_FORMS = 'exact, prefix, suffix, regex, present';

  it.each<[string, (r: RouteSpec) => void, Issue[]]>([
    // The action.
    ['no action', (r) => void delete r.destinations, [is('destinations', 'a route needs one of destinations, redirect and directResponse')]],
    ['destinations and a redirect', (r) => (r.redirect = { scheme: 'https' }), [is('redirect', ONE_ACTION)]],
    ['destinations and a direct response', (r) => (r.directResponse = { status: 200 }), [is('directResponse', ONE_ACTION)]],
    ['no destinations', (r) => (r.destinations = []), [is('destinations', 'must list at least one destination')]],
    ['a fractional weight', (r) => (r.destinations![2]!.weight = 4.5), [is('destinations[2].weight', 'must be an integer from 0 to 100'), is('destinations', 'weights must add up to 100; they add up to 99.5')]],
    ['a weight over 100', (r) => (r.destinations = [{ namespace: 'shop', name: 'cart', weight: 101 }]), [is('destinations[0].weight', 'must be an integer from 0 to 100'), is('destinations', 'weights must add up to 100; they add up to 101')]],
    ['weights that do not add up', (r) => (r.destinations![0]!.weight = 60), [is('destinations', 'weights must add up to 100; they add up to 90')]],
    ['a repeated destination', (r) => (r.destinations![1]!.subset = { version: 'v1' }), [is('destinations[1]', 'repeats destinations[0] (same service and subset)')]],
    ['a repeated destination, subset keys in another order', (r) => {
      r.destinations = [
        { namespace: 'shop', name: 'cart', subset: { version: 'v2', zone: 'a' }, weight: 50 },
        { namespace: 'shop', name: 'cart', subset: { zone: 'a', version: 'v2' }, weight: 50 },
      ];
    }, [is('destinations[1]', 'repeats destinations[0] (same service and subset)')]],
    ['a missing service', (r) => (r.destinations![2]!.name = 'gone'), [is('destinations[2]', 'service shop/gone does not exist')]],
    ['a tcp service', (r) => (r.destinations![2]!.name = 'db'), [is('destinations[2]', 'service shop/db speaks tcp, which HTTP routes cannot send to')]],
    ['a subset that selects nothing', (r) => (r.destinations![1]!.subset = { version: 'v3', zone: 'a' }), [is('destinations[1].subset', 'subset "version=v3,zone=a" selects no endpoint of service shop/cart')]],
    ['a subset with a bad label key', (r) => (r.destinations![1]!.subset = { 'bad key': 'x' }), [is('destinations[1].subset.bad key', 'is not a valid label key')]],
    // Hosts and priority.
    ['a bad host', (r) => (r.hosts = ['cart_example.com']), [is('hosts[0]', '"cart_example.com" is not a host name or *.suffix, with an optional :port (1-65535)')]],
    ['a tcp service\'s host', (r) => (r.hosts = ['cart.shop', 'DB.shop:5432']), [is('hosts[1]', 'is the host of service shop/db, which speaks tcp: HTTP routes cannot apply to it')]],
    ['a bare * host', (r) => (r.hosts = ['*']), [is('hosts[0]', '"*" is not a host name or *.suffix, with an optional :port (1-65535)')]],
    ['a host with port 0', (r) => (r.hosts = ['cart.example.com:0']), [is('hosts[0]', '"cart.example.com:0" is not a host name or *.suffix, with an optional :port (1-65535)')]],
    ['a repeated host', (r) => r.hosts.push('Cart.Example.com'), [is('hosts[2]', 'repeats hosts[0] ("Cart.Example.com")')]],
    ['a priority out of range', (r) => (r.priority = -1_000_001), [is('priority', 'must be an integer from -1000000 to 1000000')]],
    ['a fractional priority', (r) => (r.priority = 1.5), [is('priority', 'must be an integer from -1000000 to 1000000')]],
    // The match.
    ['a path with two forms', (r) => (r.match.path = { prefix: '/a', exact: '/a' }), [is('match.path', `has prefix and exact; give exactly one of ${PATH_FORMS}`)]],
    ['a path with no form', (r) => (r.match.path = { caseSensitive: true }), [is('match.path', `needs one of ${PATH_FORMS}`)]],
    ['a prefix without /', (r) => (r.match.path = { prefix: 'api' }), [is('match.path.prefix', 'must start with "/"')]],
    ['an exact path without /', (r) => (r.match.path = { exact: 'api' }), [is('match.path.exact', 'must start with "/"')]],
    ['a path regex with caseSensitive false', (r) => (r.match.path = { regex: '/api/.*', caseSensitive: false }), [is('match.path.caseSensitive', 'has no effect on a regex (start it with (?i))')]],
    ['a path regex RE2 rejects', (r) => (r.match.path = { regex: '/(?=a)' }), [is('match.path.regex', '"/(?=a)" is not a valid RE2 regular expression: lookahead assertions (?= and (?! are not supported')]],
    ['a header with two forms', (r) => (r.match.headers![0]!.present = true), [is('match.headers[0]', `has prefix and present; give exactly one of ${HEADER_FORMS}`)]],
    ['a header with no form', (r) => (r.match.headers![1] = { name: 'x-a' }), [is('match.headers[1]', `needs one of ${HEADER_FORMS}`)]],
    ['a header with an empty suffix', (r) => (r.match.headers![1] = { name: 'x-a', suffix: '' }), [is('match.headers[1].suffix', 'must not be empty')]],
    ['a header regex RE2 rejects', (r) => (r.match.headers![3]!.regex = '(a)\\1'), [is('match.headers[3].regex', '"(a)\\1" is not a valid RE2 regular expression: backreferences (\\1) are not supported')]],
    ['ignoreCase on a regex', (r) => (r.match.headers![3]!.ignoreCase = true), [is('match.headers[3].ignoreCase', 'applies only to exact, prefix and suffix (a regex can start with (?i))')]],
    ['an upper-case header name', (r) => (r.match.headers![0]!.name = 'X-User'), [is('match.headers[0].name', '"X-User" must be lower-case')]],
    ['a header name that is no token', (r) => (r.match.headers![0]!.name = 'x user'), [is('match.headers[0].name', '"x user" is not a valid header name (letters, digits and !#$%&\'*+-.^_`|~)')]],
    ['a pseudo-header that cannot be matched', (r) => (r.match.headers![1]!.name = ':scheme'), [is('match.headers[1].name', '":scheme" is a pseudo-header that cannot be matched (only :authority, :method and :path can)')]],
    ['a query matcher with two forms', (r) => (r.match.query![0]!.regex = '[0-9]'), [is('match.query[0]', `has exact and regex; give exactly one of ${HEADER_FORMS}`)]],
    ['a query matcher with no name', (r) => (r.match.query![1]!.name = ''), [is('match.query[1].name', 'must not be empty')]],
    ['a method that is no token', (r) => r.match.methods!.push('GET POST'), [is('match.methods[2]', '"GET POST" is not a valid HTTP method')]],
    ['a repeated method', (r) => r.match.methods!.push('GET'), [is('match.methods[2]', 'repeats match.methods[0] ("GET")')]],
    // Timeouts and retries.
    ['a negative timeout', (r) => (r.timeoutMs = -1), [is('timeoutMs', 'must be a whole number of milliseconds from 0 to 86400000 (24 h)')]],
    ['a timeout over a day', (r) => (r.timeoutMs = 86_400_001), [is('timeoutMs', 'must be a whole number of milliseconds from 0 to 86400000 (24 h)')]],
    ['too many retries', (r) => (r.retries!.attempts = 11), [is('retries.attempts', 'must be an integer from 0 to 10')]],
    ['a zero per-try timeout', (r) => (r.retries!.perTryTimeoutMs = 0), [is('retries.perTryTimeoutMs', 'must be a whole number of milliseconds from 1 to 86400000 (24 h)')]],
    ['an unknown retry condition', (r) => r.retries!.retryOn.push('5xx-ish'), [is('retries.retryOn[3]', '"5xx-ish" is not a retry condition (one of 5xx, gateway-error, reset, connect-failure, envoy-ratelimited, retriable-4xx, refused-stream, retriable-status-codes, retriable-headers, http3-post-connect-failure, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable)')]],
    ['a repeated retry condition', (r) => r.retries!.retryOn.push('reset'), [is('retries.retryOn[3]', 'repeats retries.retryOn[1] ("reset")')]],
    ['retriable status codes without their condition', (r) => (r.retries!.retriableStatusCodes = [503]), [is('retries.retriableStatusCodes', 'applies only with the retry condition retriable-status-codes')]],
    ['the retriable-status-codes condition without codes', (r) => r.retries!.retryOn.push('retriable-status-codes'), [is('retries.retriableStatusCodes', 'is required by the retry condition retriable-status-codes')]],
    ['a retriable status code out of range', (r) => {
      r.retries!.retryOn.push('retriable-status-codes');
      r.retries!.retriableStatusCodes = [503, 99];
    }, [is('retries.retriableStatusCodes[1]', 'must be an integer from 100 to 599')]],
    ['an empty list of retriable status codes', (r) => {
      r.retries!.retryOn.push('retriable-status-codes');
      r.retries!.retriableStatusCodes = [];
    }, [is('retries.retriableStatusCodes', 'must not be empty')]],
    ['the retriable-headers condition without headers', (r) => r.retries!.retryOn.push('retriable-headers'), [is('retries.retriableHeaders', 'is required by the retry condition retriable-headers')]],
    ['a retriable header with an upper-case name', (r) => {
      r.retries!.retryOn.push('retriable-headers');
      r.retries!.retriableHeaders = [{ name: 'X-Retry', present: true }];
    }, [is('retries.retriableHeaders[0].name', '"X-Retry" must be lower-case')]],
    ['retries with no condition', (r) => (r.retries!.retryOn = []), [is('retries.retryOn', 'names no condition, so nothing would be retried')]],
    ['a zero backoff', (r) => (r.retries!.backoff = { baseMs: 0 }), [is('retries.backoff.baseMs', 'must be a whole number of milliseconds from 1 to 86400000 (24 h)')]],
    ['a backoff max below its base', (r) => (r.retries!.backoff = { baseMs: 100, maxMs: 50 }), [is('retries.backoff.maxMs', 'must be at least baseMs (100)')]],
    // Faults and mirroring.
    ['a fault with neither delay nor abort', (r) => (r.fault = {}), [is('fault', 'needs delay or abort')]],
    ['a fault percent over 100', (r) => (r.fault!.delay!.percent = 100.5), [is('fault.delay.percent', 'must be a percentage from 0 to 100')]],
    ['a zero fault delay', (r) => (r.fault!.delay!.fixedMs = 0), [is('fault.delay.fixedMs', 'must be a whole number of milliseconds from 1 to 86400000 (24 h)')]],
    ['an abort with both statuses', (r) => (r.fault!.abort!.grpcStatus = 14), [is('fault.abort', 'has httpStatus and grpcStatus; give exactly one of httpStatus, grpcStatus')]],
    ['an abort with no status', (r) => (r.fault!.abort = { percent: 5 }), [is('fault.abort', 'needs one of httpStatus, grpcStatus')]],
    ['an abort with HTTP status 199', (r) => (r.fault!.abort!.httpStatus = 199), [is('fault.abort.httpStatus', 'must be an integer from 200 to 599')]],
    ['an abort with gRPC status 17', (r) => (r.fault!.abort = { grpcStatus: 17, percent: 1 }), [is('fault.abort.grpcStatus', 'must be an integer from 0 to 16')]],
    ['an abort percent below 0', (r) => (r.fault!.abort!.percent = -1), [is('fault.abort.percent', 'must be a percentage from 0 to 100')]],
    ['a mirror to a missing service', (r) => (r.mirror!.name = 'gone'), [is('mirror', 'service shop/gone does not exist')]],
    ['a mirror subset that selects nothing', (r) => (r.mirror!.subset = { track: 'x' }), [is('mirror.subset', 'subset "track=x" selects no endpoint of service shop/shadow')]],
    ['a mirror percent over 100', (r) => (r.mirror!.percent = 101), [is('mirror.percent', 'must be a percentage from 0 to 100')]],
    // Header operations.
    ['setting a pseudo-header', (r) => (r.requestHeaders!.set![':path'] = '/x'), [is('requestHeaders.set.:path', '":path" is a pseudo-header, which cannot be changed')]],
    ['adding host', (r) => (r.requestHeaders!.add!['Host'] = 'x'), [is('requestHeaders.add.Host', '"host" cannot be changed here (use rewrite.host)')]],
    ['removing a header that is no token', (r) => r.responseHeaders!.remove!.push('x y'), [is('responseHeaders.remove[1]', '"x y" is not a valid header name (letters, digits and !#$%&\'*+-.^_`|~)')]],
    ['a header value with a line break', (r) => (r.responseHeaders!.set!['x-a'] = 'a\r\nb'), [is('responseHeaders.set.x-a', 'must not contain CR, LF or NUL')]],
    ['a header value with a lone %', (r) => (r.responseHeaders!.add!['x-discount'] = '10%'), [is('responseHeaders.add.x-discount', 'has a lone % (Envoy reads %NAME% as a variable: write a literal % as %%)')]],
    // Rewrite.
    ['a rewrite with prefix and regex', (r) => (r.rewrite!.prefix = '/'), [is('rewrite', 'has prefix and regex; give at most one')]],
    ['a rewrite prefix without /', (r) => (r.rewrite = { prefix: 'v2/' }), [is('rewrite.prefix', 'must start with "/"')]],
    ['a rewrite regex RE2 rejects', (r) => (r.rewrite!.regex!.pattern = '(?<=/)x'), [is('rewrite.regex.pattern', '"(?<=/)x" is not a valid RE2 regular expression: lookbehind assertions (?<= and (?<! are not supported')]],
    ['a substitution naming a missing group', (r) => (r.rewrite!.regex!.substitution = '/\\2'), [is('rewrite.regex.substitution', 'refers to group \\2, but the pattern has 1 capture group(s)')]],
    ['a substitution with a bad escape', (r) => (r.rewrite!.regex!.substitution = '/\\n'), [is('rewrite.regex.substitution', 'has \\n; a backslash must be followed by a digit (a group) or another backslash')]],
    ['a rewrite host with a wildcard', (r) => (r.rewrite!.host = '*.internal'), [is('rewrite.host', '"*.internal" is not a host name with an optional :port (1-65535)')]],
    // CORS and rate limits.
    ['CORS with no origins', (r) => (r.cors!.allowOrigins = []), [is('cors.allowOrigins', 'must list at least one origin')]],
    ['a CORS origin with two forms', (r) => (r.cors!.allowOrigins[0]!.prefix = 'https://'), [is('cors.allowOrigins[0]', 'has exact and prefix; give exactly one of exact, prefix, suffix, regex')]],
    ['a CORS origin regex RE2 rejects', (r) => (r.cors!.allowOrigins[1]!.regex = 'a{2000}'), [is('cors.allowOrigins[1].regex', '"a{2000}" is not a valid RE2 regular expression: invalid repeat count: {2000}')]],
    ['a repeated CORS header', (r) => r.cors!.allowHeaders!.push('x-token'), [is('cors.allowHeaders[2]', 'repeats cors.allowHeaders[1] ("x-token")')]],
    ['a negative CORS max age', (r) => (r.cors!.maxAgeSeconds = -1), [is('cors.maxAgeSeconds', 'must be an integer from 0 to 4294967295')]],
    ['a rate limit of 0 tokens', (r) => (r.rateLimit!.maxTokens = 0), [is('rateLimit.maxTokens', 'must be an integer from 1 to 4294967295')]],
    ['a rate limit adding 0 tokens', (r) => (r.rateLimit!.tokensPerFill = 0), [is('rateLimit.tokensPerFill', 'must be an integer from 1 to 4294967295')]],
    ['a fill interval under 50 ms', (r) => (r.rateLimit!.fillIntervalMs = 49), [is('rateLimit.fillIntervalMs', 'must be a whole number of milliseconds from 50 to 86400000 (24 h)')]],
    ['a rate limit status of 200', (r) => (r.rateLimit!.status = 200), [is('rateLimit.status', 'must be a 4xx or 5xx code Envoy names (e.g. 429, 503); 200 is not one')]],
    ['a rate limit status Envoy has no name for', (r) => (r.rateLimit!.status = 450), [is('rateLimit.status', 'must be a 4xx or 5xx code Envoy names (e.g. 429, 503); 450 is not one')]],
    ['a rate limit header that is a pseudo-header', (r) => (r.rateLimit!.responseHeaders = { ':status': '429' }), [is('rateLimit.responseHeaders.:status', '":status" is a pseudo-header, which cannot be changed')]],
    // Tracing.
    ['a tracing share above 100 %', (r) => (r.tracing = { samplePercent: 100.5 }), [is('tracing.samplePercent', 'must be a percentage from 0 to 100')]],
    ['a negative tracing share', (r) => (r.tracing = { samplePercent: -1 }), [is('tracing.samplePercent', 'must be a percentage from 0 to 100')]],
    ['a tracing share that is no number', (r) => (r.tracing = { samplePercent: Number.NaN }), [is('tracing.samplePercent', 'must be a percentage from 0 to 100')]],
  ])('reports %s', (_, change, want) => {
    const r = fullRoute();
    change(r);
    expect(checkRoute(r, ctx)).toEqual(want);
  });

  it.each<[string, (r: RouteSpec) => void, Issue[]]>([
    ['a redirect that changes nothing', (r) => (r.redirect = {}), [is('redirect', 'changes nothing, so clients would loop')]],
    ['a redirect that only keeps the query', (r) => (r.redirect = { stripQuery: false, statusCode: 301 }), [is('redirect', 'changes nothing, so clients would loop')]],
    ['a redirect with path and prefix', (r) => (r.redirect!.path = '/x'), [is('redirect', 'has path and prefix; give at most one')]],
    ['a redirect path without /', (r) => (r.redirect = { path: 'x' }), [is('redirect.path', 'must start with "/"')]],
    ['a redirect prefix without /', (r) => (r.redirect = { prefix: 'x' }), [is('redirect.prefix', 'must start with "/"')]],
    ['a redirect to port 0', (r) => (r.redirect!.port = 0), [is('redirect.port', 'must be an integer from 1 to 65535')]],
    ['a redirect to port 65536', (r) => (r.redirect!.port = 65_536), [is('redirect.port', 'must be an integer from 1 to 65535')]],
    ['a redirect status of 300', (r) => (r.redirect!.statusCode = 300 as 301), [is('redirect.statusCode', 'must be one of 301, 302, 303, 307, 308')]],
    ['a redirect host with a port', (r) => (r.redirect!.host = 'shop.example.com:8443'), [is('redirect.host', '"shop.example.com:8443" is not a host name (a port goes in redirect.port)')]],
    ['a redirect scheme other than http(s)', (r) => (r.redirect!.scheme = 'ftp' as 'http'), [is('redirect.scheme', 'must be http or https')]],
    ['a redirect with a rewrite', (r) => (r.rewrite = { prefix: '/' }), [is('rewrite', 'applies only to routes with destinations')]],
    ['a redirect with a timeout', (r) => (r.timeoutMs = 1000), [is('timeoutMs', 'applies only to routes with destinations')]],
  ])('reports %s', (_, change, want) => {
    const r = redirectRoute();
    change(r);
    expect(checkRoute(r, ctx)).toEqual(want);
  });

  it.each<[string, (r: RouteSpec) => void, Issue[]]>([
    ['a direct response status of 199', (r) => (r.directResponse!.status = 199), [is('directResponse.status', 'must be an integer from 200 to 599')]],
    ['a direct response status of 600', (r) => (r.directResponse!.status = 600), [is('directResponse.status', 'must be an integer from 200 to 599')]],
    ['a direct response body over 4096 bytes', (r) => (r.directResponse!.body = 'é'.repeat(2049)), [is('directResponse.body', 'is 4098 bytes; the limit is 4096')]],
    ['a direct response with a mirror', (r) => (r.mirror = { namespace: 'shop', name: 'shadow', percent: 1 }), [is('mirror', 'applies only to routes with destinations')]],
    ['a direct response with retries', (r) => (r.retries = { attempts: 1, retryOn: ['5xx'] }), [is('retries', 'applies only to routes with destinations')]],
  ])('reports %s', (_, change, want) => {
    const r = directRoute();
    change(r);
    expect(checkRoute(r, ctx)).toEqual(want);
  });

  it('accepts a body of exactly 4096 bytes and weights of 0', () => {
    const d = directRoute();
    d.directResponse!.body = 'é'.repeat(2048);
    expect(checkRoute(d, ctx)).toEqual([]);
    const r = fullRoute();
    r.destinations!.push({ namespace: 'shop', name: 'cart', weight: 0 });
    expect(checkRoute(r, ctx)).toEqual([]);
  });
});

/** A policy with every part on. */
function fullPolicy(): TrafficPolicy {
  return {
    loadBalancer: {
      algorithm: 'ring_hash',
      hashOn: [{ header: 'x-user' }, { cookie: { name: 'session', ttlSeconds: 3600, path: '/' } }, { sourceIp: true, terminal: true }, { queryParameter: 'user' }],
      ringSize: { min: 1024, max: 8_388_608 },
    },
    connectionPool: { maxConnections: 1024, maxPendingRequests: 1, maxRequests: 4_294_967_295, maxRetries: 3 },
    outlierDetection: { consecutive5xx: 5, consecutiveGatewayErrors: 3, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 100 },
    healthCheck: {
      http: { path: '/healthz', expectedStatuses: [{ start: 200, end: 299 }, { start: 599, end: 599 }], host: 'cart.internal' },
      intervalMs: 5000,
      timeoutMs: 1000,
      healthyThreshold: 2,
      unhealthyThreshold: 3,
    },
    rateLimit: { maxTokens: 1000, tokensPerFill: 100, fillIntervalMs: 50 },
  };
}

describe('checkTrafficPolicy', () => {
  it('finds nothing wrong with a policy with every part on', () => {
    expect(checkTrafficPolicy(fullPolicy(), 'body.trafficPolicy')).toEqual([]);
  });

  it('finds nothing wrong with least_request, maglev, gRPC and TCP health checks', () => {
    expect(checkTrafficPolicy({ loadBalancer: { algorithm: 'least_request', choiceCount: 2 } }, 'p')).toEqual([]);
    expect(checkTrafficPolicy({ loadBalancer: { algorithm: 'maglev', hashOn: [{ header: ':authority' }] } }, 'p')).toEqual([]);
    const hc = { intervalMs: 1, timeoutMs: 1, healthyThreshold: 1, unhealthyThreshold: 1 };
    expect(checkTrafficPolicy({ healthCheck: { ...hc, grpc: { serviceName: 'cart' } } }, 'p')).toEqual([]);
    expect(checkTrafficPolicy({ healthCheck: { ...hc, tcp: {} } }, 'p')).toEqual([]);
  });

  it('puts no dot before fields when the path is empty', () => {
    expect(checkTrafficPolicy({ connectionPool: { maxConnections: 0 } }, '')).toEqual([is('connectionPool.maxConnections', 'must be an integer from 1 to 4294967295')]);
  });

  const P = 'body.trafficPolicy';
  const LB = `${P}.loadBalancer`;
  const HC = `${P}.healthCheck`;
  const HASH_FORMS = 'header, cookie, sourceIp, queryParameter';

  it.each<[string, (p: TrafficPolicy) => void, Issue[]]>([
    ['an unknown algorithm', (p) => (p.loadBalancer = { algorithm: 'fastest' as 'random' }), [is(`${LB}.algorithm`, 'must be one of round_robin, least_request, random, ring_hash, maglev')]],
    ['a ring of size 0', (p) => (p.loadBalancer!.ringSize!.min = 0), [is(`${LB}.ringSize.min`, 'must be an integer from 1 to 8388608')]],
    ['a ring over 8M', (p) => (p.loadBalancer!.ringSize!.max = 8_388_609), [is(`${LB}.ringSize.max`, 'must be an integer from 1 to 8388608')]],
    ['a ring min over its max', (p) => (p.loadBalancer!.ringSize = { min: 2048, max: 1024 }), [is(`${LB}.ringSize.min`, 'must not exceed max (1024)')]],
    ['a ring size without ring_hash', (p) => (p.loadBalancer = { algorithm: 'maglev', ringSize: { min: 1 } }), [is(`${LB}.ringSize`, 'applies only to ring_hash')]],
    ['hashOn without consistent hashing', (p) => (p.loadBalancer = { algorithm: 'round_robin', hashOn: [{ sourceIp: true }] }), [is(`${LB}.hashOn`, 'applies only to ring_hash and maglev')]],
    ['a hash policy with two forms', (p) => (p.loadBalancer!.hashOn![0]!.queryParameter = 'u'), [is(`${LB}.hashOn[0]`, `has header and queryParameter; give exactly one of ${HASH_FORMS}`)]],
    ['a hash policy with no form', (p) => (p.loadBalancer!.hashOn![2] = { sourceIp: false, terminal: true }), [is(`${LB}.hashOn[2]`, `needs one of ${HASH_FORMS}`)]],
    ['a hash header that is upper-case', (p) => (p.loadBalancer!.hashOn![0] = { header: 'X-User' }), [is(`${LB}.hashOn[0].header`, '"X-User" must be lower-case')]],
    ['a hash cookie with a bad name', (p) => (p.loadBalancer!.hashOn![1] = { cookie: { name: 'a b' } }), [is(`${LB}.hashOn[1].cookie.name`, '"a b" is not a valid cookie name')]],
    ['a hash cookie path without /', (p) => (p.loadBalancer!.hashOn![1] = { cookie: { name: 's', path: 'x' } }), [is(`${LB}.hashOn[1].cookie.path`, 'must start with "/"')]],
    ['a choice count of 1', (p) => (p.loadBalancer = { algorithm: 'least_request', choiceCount: 1 }), [is(`${LB}.choiceCount`, 'must be an integer from 2 to 4294967295')]],
    ['a choice count without least_request', (p) => (p.loadBalancer = { algorithm: 'random', choiceCount: 3 }), [is(`${LB}.choiceCount`, 'applies only to least_request')]],
    ['a zone-aware percent over 100', (p) => (p.loadBalancer = { algorithm: 'least_request', zoneAware: { minClusterSize: 6, routingEnabledPercent: 120 } }), [is(`${LB}.zoneAware.routingEnabledPercent`, 'must be a percentage from 0 to 100')]],
    ['zone-aware routing with ring_hash', (p) => (p.loadBalancer!.zoneAware = {}), [is(`${LB}.zoneAware`, 'applies only to round_robin, least_request and random')]],
    ['a pool of 0 connections', (p) => (p.connectionPool!.maxConnections = 0), [is(`${P}.connectionPool.maxConnections`, 'must be an integer from 1 to 4294967295')]],
    ['a pool limit over 2^32-1', (p) => (p.connectionPool!.maxPendingRequests = 4_294_967_296), [is(`${P}.connectionPool.maxPendingRequests`, 'must be an integer from 1 to 4294967295')]],
    ['a fractional pool limit', (p) => (p.connectionPool!.maxRetries = 1.5), [is(`${P}.connectionPool.maxRetries`, 'must be an integer from 1 to 4294967295')]],
    ['0 consecutive 5xx', (p) => (p.outlierDetection!.consecutive5xx = 0), [is(`${P}.outlierDetection.consecutive5xx`, 'must be an integer from 1 to 4294967295')]],
    ['0 consecutive gateway errors', (p) => (p.outlierDetection!.consecutiveGatewayErrors = 0), [is(`${P}.outlierDetection.consecutiveGatewayErrors`, 'must be an integer from 1 to 4294967295')]],
    ['a zero outlier interval', (p) => (p.outlierDetection!.intervalMs = 0), [is(`${P}.outlierDetection.intervalMs`, 'must be a whole number of milliseconds from 1 to 86400000 (24 h)')]],
    ['a failure percentage over 100', (p) => (p.outlierDetection!.failurePercentage = { threshold: 101 }), [is(`${P}.outlierDetection.failurePercentage.threshold`, 'must be an integer from 0 to 100')]],
    ['a failure-percentage minimum of 0 hosts', (p) => (p.outlierDetection!.failurePercentage = { threshold: 50, minimumHosts: 0 }), [is(`${P}.outlierDetection.failurePercentage.minimumHosts`, 'must be an integer from 1 to 4294967295')]],
    ['a zero ejection time', (p) => (p.outlierDetection!.baseEjectionTimeMs = 0), [is(`${P}.outlierDetection.baseEjectionTimeMs`, 'must be a whole number of milliseconds from 1 to 86400000 (24 h)')]],
    ['an ejection percent over 100', (p) => (p.outlierDetection!.maxEjectionPercent = 101), [is(`${P}.outlierDetection.maxEjectionPercent`, 'must be an integer from 0 to 100')]],
    ['a health check of two kinds', (p) => (p.healthCheck!.tcp = {}), [is(HC, 'has http and tcp; give exactly one of http, grpc, tcp')]],
    ['a health check of no kind', (p) => delete p.healthCheck!.http, [is(HC, 'needs one of http, grpc, tcp')]],
    ['a health check path without /', (p) => (p.healthCheck!.http!.path = 'healthz'), [is(`${HC}.http.path`, 'must start with "/"')]],
    ['expected statuses starting at 99', (p) => (p.healthCheck!.http!.expectedStatuses = [{ start: 99, end: 200 }]), [is(`${HC}.http.expectedStatuses[0].start`, 'must be an integer from 100 to 599')]],
    ['expected statuses ending past 599', (p) => (p.healthCheck!.http!.expectedStatuses = [{ start: 500, end: 600 }]), [is(`${HC}.http.expectedStatuses[0].end`, 'must be an integer from 100 to 599')]],
    ['an expected status range ending before it starts', (p) => (p.healthCheck!.http!.expectedStatuses![1] = { start: 204, end: 200 }), [is(`${HC}.http.expectedStatuses[1].end`, 'must not be less than start (204); the range includes both ends')]],
    ['a health check host that is no host name', (p) => (p.healthCheck!.http!.host = 'a b'), [is(`${HC}.http.host`, '"a b" is not a host name with an optional :port (1-65535)')]],
    ['a zero health check interval', (p) => (p.healthCheck!.intervalMs = 0), [is(`${HC}.intervalMs`, 'must be a whole number of milliseconds from 1 to 86400000 (24 h)')]],
    ['a zero health check timeout', (p) => (p.healthCheck!.timeoutMs = 0), [is(`${HC}.timeoutMs`, 'must be a whole number of milliseconds from 1 to 86400000 (24 h)')]],
    ['a healthy threshold of 0', (p) => (p.healthCheck!.healthyThreshold = 0), [is(`${HC}.healthyThreshold`, 'must be an integer from 1 to 4294967295')]],
    ['an unhealthy threshold of 0', (p) => (p.healthCheck!.unhealthyThreshold = 0), [is(`${HC}.unhealthyThreshold`, 'must be an integer from 1 to 4294967295')]],
    ['a rate limit fill interval under 50 ms', (p) => (p.rateLimit!.fillIntervalMs = 10), [is(`${P}.rateLimit.fillIntervalMs`, 'must be a whole number of milliseconds from 50 to 86400000 (24 h)')]],
    ['a rate limit status of 600', (p) => (p.rateLimit!.status = 600), [is(`${P}.rateLimit.status`, 'must be a 4xx or 5xx code Envoy names (e.g. 429, 503); 600 is not one')]],
  ])('reports %s', (_, change, want) => {
    const p = fullPolicy();
    change(p);
    expect(checkTrafficPolicy(p, P)).toEqual(want);
  });
});

describe('routeConflicts', () => {
  const base = (name: string, over: Partial<RouteSpec> = {}): RouteSpec => ({
    namespace: 'shop',
    name,
    hosts: ['cart.example.com'],
    priority: 0,
    match: {},
    destinations: [{ namespace: 'shop', name: 'cart', weight: 100 }],
    ...over,
  });

  it.each<[string, RouteSpec[], { a: string; b: string; host: string }[]]>([
    ['no routes', [], []],
    ['one route', [base('a')], []],
    ['the same name twice (an update of itself)', [base('a'), base('a')], []],
    ['equal matches on the same host', [base('b'), base('a')], [{ a: 'shop/a', b: 'shop/b', host: 'cart.example.com' }]],
    ['a missing path and prefix "/" (the default)', [base('a'), base('b', { match: { path: { prefix: '/', caseSensitive: true } } })], [{ a: 'shop/a', b: 'shop/b', host: 'cart.example.com' }]],
    ['hosts differing in case only', [base('a'), base('b', { hosts: ['x.example.com', 'CART.example.com'] })], [{ a: 'shop/a', b: 'shop/b', host: 'cart.example.com' }]],
    ['the first common host, in order', [base('a', { hosts: ['z.example.com', 'b.example.com'] }), base('b', { hosts: ['z.example.com', 'b.example.com'] })], [{ a: 'shop/a', b: 'shop/b', host: 'b.example.com' }]],
    [
      'headers, query and methods in another order',
      [
        base('a', { match: { headers: [{ name: 'x-a', exact: '1' }, { name: 'x-b', present: true, invert: false }], query: [{ name: 'q', prefix: 'a' }, { name: 'r', exact: '' }], methods: ['GET', 'PUT'] } }),
        base('b', { match: { headers: [{ name: 'x-b', present: true }, { name: 'x-a', exact: '1', ignoreCase: false }], query: [{ name: 'r', exact: '' }, { name: 'q', prefix: 'a' }], methods: ['PUT', 'GET'] } }),
      ],
      [{ a: 'shop/a', b: 'shop/b', host: 'cart.example.com' }],
    ],
    ['different namespaces', [base('r'), base('r', { namespace: 'web' })], [{ a: 'shop/r', b: 'web/r', host: 'cart.example.com' }]],
    ['no common host', [base('a'), base('b', { hosts: ['cart.example.com:8080'] })], []],
    ['different priorities', [base('a'), base('b', { priority: 1 })], []],
    ['different paths', [base('a'), base('b', { match: { path: { prefix: '/api' } } })], []],
    ['case sensitivity differs', [base('a', { match: { path: { prefix: '/api' } } }), base('b', { match: { path: { prefix: '/api', caseSensitive: false } } })], []],
    ['an inverted header', [base('a', { match: { headers: [{ name: 'x', exact: '1' }] } }), base('b', { match: { headers: [{ name: 'x', exact: '1', invert: true }] } })], []],
    ['present true and false', [base('a', { match: { headers: [{ name: 'x', present: true }] } }), base('b', { match: { headers: [{ name: 'x', present: false }] } })], []],
    ['present false and an inverted present true', [base('a', { match: { headers: [{ name: 'x', present: false }] } }), base('b', { match: { headers: [{ name: 'x', present: true, invert: true }] } })], [{ a: 'shop/a', b: 'shop/b', host: 'cart.example.com' }]],
    ['a regex path, case sensitivity moot', [base('a', { match: { path: { regex: '/a.*' } } }), base('b', { match: { path: { regex: '/a.*', caseSensitive: false } } })], [{ a: 'shop/a', b: 'shop/b', host: 'cart.example.com' }]],
    ['a method more', [base('a', { match: { methods: ['GET'] } }), base('b', { match: { methods: ['GET', 'HEAD'] } })], []],
    [
      'three routes, every pair, sorted',
      [base('c'), base('a'), base('b'), base('d', { priority: 5 })],
      [
        { a: 'shop/a', b: 'shop/b', host: 'cart.example.com' },
        { a: 'shop/a', b: 'shop/c', host: 'cart.example.com' },
        { a: 'shop/b', b: 'shop/c', host: 'cart.example.com' },
      ],
    ],
  ])('%s', (_, routes, want) => {
    expect(routeConflicts(routes)).toEqual(want);
  });
});

describe('ENVOY_ERROR_STATUS_CODES', () => {
  it("is every 4xx and 5xx value of Envoy's StatusCode enum", () => {
    const codeEnum = messageType('envoy.type.v3.HttpStatus').fields.code!.resolve().resolvedType as unknown as { values: Record<string, number> };
    const named = Object.values(codeEnum.values);
    expect(ENVOY_ERROR_STATUS_CODES).toEqual(named.filter((c) => c >= 400 && c < 600).sort((a, b) => a - b));
  });
});
