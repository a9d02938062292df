import { register } from '@grpc/grpc-js-xds';
import { RouteConfigurationResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/route-config-resource-type.js';
import type { RouteConfiguration__Output } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/route/v3/RouteConfiguration.js';
import type { XdsDecodeContext } from '@grpc/grpc-js-xds/build/src/xds-resource-type/xds-resource-type.js';
import { describe, expect, it } from 'vitest';
import type { HashPolicy, RedirectPolicy, RouteSpec } from '../model/traffic.ts';
import { envoyRoot, messageType } from '../protos/loader.ts';
import { validateMessage } from '../protos/validate.ts';
import { expectValidEnvoy } from '../../test/support/envoy.ts';
import type { Plain } from './common.ts';
import { HTTP_FILTER_PROTO_FILES } from './http-filters.ts';
import {
  corsPolicy,
  directResponseAction,
  hashPolicy,
  headerValueOptions,
  httpFault,
  localRateLimit,
  redirectAction,
  retryPolicy,
  route,
  type ClusterOf,
} from './route-action.ts';

// The filter configs travel inside Anys; the shared root does not load their protos by default.
envoyRoot(HTTP_FILTER_PROTO_FILES);

const ROUTE = 'envoy.config.route.v3.Route';
const ANY = 'type.googleapis.com/';

/** Clusters named `<name>.<namespace>`, a subset's labels appended: the test's stand-in for the caller's naming. */
const clusterOf: ClusterOf = ({ namespace, name, subset }) =>
  subset ? `${name}.${namespace}~${Object.entries(subset).map(([k, v]) => `${k}=${v}`).join(',')}` : `${name}.${namespace}`;

/** The route `shop/checkout`: every path to the service web.shop, nothing else. */
const spec = (overrides: Partial<RouteSpec> = {}): RouteSpec => ({
  namespace: 'shop',
  name: 'checkout',
  hosts: [],
  priority: 0,
  match: {},
  destinations: [{ namespace: 'shop', name: 'web', weight: 100 }],
  ...overrides,
});

/** What `spec()` builds, with `action` fields merged into its RouteAction and `fields` into the Route. */
const want = (action: Plain = {}, fields: Plain = {}): Plain => ({
  name: 'shop/checkout',
  match: { prefix: '/' },
  route: { cluster: 'web.shop', timeout: { seconds: 0 }, ...action },
  ...fields,
});

/** The Route of a redirect or direct response: no RouteAction. */
const withoutRouteAction = (fields: Plain): Plain => ({ name: 'shop/checkout', match: { prefix: '/' }, ...fields });

const ALL = { defaultValue: { numerator: 100, denominator: 'HUNDRED' } };

interface Case {
  name: string;
  spec: RouteSpec;
  hashPolicy?: HashPolicy[];
  want: Plain;
}

const forwarding: Case[] = [
  { name: 'one destination: its cluster, timeout off', spec: spec(), want: want() },
  {
    name: 'the match is built by routeMatch',
    spec: spec({ match: { path: { prefix: '/cart' }, methods: ['GET'] } }),
    want: { ...want(), match: { prefix: '/cart', headers: [{ name: ':method', stringMatch: { exact: 'GET' } }] } },
  },
  {
    name: 'a subset destination: the cluster the resolver names',
    spec: spec({ destinations: [{ namespace: 'shop', name: 'web', subset: { version: 'v2' }, weight: 100 }] }),
    want: want({ cluster: 'web.shop~version=v2' }),
  },
  {
    name: 'several destinations: weighted clusters, weights as given and in the order given',
    spec: spec({
      destinations: [
        { namespace: 'shop', name: 'web', subset: { version: 'v1' }, weight: 90 },
        { namespace: 'shop', name: 'web', subset: { version: 'v2' }, weight: 10 },
        { namespace: 'ext', name: 'legacy', weight: 0 },
      ],
    }),
    want: {
      ...want(),
      route: {
        weightedClusters: {
          clusters: [
            { name: 'web.shop~version=v1', weight: { value: 90 } },
            { name: 'web.shop~version=v2', weight: { value: 10 } },
            { name: 'legacy.ext', weight: { value: 0 } },
          ],
        },
        timeout: { seconds: 0 },
      },
    },
  },
  {
    name: 'a timeout: also the max stream duration, which proxyless gRPC clients read',
    spec: spec({ timeoutMs: 2500 }),
    want: want({ timeout: { seconds: 2, nanos: 500_000_000 }, maxStreamDuration: { maxStreamDuration: { seconds: 2, nanos: 500_000_000 } } }),
  },
  { name: 'a zero timeout is no timeout', spec: spec({ timeoutMs: 0 }), want: want() },
  {
    name: 'retries with per-try timeout and back-off',
    spec: spec({ retries: { attempts: 3, retryOn: ['5xx', 'reset', 'connect-failure'], perTryTimeoutMs: 500, backoff: { baseMs: 25, maxMs: 250 } } }),
    want: want({
      retryPolicy: {
        retryOn: '5xx,reset,connect-failure',
        numRetries: { value: 3 },
        perTryTimeout: { seconds: 0, nanos: 500_000_000 },
        retryBackOff: { baseInterval: { seconds: 0, nanos: 25_000_000 }, maxInterval: { seconds: 0, nanos: 250_000_000 } },
      },
    }),
  },
  {
    name: 'gRPC retries, nothing optional',
    spec: spec({ retries: { attempts: 1, retryOn: ['unavailable'] } }),
    want: want({ retryPolicy: { retryOn: 'unavailable', numRetries: { value: 1 } } }),
  },
  {
    name: 'retries on listed statuses and on a response header',
    spec: spec({
      retries: { attempts: 2, retryOn: ['retriable-status-codes', 'retriable-headers'], retriableStatusCodes: [409, 503], retriableHeaders: [{ name: 'x-retry', exact: 'yes' }] },
    }),
    want: want({
      retryPolicy: {
        retryOn: 'retriable-status-codes,retriable-headers',
        numRetries: { value: 2 },
        retriableStatusCodes: [409, 503],
        retriableHeaders: [{ name: 'x-retry', stringMatch: { exact: 'yes' } }],
      },
    }),
  },
  {
    name: 'back-off without a max (Envoy takes 10 × base)',
    spec: spec({ retries: { attempts: 2, retryOn: ['5xx'], backoff: { baseMs: 100 } } }),
    want: want({ retryPolicy: { retryOn: '5xx', numRetries: { value: 2 }, retryBackOff: { baseInterval: { seconds: 0, nanos: 100_000_000 } } } }),
  },
  {
    name: 'a mirror to a subset of another service',
    spec: spec({ mirror: { namespace: 'shop', name: 'web-shadow', subset: { track: 'canary' }, percent: 10 } }),
    want: want({ requestMirrorPolicies: [{ cluster: 'web-shadow.shop~track=canary', runtimeFraction: { defaultValue: { numerator: 10, denominator: 'HUNDRED' } } }] }),
  },
  {
    name: 'a fractional mirror share',
    spec: spec({ mirror: { namespace: 'shop', name: 'web-shadow', percent: 0.5 } }),
    want: want({ requestMirrorPolicies: [{ cluster: 'web-shadow.shop', runtimeFraction: { defaultValue: { numerator: 50, denominator: 'TEN_THOUSAND' } } }] }),
  },
  {
    name: 'prefix and host rewrite',
    spec: spec({ match: { path: { prefix: '/v1/' } }, rewrite: { prefix: '/', host: 'web.internal' } }),
    want: { ...want({ prefixRewrite: '/', hostRewriteLiteral: 'web.internal' }), match: { prefix: '/v1/' } },
  },
  {
    name: 'regex rewrite',
    spec: spec({ rewrite: { regex: { pattern: '^/users/([0-9]+)$', substitution: '/u/\\1' } } }),
    want: want({ regexRewrite: { pattern: { regex: '^/users/([0-9]+)$' }, substitution: '/u/\\1' } }),
  },
  {
    name: 'hash policies from the destination service',
    spec: spec(),
    hashPolicy: [{ header: 'x-user' }, { cookie: { name: 'sid', ttlSeconds: 3600, path: '/' }, terminal: true }, { sourceIp: true }],
    want: want({
      hashPolicy: [
        { header: { headerName: 'x-user' } },
        { cookie: { name: 'sid', ttl: { seconds: 3600 }, path: '/' }, terminal: true },
        { connectionProperties: { sourceIp: true } },
      ],
    }),
  },
  { name: 'no hash policies: none written', spec: spec(), hashPolicy: [], want: want() },
];

const otherActions: Case[] = [
  {
    name: 'redirect to https on another host, port and path, 308, query dropped',
    spec: spec({
      destinations: undefined,
      redirect: { scheme: 'https', host: 'shop.example.com', port: 8443, path: '/new', statusCode: 308, stripQuery: true },
    }),
    want: withoutRouteAction({
      redirect: { schemeRedirect: 'https', hostRedirect: 'shop.example.com', portRedirect: 8443, pathRedirect: '/new', responseCode: 'PERMANENT_REDIRECT', stripQuery: true },
    }),
  },
  {
    name: 'redirect replacing the matched prefix, Envoy defaults (301) implicit',
    spec: spec({ destinations: undefined, match: { path: { prefix: '/old/' } }, redirect: { prefix: '/new/' } }),
    want: { ...withoutRouteAction({ redirect: { prefixRewrite: '/new/' } }), match: { prefix: '/old/' } },
  },
  {
    name: 'direct response with a body',
    spec: spec({ destinations: undefined, directResponse: { status: 503, body: 'maintenance' } }),
    want: withoutRouteAction({ directResponse: { status: 503, body: { inlineString: 'maintenance' } } }),
  },
  {
    name: 'direct response without a body',
    spec: spec({ destinations: undefined, directResponse: { status: 204 } }),
    want: withoutRouteAction({ directResponse: { status: 204 } }),
  },
];

const headersAndFilters: Case[] = [
  {
    name: "tracing: the route's own share of requests traced, as a FractionalPercent (in place of the HCM's)",
    spec: spec({ tracing: { samplePercent: 12.5 } }),
    want: want({}, { tracing: { randomSampling: { numerator: 1250, denominator: 'TEN_THOUSAND' } } }),
  },
  {
    name: 'tracing off for a route: 0 percent',
    spec: spec({ tracing: { samplePercent: 0 } }),
    want: want({}, { tracing: { randomSampling: { numerator: 0, denominator: 'HUNDRED' } } }),
  },
  {
    name: 'request and response header changes: set overwrites, add appends, each sorted',
    spec: spec({
      requestHeaders: { set: { 'x-b': '2', 'x-a': '1' }, add: { 'x-trace': 'on' }, remove: ['x-secret', 'cookie', 'x-secret'] },
      responseHeaders: { set: { 'cache-control': 'no-store' }, remove: ['server'] },
    }),
    want: want(
      {},
      {
        requestHeadersToAdd: [
          { header: { key: 'x-a', value: '1' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' },
          { header: { key: 'x-b', value: '2' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' },
          { header: { key: 'x-trace', value: 'on' }, appendAction: 'APPEND_IF_EXISTS_OR_ADD' },
        ],
        requestHeadersToRemove: ['cookie', 'x-secret'],
        responseHeadersToAdd: [{ header: { key: 'cache-control', value: 'no-store' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
        responseHeadersToRemove: ['server'],
      },
    ),
  },
  { name: 'empty header changes: nothing written', spec: spec({ requestHeaders: { set: {}, add: {}, remove: [] }, responseHeaders: {} }), want: want() },
  {
    name: 'header changes on a redirect too',
    spec: spec({ destinations: undefined, redirect: { scheme: 'https' }, responseHeaders: { add: { 'x-moved': 'yes' } } }),
    want: withoutRouteAction({
      redirect: { schemeRedirect: 'https' },
      responseHeadersToAdd: [{ header: { key: 'x-moved', value: 'yes' }, appendAction: 'APPEND_IF_EXISTS_OR_ADD' }],
    }),
  },
  {
    name: 'fault: a delay and an HTTP abort',
    spec: spec({ fault: { delay: { fixedMs: 1500, percent: 12.5 }, abort: { httpStatus: 503, percent: 1 } } }),
    want: want(
      {},
      {
        typedPerFilterConfig: {
          'envoy.filters.http.fault': {
            '@type': `${ANY}envoy.extensions.filters.http.fault.v3.HTTPFault`,
            delay: { fixedDelay: { seconds: 1, nanos: 500_000_000 }, percentage: { numerator: 1250, denominator: 'TEN_THOUSAND' } },
            abort: { httpStatus: 503, percentage: { numerator: 1, denominator: 'HUNDRED' } },
          },
        },
      },
    ),
  },
  {
    name: 'fault: a gRPC abort alone (status 14, UNAVAILABLE)',
    spec: spec({ fault: { abort: { grpcStatus: 14, percent: 100 } } }),
    want: want(
      {},
      {
        typedPerFilterConfig: {
          'envoy.filters.http.fault': {
            '@type': `${ANY}envoy.extensions.filters.http.fault.v3.HTTPFault`,
            abort: { grpcStatus: 14, percentage: { numerator: 100, denominator: 'HUNDRED' } },
          },
        },
      },
    ),
  },
  {
    name: 'CORS: an optional per-route policy',
    spec: spec({ cors: { allowOrigins: [{ exact: 'https://shop.example.com' }, { suffix: '.example.com', ignoreCase: true }], allowMethods: ['GET', 'POST'], allowHeaders: ['content-type', 'x-user'], exposeHeaders: ['x-request-id'], maxAgeSeconds: 600, allowCredentials: true } }),
    want: want(
      {},
      {
        typedPerFilterConfig: {
          'envoy.filters.http.cors': {
            '@type': `${ANY}envoy.config.route.v3.FilterConfig`,
            isOptional: true,
            config: {
              '@type': `${ANY}envoy.extensions.filters.http.cors.v3.CorsPolicy`,
              allowOriginStringMatch: [{ exact: 'https://shop.example.com' }, { suffix: '.example.com', ignoreCase: true }],
              allowMethods: 'GET,POST',
              allowHeaders: 'content-type,x-user',
              exposeHeaders: 'x-request-id',
              maxAge: '600',
              allowCredentials: { value: true },
            },
          },
        },
      },
    ),
  },
  {
    name: 'local rate limit: an optional per-route bucket, on and enforced for every request',
    spec: spec({ rateLimit: { maxTokens: 100, tokensPerFill: 10, fillIntervalMs: 1000, status: 503, responseHeaders: { 'x-limited': 'route' } } }),
    want: want(
      {},
      {
        typedPerFilterConfig: {
          'envoy.filters.http.local_ratelimit': {
            '@type': `${ANY}envoy.config.route.v3.FilterConfig`,
            isOptional: true,
            config: {
              '@type': `${ANY}envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`,
              statPrefix: 'route_shop_checkout',
              status: { code: 503 },
              tokenBucket: { maxTokens: 100, tokensPerFill: { value: 10 }, fillInterval: { seconds: 1 } },
              filterEnabled: { ...ALL, runtimeKey: 'route_shop_checkout.local_rate_limit_enabled' },
              filterEnforced: { ...ALL, runtimeKey: 'route_shop_checkout.local_rate_limit_enforced' },
              responseHeadersToAdd: [{ header: { key: 'x-limited', value: 'route' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
            },
          },
        },
      },
    ),
  },
];

describe('route', () => {
  it.each([...forwarding, ...otherActions, ...headersAndFilters])('$name', ({ spec, hashPolicy, want }) => {
    const got = route(spec, clusterOf, { hashPolicy });
    expect(got).toStrictEqual(want);
    expectValidEnvoy(ROUTE, got);
  });

  it('puts every per-route filter config of a route under its filter name', () => {
    const got = route(
      spec({ fault: { delay: { fixedMs: 10, percent: 5 } }, cors: { allowOrigins: [{ exact: '*' }] }, rateLimit: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 100 } }),
      clusterOf,
    );
    expect(Object.keys(got.typedPerFilterConfig as Plain)).toEqual(['envoy.filters.http.fault', 'envoy.filters.http.cors', 'envoy.filters.http.local_ratelimit']);
    expectValidEnvoy(ROUTE, got);
  });

  it('asks the resolver with the service and subset only', () => {
    const asked: unknown[] = [];
    route(
      spec({ destinations: [{ namespace: 'shop', name: 'web', weight: 60 }, { namespace: 'shop', name: 'web', subset: { v: '2' }, weight: 40 }], mirror: { namespace: 'a', name: 'b', percent: 1 } }),
      (d) => (asked.push(d), 'c'),
    );
    expect(asked).toStrictEqual([{ namespace: 'shop', name: 'web' }, { namespace: 'shop', name: 'web', subset: { v: '2' } }, { namespace: 'a', name: 'b' }]);
  });
});

describe('redirectAction', () => {
  const codes: [NonNullable<RedirectPolicy['statusCode']>, string][] = [
    [301, 'MOVED_PERMANENTLY'],
    [302, 'FOUND'],
    [303, 'SEE_OTHER'],
    [307, 'TEMPORARY_REDIRECT'],
    [308, 'PERMANENT_REDIRECT'],
  ];
  it.each(codes)('status %d → %s', (statusCode, responseCode) => {
    const got = redirectAction({ statusCode });
    expect(got).toStrictEqual({ responseCode });
    expectValidEnvoy('envoy.config.route.v3.RedirectAction', got);
  });

  it.each([
    [{ scheme: 'http' }, { schemeRedirect: 'http' }],
    [{ scheme: 'https', port: 443 }, { schemeRedirect: 'https', portRedirect: 443 }],
    [{ stripQuery: false }, {}],
    [{}, {}],
  ] as [RedirectPolicy, Plain][])('%j → %j', (policy, wanted) => {
    const got = redirectAction(policy);
    expect(got).toStrictEqual(wanted);
    expectValidEnvoy('envoy.config.route.v3.RedirectAction', got);
  });
});

describe('hashPolicy', () => {
  const cases: { name: string; h: HashPolicy; want: Plain }[] = [
    { name: 'header', h: { header: 'x-user' }, want: { header: { headerName: 'x-user' } } },
    { name: 'cookie, name only (Envoy does not set it)', h: { cookie: { name: 'sid' } }, want: { cookie: { name: 'sid' } } },
    { name: 'cookie with a zero TTL (a session cookie Envoy sets)', h: { cookie: { name: 'sid', ttlSeconds: 0 } }, want: { cookie: { name: 'sid', ttl: { seconds: 0 } } } },
    { name: 'source IP, terminal', h: { sourceIp: true, terminal: true }, want: { connectionProperties: { sourceIp: true }, terminal: true } },
    { name: 'query parameter', h: { queryParameter: 'user' }, want: { queryParameter: { name: 'user' } } },
  ];
  it.each(cases)('$name', ({ h, want }) => {
    const got = hashPolicy(h);
    expect(got).toStrictEqual(want);
    expectValidEnvoy('envoy.config.route.v3.RouteAction.HashPolicy', got);
  });
});

describe('headerValueOptions', () => {
  it('sets before adds, each sorted by name', () => {
    const got = headerValueOptions({ add: { b: '1', a: '2' }, set: { d: '3', c: '4' } });
    expect(got.map((o) => [(o.header as Plain).key, o.appendAction])).toEqual([
      ['c', 'OVERWRITE_IF_EXISTS_OR_ADD'],
      ['d', 'OVERWRITE_IF_EXISTS_OR_ADD'],
      ['a', 'APPEND_IF_EXISTS_OR_ADD'],
      ['b', 'APPEND_IF_EXISTS_OR_ADD'],
    ]);
    for (const o of got) expectValidEnvoy('envoy.config.core.v3.HeaderValueOption', o);
  });
});

describe('per-route filter configs on their own', () => {
  it('fault: every form validates as HTTPFault', () => {
    for (const f of [{ delay: { fixedMs: 1, percent: 0.0001 } }, { abort: { httpStatus: 200, percent: 0 } }, { abort: { httpStatus: 599, percent: 100 } }, {}]) {
      expectValidEnvoy('envoy.extensions.filters.http.fault.v3.HTTPFault', httpFault(f));
    }
  });

  it('CORS: a minimal policy has the origins alone', () => {
    const got = corsPolicy({ allowOrigins: [{ regex: 'https://.*\\.example\\.com' }] });
    expect(got).toStrictEqual({
      '@type': `${ANY}envoy.extensions.filters.http.cors.v3.CorsPolicy`,
      allowOriginStringMatch: [{ safeRegex: { regex: 'https://.*\\.example\\.com' } }],
    });
    expectValidEnvoy('envoy.extensions.filters.http.cors.v3.CorsPolicy', got);
  });

  it('local rate limit: 429 unless told, no headers when none given', () => {
    const got = localRateLimit({ maxTokens: 5, tokensPerFill: 5, fillIntervalMs: 250 }, 'p');
    expect(got).toStrictEqual({
      '@type': `${ANY}envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`,
      statPrefix: 'p',
      status: { code: 429 },
      tokenBucket: { maxTokens: 5, tokensPerFill: { value: 5 }, fillInterval: { seconds: 0, nanos: 250_000_000 } },
      filterEnabled: { ...ALL, runtimeKey: 'p.local_rate_limit_enabled' },
      filterEnforced: { ...ALL, runtimeKey: 'p.local_rate_limit_enforced' },
    });
    expectValidEnvoy('envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit', got);
  });

  it('retry policy and direct response validate on their own', () => {
    expectValidEnvoy('envoy.config.route.v3.RetryPolicy', retryPolicy({ attempts: 0, retryOn: [] }));
    expectValidEnvoy('envoy.config.route.v3.DirectResponseAction', directResponseAction({ status: 200, body: '' }));
  });
});

describe('what the model validator must keep out: the publish gate (PGV) refuses it', () => {
  const issuesOf = (s: RouteSpec) => validateMessage(messageType(ROUTE), route(s, clusterOf));
  const cases: { name: string; spec: RouteSpec; path: string }[] = [
    { name: 'no action at all', spec: spec({ destinations: undefined }), path: 'action' },
    { name: 'no destinations', spec: spec({ destinations: [] }), path: 'weighted_clusters.clusters' },
    { name: 'a zero back-off base', spec: spec({ retries: { attempts: 1, retryOn: ['5xx'], backoff: { baseMs: 0 } } }), path: 'base_interval' },
    { name: 'a zero fault delay', spec: spec({ fault: { delay: { fixedMs: 0, percent: 10 } } }), path: 'fixed_delay' },
    { name: 'an HTTP abort status outside 200-599', spec: spec({ fault: { abort: { httpStatus: 600, percent: 10 } } }), path: 'http_status' },
    { name: 'a direct response status below 200', spec: spec({ destinations: undefined, directResponse: { status: 101 } }), path: 'status' },
    { name: 'a rate limit status Envoy has no name for', spec: spec({ rateLimit: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 1000, status: 418 } }), path: 'code' },
    { name: 'an empty token bucket', spec: spec({ rateLimit: { maxTokens: 0, tokensPerFill: 1, fillIntervalMs: 1000 } }), path: 'max_tokens' },
    { name: 'an empty regex', spec: spec({ match: { path: { regex: '' } } }), path: 'regex' },
    { name: 'an empty header name', spec: spec({ match: { headers: [{ name: '', exact: 'x' }] } }), path: 'name' },
  ];
  it.each(cases)('$name', ({ spec, path }) => {
    const issues = issuesOf(spec);
    expect(issues.map((i) => i.path).join(' '), JSON.stringify(issues)).toContain(path);
  });
});

describe('routes as proxyless gRPC clients (grpc-js-xds 1.14) validate them (its RDS resource type, no network)', () => {
  // register() fills its HTTP filter registry (fault, router); it opens no connection.
  register();
  const context = {} as XdsDecodeContext;
  const RDS = 'envoy.config.route.v3.RouteConfiguration';
  const decode = (r: Plain) => {
    const config = { name: 'rc', virtualHosts: [{ name: 'vh', domains: ['web.shop'], routes: [r] }] };
    const bytes = expectValidEnvoy(RDS, config);
    return RouteConfigurationResourceType.get().decode(context, { type_url: `${ANY}${RDS}`, value: Buffer.from(bytes) });
  };

  it('accepts a route with every forwarding feature and all three per-route filters (CORS and rate limit as optional)', () => {
    const got = decode(
      route(
        spec({
          match: { path: { prefix: '/Cart', caseSensitive: false }, headers: [{ name: 'x-debug', present: false }], methods: ['GET', 'POST'] },
          destinations: [{ namespace: 'shop', name: 'web', weight: 50 }, { namespace: 'shop', name: 'web', subset: { v: '2' }, weight: 50 }],
          timeoutMs: 3000,
          retries: { attempts: 2, retryOn: ['unavailable', 'cancelled'], backoff: { baseMs: 10, maxMs: 100 } },
          fault: { delay: { fixedMs: 100, percent: 12.5 }, abort: { grpcStatus: 14, percent: 0.5 } },
          cors: { allowOrigins: [{ exact: 'https://a.example' }] },
          rateLimit: { maxTokens: 10, tokensPerFill: 10, fillIntervalMs: 1000 },
          mirror: { namespace: 'shop', name: 'shadow', percent: 1 },
          requestHeaders: { set: { 'x-a': '1' } },
        }),
        clusterOf,
        { hashPolicy: [{ header: 'x-user' }] },
      ),
    );
    expect(got.error).toBeUndefined();
    const routeAction = (got.value as RouteConfiguration__Output | undefined)?.virtual_hosts[0]?.routes[0]?.route;
    expect(routeAction?.max_stream_duration?.max_stream_duration).toMatchObject({ seconds: '3' });
  });

  it('would reject the whole configuration were the CORS config not wrapped as optional', () => {
    const r = route(spec({ cors: { allowOrigins: [{ exact: 'https://a.example' }] } }), clusterOf);
    const bare = { ...r, typedPerFilterConfig: { 'envoy.filters.http.cors': corsPolicy({ allowOrigins: [{ exact: 'https://a.example' }] }) } };
    expect(decode(bare).error).toMatch(/typed_per_filter_config\[envoy.filters.http.cors\] validation failed/);
  });

  it('rejects the whole configuration for a redirect or a direct response (forwarding actions only)', () => {
    expect(decode(route(spec({ destinations: undefined, redirect: { scheme: 'https' } }), clusterOf)).error).toMatch(/unsupported action: redirect/);
    expect(decode(route(spec({ destinations: undefined, directResponse: { status: 404 } }), clusterOf)).error).toMatch(/unsupported action: direct_response/);
  });
});
