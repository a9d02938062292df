/**
 * Traffic management end to end through the translators: a mesh whose routes use every feature
 * (matches, a weighted split between subsets, retries, timeout, fault, mirror, header changes,
 * rewrite, redirect, direct response, CORS, rate limit) and whose main service has a full traffic
 * policy, as the gateway, a sidecar and a proxyless gRPC client receive it.
 */
import { register } from '@grpc/grpc-js-xds';
import type { Listener__Output } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/listener/v3/Listener.js';
import { ClusterResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/cluster-resource-type.js';
import { EndpointResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/endpoint-resource-type.js';
import { ListenerResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/listener-resource-type.js';
import { decodeSingleResource, HTTP_CONNECTION_MANGER_TYPE_URL } from '@grpc/grpc-js-xds/build/src/resources.js';
import type { XdsDecodeContext } from '@grpc/grpc-js-xds/build/src/xds-resource-type/xds-resource-type.js';
import { describe, expect, it } from 'vitest';
import type { Plain } from '../../envoy/common.ts';
import { buildMesh, DEFAULT_MESH_SETTINGS, type Mesh, type Protocol, type Service } from '../../model/mesh.ts';
import type { RouteSpec, TrafficPolicy } from '../../model/traffic.ts';
import { messageNameOf, TYPE_URLS, type ResourceKind } from '../../protos/type-urls.ts';
import { expectValidEnvoy } from '../../../test/support/envoy.ts';
import { expectGolden } from '../../../test/support/golden.ts';
import { endpoint, meshOf, sampleMesh, sampleServices, service, sidecarOnly } from '../../../test/support/mesh-fixtures.ts';
import { ResourceEncoder } from '../cache/resource.ts';
import { emptySnapshot } from '../cache/snapshot-cache.ts';
import { passGate } from '../publish-gate.ts';
import { buildResources, type BuiltResource, type ResourceSet } from './index.ts';

const KINDS = Object.keys(TYPE_URLS) as ResourceKind[];
const golden = (file: string) => new URL(`./__golden__/${file}`, import.meta.url);

/* ---------- the mesh ---------- */

const POLICY: TrafficPolicy = {
  loadBalancer: { algorithm: 'ring_hash', hashOn: [{ header: 'x-user' }], ringSize: { min: 1024, max: 4096 } },
  connectionPool: { maxConnections: 100, maxPendingRequests: 50, maxRequests: 200, maxRetries: 3 },
  outlierDetection: { consecutive5xx: 5, consecutiveGatewayErrors: 3, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 50 },
  healthCheck: { http: { path: '/healthz', expectedStatuses: [{ start: 200, end: 299 }] }, intervalMs: 5000, timeoutMs: 1000, healthyThreshold: 2, unhealthyThreshold: 3 },
  rateLimit: { maxTokens: 100, tokensPerFill: 50, fillIntervalMs: 1000, responseHeaders: { 'retry-after': '1' } },
  localityFailover: true,
};

/** greeter.default (grpc, two v1 endpoints and one v2), shadow.default on the same port (the mirror), web.shop (http). */
function services(): Service[] {
  return [
    service({ namespace: 'shop', name: 'web', protocol: 'http', port: 8080, endpoints: [endpoint({ address: '10.1.0.1' })] }),
    service({ name: 'shadow', endpoints: [endpoint({ address: '10.0.1.1', port: 50051 })] }),
    service({
      trafficPolicy: POLICY,
      endpoints: [
        endpoint({ address: '10.0.0.3', port: 50051, region: 'eu-west', zone: 'a', labels: { version: 'v2', track: 'canary' } }),
        endpoint({ address: '10.0.0.1', port: 50051, region: 'eu-west', zone: 'a', labels: { version: 'v1' } }),
        endpoint({ address: '10.0.0.2', port: 50051, region: 'eu-west', zone: 'b', labels: { version: 'v1' }, weight: 3 }),
      ],
    }),
  ];
}

const greeter = (subset?: Record<string, string>, weight = 100) => ({ namespace: 'default', name: 'greeter', weight, ...(subset ? { subset } : {}) });
const route = (name: string, over: Partial<RouteSpec>): RouteSpec => ({ namespace: 'default', name, hosts: [], priority: 0, match: {}, ...over });

/** The split: 90/10 between v1 and v2, with retries, timeout, mirror, header changes and a prefix rewrite. */
const split = (v1 = 90): RouteSpec =>
  route('split', {
    match: { path: { prefix: '/helloworld.Greeter/' } },
    destinations: [greeter({ version: 'v1' }, v1), greeter({ version: 'v2' }, 100 - v1)],
    timeoutMs: 2000,
    retries: {
      attempts: 3,
      perTryTimeoutMs: 300,
      retryOn: ['unavailable', 'cancelled', 'reset', 'retriable-status-codes'],
      backoff: { baseMs: 25, maxMs: 250 },
      retriableStatusCodes: [503],
    },
    mirror: { namespace: 'default', name: 'shadow', percent: 10 },
    requestHeaders: { set: { 'x-mesh-route': 'split' }, add: { 'x-via': 'apg' }, remove: ['x-internal-token'] },
    responseHeaders: { set: { 'x-served-by': 'greeter' }, remove: ['server'] },
    rewrite: { prefix: '/helloworld.Greeter/' },
  });

const ROUTES: RouteSpec[] = [
  split(),
  // every kind of match, to the v2 subset alone
  route('canary', {
    priority: 20,
    match: {
      path: { exact: '/helloworld.Greeter/SayHello' },
      headers: [{ name: 'x-canary', exact: 'always' }, { name: 'x-debug', present: false }, { name: 'x-tenant', prefix: 'acme-', ignoreCase: true }],
      query: [{ name: 'lang', exact: 'en' }, { name: 'trace', present: true }],
      methods: ['POST'],
    },
    destinations: [greeter({ version: 'v2' })],
  }),
  // fault injection, CORS and a local rate limit, on the whole service
  route('chaos', {
    priority: 10,
    match: { headers: [{ name: 'x-chaos', present: true }] },
    destinations: [greeter()],
    fault: { delay: { fixedMs: 200, percent: 50 }, abort: { grpcStatus: 14, percent: 10 } },
    cors: { allowOrigins: [{ exact: 'https://app.example.com' }, { suffix: '.example.com' }], allowMethods: ['POST', 'OPTIONS'], allowHeaders: ['content-type', 'x-grpc-web'], exposeHeaders: ['grpc-status'], maxAgeSeconds: 600, allowCredentials: true },
    rateLimit: { maxTokens: 100, tokensPerFill: 10, fillIntervalMs: 1000, status: 429, responseHeaders: { 'x-rate-limited': '1' } },
  }),
  // Envoy-only actions: proxyless gRPC leaves these out
  route('moved', {
    priority: 5,
    hosts: ['greeter.default'],
    match: { path: { prefix: '/helloworld.GreeterV0/' } },
    redirect: { scheme: 'https', host: 'greeter.example.com', port: 443, prefix: '/helloworld.Greeter/', statusCode: 308, stripQuery: true },
  }),
  route('retired', {
    priority: 5,
    hosts: ['greeter.default:50051'],
    match: { path: { prefix: '/helloworld.Retired/' } },
    directResponse: { status: 410, body: 'retired' },
  }),
  // hosts no service has: gateway virtual hosts of their own
  { namespace: 'edge', name: 'www', hosts: ['WWW.Example.com'], priority: 0, match: { path: { prefix: '/' } }, destinations: [{ namespace: 'shop', name: 'web', weight: 100 }], rewrite: { host: 'web.shop' } },
  { namespace: 'edge', name: 'apex', hosts: ['example.com'], priority: 0, match: {}, redirect: { scheme: 'https', host: 'www.example.com' } },
];

const mesh = () => meshOf(services(), 1, ROUTES);
const set = buildResources(mesh(), DEFAULT_MESH_SETTINGS);

/** The built resource `name` of `kind` (throws when it is not built). */
function get(s: ResourceSet, kind: ResourceKind, name: string): BuiltResource {
  const found = s[kind].find((b) => b.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${s[kind].map((b) => b.name).join(', ')}`);
  return found;
}
const names = (s: ResourceSet, kind: ResourceKind, keep: (b: BuiltResource) => boolean = () => true) => s[kind].filter(keep).map((b) => b.name);

type VirtualHost = {
  name: string;
  domains: string[];
  routes: { name: string; match: Plain; route?: Plain; redirect?: Plain; directResponse?: Plain; typedPerFilterConfig?: Record<string, Plain> }[];
};
/** The HCM inside a listener's only filter chain, or its API listener. */
function hcmOf(listener: Plain): Plain {
  const api = (listener.apiListener as { apiListener?: Plain } | undefined)?.apiListener;
  if (api) return api;
  const chains = listener.filterChains as { filters: { typedConfig: Plain }[] }[];
  return chains[0]!.filters[0]!.typedConfig;
}
const filterNames = (listener: Plain) => (hcmOf(listener).httpFilters as { name: string; isOptional?: boolean }[]).map((f) => (f.isOptional ? `${f.name} (optional)` : f.name));
const inlineHosts = (listener: Plain) => ((hcmOf(listener).routeConfig as Plain).virtualHosts as VirtualHost[]);
const hostsOf = (routeConfig: Plain) => routeConfig.virtualHosts as VirtualHost[];
const routeNames = (vh: VirtualHost | undefined) => vh!.routes.map((r) => r.name);

/* ---------- tests ---------- */

describe('a mesh with every route feature: what the model makes of it', () => {
  it('attaches every route (none dropped), the external hosts lower-cased', () => {
    const m = mesh();
    expect(m.droppedRoutes).toEqual([]);
    expect(Object.fromEntries(m.services.map((s) => [s.name, s.routes.map((r) => r.spec.name)]))).toEqual({
      greeter: ['canary', 'chaos', 'moved', 'retired', 'split'],
      shadow: [],
      web: [],
    });
    expect([...m.externalHosts.keys()].sort()).toEqual(['example.com', 'www.example.com']);
    expect(m.services.find((s) => s.name === 'greeter')!.subsets).toEqual([{ version: 'v1' }, { version: 'v2' }]);
  });

  it('builds these resources, subset clusters and their EDS beside the service\'s', () => {
    expect(Object.fromEntries(KINDS.map((k) => [k, names(set, k, (b) => !sidecarOnly(b) && !b.name.startsWith('grpc/server?'))]))).toEqual({
      cluster: ['greeter.default', 'greeter.default|version=v1', 'greeter.default|version=v2', 'shadow.default', 'web.shop'],
      endpoint: [
        'greeter.default~37300e9c',
        'greeter.default~37300e9c|version=v1',
        'greeter.default~37300e9c|version=v2',
        expect.stringMatching(/^shadow\.default~[0-9a-f]{8}$/),
        'web.shop~97375646',
      ],
      listener: ['greeter.default:50051', 'greeter.default', 'shadow.default:50051', 'shadow.default', 'web.shop:8080', 'web.shop', 'gateway'],
      route: ['gateway'],
      secret: [],
    });
  });

  it('builds every resource as a valid Envoy message of its type', () => {
    for (const kind of KINDS) for (const b of set[kind]) expectValidEnvoy(messageNameOf(TYPE_URLS[kind]), b.resource);
  });

  it('passes the publish gate whole: zero issues, everything published', () => {
    const { snapshot, issues } = passGate(set, new ResourceEncoder(), emptySnapshot(), 1);
    expect(issues).toEqual([]);
    for (const kind of KINDS) expect([...snapshot.resources.get(TYPE_URLS[kind])!.keys()], kind).toEqual(names(set, kind));
  });

  it('is deterministic: routes, services and endpoints in any order give the same resources', () => {
    const shuffled = services()
      .reverse()
      .map((s) => ({ ...s, endpoints: [...s.endpoints].reverse() }));
    expect(JSON.stringify(buildResources(meshOf(shuffled, 1, [...ROUTES].reverse()), DEFAULT_MESH_SETTINGS))).toBe(JSON.stringify(set));
  });
});

describe('the gateway', () => {
  const listener = get(set, 'listener', 'gateway').resource;
  const config = get(set, 'route', 'gateway').resource;

  it('golden: listener and route configuration', () => {
    expectGolden(golden('traffic-gateway.json'), { listener, routeConfiguration: config });
  });

  it('has the filters the routes use, in Envoy order, router last; CORS and rate limit optional', () => {
    expect(filterNames(listener)).toEqual([
      'envoy.filters.http.fault',
      'envoy.filters.http.cors (optional)',
      'envoy.filters.http.local_ratelimit (optional)',
      'envoy.filters.http.router',
    ]);
  });

  it('serves every route of greeter, redirect and direct response included, then the default; the external hosts after the services', () => {
    expect(hostsOf(config).map((vh) => [vh.name, vh.domains, routeNames(vh)])).toEqual([
      ['greeter.default', ['greeter.default', 'greeter.default:50051', 'greeter.default:10000'], ['default/canary', 'default/chaos', 'default/moved', 'default/retired', 'default/split', 'default']],
      ['shadow.default', ['shadow.default', 'shadow.default:50051', 'shadow.default:10000'], ['default']],
      ['web.shop', ['web.shop', 'web.shop:8080', 'web.shop:10000'], ['default']],
      // no default route on a host no service owns: anything else is a 404
      ['example.com', ['example.com'], ['edge/apex']],
      ['www.example.com', ['www.example.com'], ['edge/www']],
    ]);
  });

  it('splits 90/10 between the subset clusters, hashing on the service\'s header, with every forwarding feature', () => {
    const splitRoute = hostsOf(config)[0]!.routes.find((r) => r.name === 'default/split')!;
    expect(splitRoute.route).toEqual({
      weightedClusters: {
        clusters: [
          { name: 'greeter.default|version=v1', weight: { value: 90 } },
          { name: 'greeter.default|version=v2', weight: { value: 10 } },
        ],
      },
      timeout: { seconds: 2 },
      maxStreamDuration: { maxStreamDuration: { seconds: 2 } },
      retryPolicy: {
        retryOn: 'unavailable,cancelled,reset,retriable-status-codes',
        numRetries: { value: 3 },
        perTryTimeout: { seconds: 0, nanos: 300_000_000 },
        retryBackOff: { baseInterval: { seconds: 0, nanos: 25_000_000 }, maxInterval: { seconds: 0, nanos: 250_000_000 } },
        retriableStatusCodes: [503],
      },
      requestMirrorPolicies: [{ cluster: 'shadow.default', runtimeFraction: { defaultValue: { numerator: 10, denominator: 'HUNDRED' } } }],
      hashPolicy: [{ header: { headerName: 'x-user' } }],
      prefixRewrite: '/helloworld.Greeter/',
    });
  });

  it('hashes the default route on the service\'s header too', () => {
    const last = hostsOf(config)[0]!.routes.at(-1)!;
    expect(last.route).toEqual({ cluster: 'greeter.default', timeout: { seconds: 0 }, hashPolicy: [{ header: { headerName: 'x-user' } }] });
  });
});

describe('a sidecar\'s outbound side', () => {
  const listener = get(set, 'listener', 'outbound:50051').resource;
  const config = get(set, 'route', 'outbound:50051').resource;

  it('golden: the outbound listener and route configuration of the port', () => {
    expectGolden(golden('traffic-sidecar-outbound.json'), { listener, routeConfiguration: config });
  });

  it('carries the filters greeter\'s routes use; the port of web (no routes) only the router', () => {
    expect(filterNames(listener)).toEqual([
      'envoy.filters.http.fault',
      'envoy.filters.http.cors (optional)',
      'envoy.filters.http.local_ratelimit (optional)',
      'envoy.filters.http.router',
    ]);
    expect(filterNames(get(set, 'listener', 'outbound:8080').resource)).toEqual(['envoy.filters.http.router']);
  });

  it('serves greeter\'s routes like the gateway (without the gateway port), and shadow beside it', () => {
    const gatewayGreeter = hostsOf(get(set, 'route', 'gateway').resource)[0]!;
    const [greeterHost, shadowHost] = hostsOf(config);
    expect(greeterHost).toEqual({ ...gatewayGreeter, domains: ['greeter.default', 'greeter.default:50051'] });
    expect(routeNames(shadowHost)).toEqual(['default']);
    expect(hostsOf(config)).toHaveLength(2);
  });
});

describe('a proxyless gRPC client', () => {
  const listener = get(set, 'listener', 'greeter.default:50051').resource;

  it('golden: greeter\'s API listener', () => {
    expectGolden(golden('traffic-proxyless.json'), listener);
  });

  it('the API listener without the port is the same but for its name (listener, stat prefix, route configuration)', () => {
    const want = structuredClone(listener) as Plain & { apiListener: { apiListener: Plain & { routeConfig: Plain } } };
    want.name = 'greeter.default';
    want.apiListener.apiListener.statPrefix = 'greeter_default';
    want.apiListener.apiListener.routeConfig.name = 'greeter.default';
    expect(get(set, 'listener', 'greeter.default').resource).toEqual(want);
  });

  it('leaves out the redirect and the direct response (grpc-js rejects a configuration with either), the default route still last', () => {
    const [vh] = inlineHosts(listener);
    expect(routeNames(vh)).toEqual(['default/chaos', 'default/split', 'default']);
    expect(vh!.routes.every((r) => r.route && !r.redirect && !r.directResponse)).toBe(true);
    expect(inlineHosts(listener)).toHaveLength(1);
  });

  it('keeps the fault filter (gRPC implements it) and marks CORS and rate limit optional, in the chain and on the route', () => {
    expect(filterNames(listener)).toEqual([
      'envoy.filters.http.fault',
      'envoy.filters.http.cors (optional)',
      'envoy.filters.http.local_ratelimit (optional)',
      'envoy.filters.http.router',
    ]);
    const perFilter = inlineHosts(listener)[0]!.routes.find((r) => r.name === 'default/chaos')!.typedPerFilterConfig!;
    expect(Object.keys(perFilter)).toEqual(['envoy.filters.http.fault', 'envoy.filters.http.cors', 'envoy.filters.http.local_ratelimit']);
    expect(perFilter['envoy.filters.http.fault']!['@type']).toBe('type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault');
    for (const f of ['envoy.filters.http.cors', 'envoy.filters.http.local_ratelimit']) {
      expect(perFilter[f], f).toMatchObject({ '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig', isOptional: true });
    }
  });

  // gRPC requests carry no query string, so under Envoy a route that matches on query parameters
  // never takes gRPC traffic. grpc-go follows gRFC A28 and skips such a route ("Ignoring route ...
  // with query parameter matchers"); grpc-js-xds 1.14 (route.js getPredicateForMatcher) keeps the
  // route and silently drops the query matcher, so there `default/canary` takes every POST to
  // /helloworld.Greeter/SayHello with the right headers: traffic the same route never gets through
  // a sidecar. The 'grpc' audience should leave such routes out, as it does redirects.
  it('leaves out a route that matches on query parameters (it could never match a gRPC request)', () => {
    expect(routeNames(inlineHosts(listener)[0])).not.toContain('default/canary');
  });

  it('the API listeners of services without routes carry the router alone', () => {
    for (const name of ['shadow.default:50051', 'web.shop:8080']) expect(filterNames(get(set, 'listener', name).resource), name).toEqual(['envoy.filters.http.router']);
  });

  it('a redirect-only service still gets its default route (and the fault filter only when a route asks for it)', () => {
    const only = meshOf(services(), 1, [ROUTES.find((r) => r.name === 'moved')!]);
    const api = get(buildResources(only, DEFAULT_MESH_SETTINGS), 'listener', 'greeter.default:50051').resource;
    expect(routeNames(inlineHosts(api)[0])).toEqual(['default']);
    expect(filterNames(api)).toEqual(['envoy.filters.http.router']);
  });
});

describe('clusters and load assignments', () => {
  const shared = (kind: ResourceKind) => set[kind].filter((b) => !sidecarOnly(b));

  it('golden: the service and subset clusters, and their load assignments with their locality variants', () => {
    expectGolden(golden('traffic-clusters.json'), {
      clusters: shared('cluster').map((b) => b.resource),
      endpoints: shared('endpoint').map((b) => b.resource),
      endpointVariants: shared('endpoint').flatMap((b) => (b.variants ?? []).map((v) => ({ locality: v.key, ...v.resource }))),
    });
  });

  it('a subset cluster is its service\'s cluster with its own name and EDS name: the whole policy spread in', () => {
    const whole = get(set, 'cluster', 'greeter.default');
    for (const key of ['version=v1', 'version=v2']) {
      const sub = get(set, 'cluster', `greeter.default|${key}`);
      const eds = `greeter.default~37300e9c|${key}`;
      expect(sub).toEqual({
        ...whole,
        name: `greeter.default|${key}`,
        edsName: eds,
        resource: { ...whole.resource, name: `greeter.default|${key}`, edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: 'V3' }, serviceName: eds } },
      });
      expect(sub.resource).toMatchObject({
        lbPolicy: 'RING_HASH',
        ringHashLbConfig: { hashFunction: 'XX_HASH', minimumRingSize: { value: 1024 }, maximumRingSize: { value: 4096 } },
        circuitBreakers: { thresholds: [{ priority: 'DEFAULT', maxConnections: { value: 100 }, maxPendingRequests: { value: 50 }, maxRequests: { value: 200 }, maxRetries: { value: 3 } }] },
        outlierDetection: { consecutive_5xx: { value: 5 }, consecutiveGatewayFailure: { value: 3 }, enforcingConsecutiveGatewayFailure: { value: 100 } },
        healthChecks: [{ httpHealthCheck: { path: '/healthz', expectedStatuses: [{ start: 200, end: 300 }], codecClientType: 'HTTP2' } }],
      });
    }
  });

  it('a subset load assignment holds only the endpoints with its labels; the service\'s holds them all', () => {
    const addresses = (name: string) => {
      const cla = get(set, 'endpoint', name).resource as { clusterName: string; endpoints: { lbEndpoints: { endpoint: { address: { socketAddress: { address: string } } } }[] }[] };
      expect(cla.clusterName).toBe(name);
      return cla.endpoints.flatMap((l) => l.lbEndpoints.map((e) => e.endpoint.address.socketAddress.address)).sort();
    };
    expect(addresses('greeter.default~37300e9c')).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    expect(addresses('greeter.default~37300e9c|version=v1')).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(addresses('greeter.default~37300e9c|version=v2')).toEqual(['10.0.0.3']);
  });

  it('the mirror target gets no subset cluster (it is mirrored whole), and no policy', () => {
    expect(names(set, 'cluster').filter((n) => n.startsWith('shadow.default'))).toEqual(['shadow.default']);
    expect(get(set, 'cluster', 'shadow.default').resource).not.toHaveProperty('circuitBreakers');
  });
});

describe('as grpc-js-xds 1.14 validates them (its own LDS/CDS/EDS resource types, no network)', () => {
  // register() fills its filter and LB policy registries; it opens no connection.
  register();
  const context = { server: {}, bootstrap: { certificateProviders: {} } } as unknown as XdsDecodeContext;
  const ANY = 'type.googleapis.com/';
  const decode = <T extends { decode: (c: XdsDecodeContext, r: { type_url: string; value: Buffer }) => { value?: unknown; error?: string } }>(
    type: T,
    message: string,
    plain: Plain,
  ) => type.decode(context, { type_url: `${ANY}${message}`, value: Buffer.from(expectValidEnvoy(message, plain)) });

  it.each(['greeter.default:50051', 'greeter.default'])('accepts the API listener %s, every route and filter in it', (name) => {
    const got = decode(ListenerResourceType.get(), 'envoy.config.listener.v3.Listener', get(set, 'listener', name).resource);
    expect(got.error).toBeUndefined();
    const hcm = decodeSingleResource(HTTP_CONNECTION_MANGER_TYPE_URL, (got.value as Listener__Output).api_listener!.api_listener!.value);
    const routes = hcm.route_config!.virtual_hosts[0]!.routes;
    expect(routes.map((r) => [r.name, r.action])).toEqual([
      ['default/chaos', 'route'],
      ['default/split', 'route'],
      ['default', 'route'],
    ]);
    expect(routes[1]!.route!.weighted_clusters!.clusters.map((c) => [c.name, c.weight?.value])).toEqual([
      ['greeter.default|version=v1', 90],
      ['greeter.default|version=v2', 10],
    ]);
    expect(hcm.http_filters.map((f) => f.name)).toEqual(['envoy.filters.http.fault', 'envoy.filters.http.cors', 'envoy.filters.http.local_ratelimit', 'envoy.filters.http.router']);
  });

  it('accepts every API listener of the mesh', () => {
    for (const b of set.listener.filter((l) => l.roles.includes('grpc'))) {
      expect(decode(ListenerResourceType.get(), 'envoy.config.listener.v3.Listener', b.resource).error, b.name).toBeUndefined();
    }
  });

  it.each(['greeter.default', 'greeter.default|version=v1', 'greeter.default|version=v2', 'shadow.default', 'web.shop'])('accepts the cluster %s', (name) => {
    const got = decode(ClusterResourceType.get(), 'envoy.config.cluster.v3.Cluster', get(set, 'cluster', name).resource);
    expect(got.error).toBeUndefined();
    if (name.startsWith('greeter')) {
      // ring hash and the max-requests breaker are what gRPC takes from the policy
      expect(got.value).toMatchObject({ name, lbPolicyConfig: [{ ring_hash: { min_ring_size: 1024, max_ring_size: 4096 } }], maxConcurrentRequests: 200 });
    }
  });

  it('accepts every load assignment, the subset ones included', () => {
    for (const b of set.endpoint) {
      expect(decode(EndpointResourceType.get(), 'envoy.config.endpoint.v3.ClusterLoadAssignment', b.resource).error, b.name).toBeUndefined();
    }
  });
});

describe('routes in the virtual hosts of every audience', () => {
  /** Every service virtual host of every route configuration (RDS and inline), with where it was found. */
  function serviceHosts(s: ResourceSet, m: Mesh): [string, VirtualHost][] {
    const serviceNames = new Set(m.services.map((svc) => `${svc.name}.${svc.namespace}`));
    const fromRds = s.route.flatMap((b) => hostsOf(b.resource).map((vh): [string, VirtualHost] => [`rds ${b.name}`, vh]));
    const fromLds = s.listener
      .filter((b) => b.roles.includes('grpc'))
      .flatMap((b) => inlineHosts(b.resource).map((vh): [string, VirtualHost] => [`lds ${b.name}`, vh]));
    return [...fromRds, ...fromLds].filter(([, vh]) => serviceNames.has(vh.name));
  }

  it('the default route is last, and only there, in every service virtual host', () => {
    const hosts = serviceHosts(set, mesh());
    expect(hosts.length).toBe(3 /* gateway */ + 3 /* outbound:50051 and :8080 */ + 6 /* API listeners */);
    for (const [where, vh] of hosts) {
      const routeNamesOf = routeNames(vh);
      expect(routeNamesOf.at(-1), `${where} ${vh.name}`).toBe('default');
      expect(routeNamesOf.filter((n) => n === 'default'), `${where} ${vh.name}`).toHaveLength(1);
      expect(vh.routes.at(-1)!.match, `${where} ${vh.name}`).toEqual({ prefix: '/' });
    }
  });

  it('the default route stays last whatever the priorities (negative ones included)', () => {
    const low = ROUTES.map((r) => ({ ...r, priority: r.priority - 1000 }));
    for (const [where, vh] of serviceHosts(buildResources(meshOf(services(), 1, low), DEFAULT_MESH_SETTINGS), mesh())) {
      expect(routeNames(vh).at(-1), `${where} ${vh.name}`).toBe('default');
    }
  });

  // Envoy rejects a RouteConfiguration in which two virtual hosts share a domain ("Only unique values
  // for domains are permitted"). The gateway gives every service virtual host `<host>:<gateway port>`;
  // a route claiming that same authority is no service's host to attachRoutes (the port is not the
  // service's), so it becomes an external virtual host with the same domain, and the whole gateway
  // route configuration is NACKed. The publish gate's PGV checks cannot see it.
  it('a route claiming "<service host>:<gateway port>" does not repeat a domain in the gateway route configuration', () => {
    const gatewayPortRoute = route('via-gateway-port', { hosts: ['greeter.default:10000'], destinations: [greeter()] });
    const config = get(buildResources(meshOf(services(), 1, [gatewayPortRoute]), DEFAULT_MESH_SETTINGS), 'route', 'gateway').resource;
    const domains = hostsOf(config).flatMap((vh) => vh.domains);
    expect(domains.filter((d, i) => domains.indexOf(d) !== i)).toEqual([]);
  });
});

describe('without routes, nothing changes', () => {
  it('the sample mesh built with no routes gives the existing gateway golden', () => {
    const s = buildResources(meshOf(sampleServices(), 1, []), DEFAULT_MESH_SETTINGS);
    // compared, never rewritten: this file is index.test.ts's
    expectGolden(golden('gateway.json'), { listener: [get(s, 'listener', 'gateway').resource], routeConfiguration: [get(s, 'route', 'gateway').resource] }, false);
  });

  it("the two-service mesh built with no routes gives the existing grpc client's golden view", () => {
    const m = meshOf(
      [
        service({ endpoints: [endpoint({ address: '10.0.0.1', port: 50051, zone: 'a' }), endpoint({ address: '10.0.0.2', port: 50051, zone: 'b' })] }),
        service({ namespace: 'shop', name: 'web', protocol: 'http', port: 8080, endpoints: [endpoint({ address: '10.1.0.1', weight: 5 })] }),
      ],
      1,
      [],
    );
    const s = buildResources(m, DEFAULT_MESH_SETTINGS);
    const view = Object.fromEntries(KINDS.map((k) => [k, s[k].filter((b) => b.roles.includes('grpc') && b.owner === undefined).map((b) => b.resource)]));
    expectGolden(golden('grpc-client-view.json'), view, false);
  });

  it('routes that are all dropped leave every resource as with no routes', () => {
    const dropped = [
      route('to-nowhere', { destinations: [{ namespace: 'default', name: 'missing', weight: 100 }] }),
      route('no-subset', { hosts: ['web.shop'], destinations: [{ namespace: 'shop', name: 'web', subset: { version: 'v9' }, weight: 100 }] }),
      route('bad-mirror', { hosts: ['api.example.com'], destinations: [greeter()], mirror: { namespace: 'x', name: 'y', percent: 1 } }),
    ];
    const m = meshOf(sampleServices(), 1, dropped);
    expect(m.droppedRoutes.map((d) => d.route)).toEqual(['default/bad-mirror', 'default/no-subset', 'default/to-nowhere']);
    expect(buildResources(m, DEFAULT_MESH_SETTINGS)).toEqual(buildResources(sampleMesh(), DEFAULT_MESH_SETTINGS));
  });
});

describe('changing one service\'s routes (buildMesh with the previous mesh)', () => {
  /** Registry rows of `services()`, as the reconciler hands them to buildMesh. */
  const rows = services().map(({ endpoints: _, routes: _r, subsets: _s, ...row }) => ({ ...row, id: row.uid }));
  const endpointRows = services().flatMap((s) => s.endpoints.map((e) => ({ ...e, serviceId: s.uid })));
  const before = buildMesh(1, rows, endpointRows, undefined, ROUTES);
  // only greeter's split changes: 80/20 instead of 90/10
  const after = buildMesh(2, rows, endpointRows, before, ROUTES.map((r) => (r.name === 'split' ? split(80) : r)));
  const first = buildResources(before, DEFAULT_MESH_SETTINGS);
  const second = buildResources(after, DEFAULT_MESH_SETTINGS);
  const byName = (m: Mesh, name: string) => m.services.find((s) => s.name === name)!;

  it('keeps the other services as the very same objects; greeter is new', () => {
    expect(byName(after, 'shadow')).toBe(byName(before, 'shadow'));
    expect(byName(after, 'web')).toBe(byName(before, 'web'));
    expect(byName(after, 'greeter')).not.toBe(byName(before, 'greeter'));
  });

  const untouched: [ResourceKind, string][] = [
    ['cluster', 'shadow.default'],
    ['cluster', 'web.shop'],
    ['cluster', 'inbound:shadow.default'],
    ['cluster', 'inbound:web.shop'],
    ['endpoint', 'web.shop~97375646'],
    ['listener', 'shadow.default:50051'],
    ['listener', 'shadow.default'],
    ['listener', 'web.shop:8080'],
    ['listener', 'web.shop'],
    ['listener', 'inbound:shadow.default'],
    ['listener', 'inbound:web.shop'],
    ['listener', 'outbound:8080'],
    ['route', 'outbound:8080'],
  ];
  it.each(untouched)('the %s %s is the same object', (kind, name) => {
    expect(get(second, kind, name)).toBe(get(first, kind, name));
  });

  it("shadow's EDS resource is the same object", () => {
    const shadowEds = (s: ResourceSet) => s.endpoint.find((b) => b.name.startsWith('shadow.default~'))!;
    expect(shadowEds(second)).toBe(shadowEds(first));
  });

  it('the shared route configurations are rebuilt around the same virtual host objects of the other services', () => {
    const [gwBefore, gwAfter] = [first, second].map((s) => hostsOf(get(s, 'route', 'gateway').resource));
    expect(gwAfter![1]).toBe(gwBefore![1]); // shadow.default
    expect(gwAfter![2]).toBe(gwBefore![2]); // web.shop
    const [obBefore, obAfter] = [first, second].map((s) => hostsOf(get(s, 'route', 'outbound:50051').resource));
    expect(obAfter![1]).toBe(obBefore![1]); // shadow.default
  });

  it("only greeter's routes change, and only in the split's weights", () => {
    const weights = (s: ResourceSet) =>
      (hostsOf(get(s, 'route', 'gateway').resource)[0]!.routes.find((r) => r.name === 'default/split')!.route!.weightedClusters as { clusters: { weight: { value: number } }[] }).clusters.map(
        (c) => c.weight.value,
      );
    expect(weights(first)).toEqual([90, 10]);
    expect(weights(second)).toEqual([80, 20]);
    // greeter's clusters are rebuilt (a new service object) but equal: the routes do not shape them
    for (const name of ['greeter.default', 'greeter.default|version=v1', 'greeter.default|version=v2']) {
      expect(get(second, 'cluster', name)).toEqual(get(first, 'cluster', name));
    }
  });
});

describe("a service's own rate limit", () => {
  const rateLimit = { maxTokens: 10, tokensPerFill: 5, fillIntervalMs: 1000, status: 503, responseHeaders: { 'x-limited': 'yes' } };
  const inboundOf = (protocol: Protocol, port: number) => {
    const limited = meshOf([service({ namespace: 'shop', name: 'web', protocol, port, trafficPolicy: { rateLimit } })]);
    return get(buildResources(limited, DEFAULT_MESH_SETTINGS), 'listener', 'inbound:web.shop').resource;
  };

  it('limits every request on its sidecars\' inbound HTTP listener, before the router, with its status and headers', () => {
    const inbound = inboundOf('http', 8080);
    expect(filterNames(inbound)).toEqual(['envoy.filters.http.local_ratelimit', 'envoy.filters.http.router']);
    const hcm = (inbound.filterChains as { filters: { typedConfig: { httpFilters: { typedConfig: Plain; isOptional?: boolean }[] } }[] }[])[0]!.filters[0]!.typedConfig;
    const limit = hcm.httpFilters[0]!;
    expect(limit.isOptional).toBeUndefined();
    expect(limit.typedConfig).toMatchObject({
      status: { code: 503 },
      tokenBucket: { maxTokens: 10, tokensPerFill: { value: 5 }, fillInterval: { seconds: 1 } },
      filterEnabled: { defaultValue: { numerator: 100 } },
      filterEnforced: { defaultValue: { numerator: 100 } },
      responseHeadersToAdd: [{ header: { key: 'x-limited', value: 'yes' } }],
    });
    expectValidEnvoy('envoy.config.listener.v3.Listener', inbound);
  });

  it('limits new connections on a TCP service\'s inbound listener, before tcp_proxy', () => {
    const inbound = inboundOf('tcp', 5432);
    const filters = (inbound.filterChains as { filters: { name: string; typedConfig: Plain }[] }[])[0]!.filters;
    expect(filters.map((f) => f.name)).toEqual(['envoy.filters.network.local_ratelimit', 'envoy.filters.network.tcp_proxy']);
    expect(filters[0]!.typedConfig).toMatchObject({ tokenBucket: { maxTokens: 10 } });
    expectValidEnvoy('envoy.config.listener.v3.Listener', inbound);
  });

  it('leaves the outbound side and other services alone', () => {
    const m = meshOf([
      service({ namespace: 'shop', name: 'web', protocol: 'http', port: 8080, trafficPolicy: { rateLimit } }),
      service({ namespace: 'shop', name: 'cart', protocol: 'http', port: 8081 }),
    ]);
    const set = buildResources(m, DEFAULT_MESH_SETTINGS);
    expect(filterNames(get(set, 'listener', 'inbound:cart.shop').resource)).toEqual(['envoy.filters.http.router']);
    expect(filterNames(get(set, 'listener', 'outbound:8080').resource)).toEqual(['envoy.filters.http.router']);
  });
});
