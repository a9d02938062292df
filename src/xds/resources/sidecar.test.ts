import { describe, expect, it } from 'vitest';
import type { Plain } from '../../envoy/common.ts';
import { DEFAULT_MESH_SETTINGS, type MeshSettings, type Service } from '../../model/mesh.ts';
import type { Role } from '../../model/proxy.ts';
import { messageType } from '../../protos/loader.ts';
import { decodeToPlain, messageNameOf, TYPE_URLS, type ResourceKind } from '../../protos/type-urls.ts';
import { expectValidEnvoy } from '../../../test/support/envoy.ts';
import { expectGolden } from '../../../test/support/golden.ts';
import { endpoint, meshOf, publishMesh, service } from '../../../test/support/mesh-fixtures.ts';
import { ResourceEncoder } from '../cache/resource.ts';
import { emptySnapshot, SnapshotCache } from '../cache/snapshot-cache.ts';
import { passGate } from '../publish-gate.ts';
import { buildResources } from './index.ts';
import { sidecarClusters, sidecarListeners, sidecarRoutes } from './sidecar.ts';
import type { BuiltResource } from './types.ts';

const KINDS = Object.keys(TYPE_URLS) as ResourceKind[];
const SIDECAR: Role[] = ['sidecar'];
const ADS = { ads: {}, resourceApiVersion: 'V3' };
const HCM_FILTER = 'envoy.filters.network.http_connection_manager';
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const ROUTER = { name: 'envoy.filters.http.router', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const HTTP2 = {
  typedExtensionProtocolOptions: {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      explicitHttpConfig: { http2ProtocolOptions: {} },
    },
  },
};

// The expected resources, written out; each helper takes only what a case may change.
const at = (address: string, portValue: number): Plain => ({ socketAddress: { address, portValue } });
const stat = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, '_');
/** `web.shop` → `shop/web`: the service whose sidecars alone see the inbound resources. */
const ownerOf = (host: string) => host.split('.').reverse().join('/');
const toCluster = (cluster: string) => [{ name: 'default', match: { prefix: '/' }, route: { cluster, timeout: { seconds: 0 } } }];
const tcpProxyTo = (name: string, cluster: string): Plain => ({ name: 'envoy.filters.network.tcp_proxy', typedConfig: { '@type': TCP_PROXY, statPrefix: stat(name), cluster } });
const hcm = (name: string, routes: Plain): Plain => ({
  name: HCM_FILTER,
  typedConfig: { '@type': HCM, statPrefix: stat(name), codecType: 'AUTO', ...routes, httpFilters: [ROUTER] },
});

const passthrough = (connectTimeout: Plain = { seconds: 5 }): BuiltResource => ({
  name: 'PassthroughCluster',
  resource: { name: 'PassthroughCluster', type: 'ORIGINAL_DST', connectTimeout, lbPolicy: 'CLUSTER_PROVIDED' },
  roles: SIDECAR,
});
/** The cluster of the local application of `host`, on 127.0.0.1 at the service port. */
const inboundCluster = (host: string, port: number, over: Plain = {}): BuiltResource => {
  const name = `inbound:${host}`;
  const loadAssignment = { clusterName: name, endpoints: [{ lbEndpoints: [{ endpoint: { address: at('127.0.0.1', port) } }] }] };
  return {
    name,
    resource: { name, type: 'STATIC', connectTimeout: { seconds: 5 }, lbPolicy: 'ROUND_ROBIN', loadAssignment, ...over },
    roles: SIDECAR,
    owner: ownerOf(host),
  };
};

const virtualOutbound = (port = 15001): BuiltResource => ({
  name: 'virtualOutbound',
  resource: {
    name: 'virtualOutbound',
    address: at('0.0.0.0', port),
    useOriginalDst: { value: true },
    trafficDirection: 'OUTBOUND',
    filterChains: [{ filters: [tcpProxyTo('virtualOutbound', 'PassthroughCluster')] }],
  },
  roles: SIDECAR,
});
const outbound = (port: number, filter: Plain): BuiltResource => ({
  name: `outbound:${port}`,
  resource: { name: `outbound:${port}`, address: at('0.0.0.0', port), bindToPort: { value: false }, trafficDirection: 'OUTBOUND', filterChains: [{ filters: [filter] }] },
  roles: SIDECAR,
});
/** The outbound listener of a port with HTTP services: routes over RDS, by host. */
const outboundHttp = (port: number) => outbound(port, hcm(`outbound:${port}`, { rds: { configSource: ADS, routeConfigName: `outbound:${port}` } }));
/** The outbound listener of a port owned by one tcp service. */
const outboundTcp = (port: number, cluster: string) => outbound(port, tcpProxyTo(`outbound:${port}`, cluster));
const inbound = (host: string, filter: Plain, port: number): BuiltResource => ({
  name: `inbound:${host}`,
  resource: { name: `inbound:${host}`, address: at('0.0.0.0', port), trafficDirection: 'INBOUND', filterChains: [{ filters: [filter] }] },
  roles: SIDECAR,
  owner: ownerOf(host),
});
/** The inbound listener of an HTTP service: every host and path to its local application. */
const inboundHttp = (host: string, port = 15006) => {
  const name = `inbound:${host}`;
  return inbound(host, hcm(name, { routeConfig: { name, virtualHosts: [{ name, domains: ['*'], routes: toCluster(name) }] } }), port);
};
/** The inbound listener of a tcp service: a TCP proxy to its local application. */
const inboundTcp = (host: string, port = 15006) => inbound(host, tcpProxyTo(`inbound:${host}`, `inbound:${host}`), port);

/** The route configuration of an outbound port: one virtual host per HTTP service on it, in mesh order. */
const outboundRoutes = (port: number, hosts: string[]): BuiltResource => ({
  name: `outbound:${port}`,
  resource: {
    name: `outbound:${port}`,
    virtualHosts: hosts.map((h) => ({ name: h, domains: [h, `${h}:${port}`], routes: toCluster(h) })),
  },
  roles: SIDECAR,
});

interface Case {
  name: string;
  services: Service[];
  settings?: Partial<MeshSettings>;
  clusters: BuiltResource[];
  listeners: BuiltResource[];
  routes: BuiltResource[];
}

const cases: Case[] = [
  {
    name: 'an empty mesh: only the pass-through cluster and the virtual outbound listener',
    services: [],
    clusters: [passthrough()],
    listeners: [virtualOutbound()],
    routes: [],
  },
  {
    name: 'HTTP services sharing a port: one outbound listener, one route configuration with a virtual host each',
    services: [
      service({ namespace: 'shop', name: 'web', protocol: 'http', port: 8080 }),
      service({ namespace: 'shop', name: 'api', protocol: 'grpc', port: 8080 }),
      service({ namespace: 'ext', name: 'h2', protocol: 'http2', port: 8080 }),
    ],
    clusters: [passthrough(), inboundCluster('h2.ext', 8080, HTTP2), inboundCluster('api.shop', 8080, HTTP2), inboundCluster('web.shop', 8080)],
    listeners: [virtualOutbound(), outboundHttp(8080), inboundHttp('h2.ext'), inboundHttp('api.shop'), inboundHttp('web.shop')],
    routes: [outboundRoutes(8080, ['h2.ext', 'api.shop', 'web.shop'])],
  },
  {
    name: 'a port with one tcp service: a TCP proxy to its cluster, no route configuration',
    services: [service({ namespace: 'shop', name: 'db', protocol: 'tcp', port: 5432, endpoints: [endpoint({ port: 5432 })] })],
    clusters: [passthrough(), inboundCluster('db.shop', 5432)],
    listeners: [virtualOutbound(), outboundTcp(5432, 'db.shop'), inboundTcp('db.shop')],
    routes: [],
  },
  {
    name: 'a port with two tcp services: no outbound listener (nothing tells them apart); inbound ones still built',
    services: [service({ namespace: 'b', name: 'pg', protocol: 'tcp', port: 5432 }), service({ namespace: 'a', name: 'pg', protocol: 'tcp', port: 5432 })],
    clusters: [passthrough(), inboundCluster('pg.a', 5432), inboundCluster('pg.b', 5432)],
    listeners: [virtualOutbound(), inboundTcp('pg.a'), inboundTcp('pg.b')],
    routes: [],
  },
  {
    name: 'a port with HTTP and tcp services: HTTP wins, the tcp service is left out of the route configuration',
    services: [service({ namespace: 'shop', name: 'web', protocol: 'http', port: 8080 }), service({ namespace: 'shop', name: 'raw', protocol: 'tcp', port: 8080 })],
    clusters: [passthrough(), inboundCluster('raw.shop', 8080), inboundCluster('web.shop', 8080)],
    listeners: [virtualOutbound(), outboundHttp(8080), inboundTcp('raw.shop'), inboundHttp('web.shop')],
    routes: [outboundRoutes(8080, ['web.shop'])],
  },
  {
    name: 'ports ascending by number, not as text; inbound resources in mesh order',
    services: [
      service({ name: 'a', protocol: 'http', port: 9000 }),
      service({ name: 'b', protocol: 'tcp', port: 10000 }),
      service({ name: 'c', protocol: 'grpc', port: 443 }),
      service({ name: 'd', protocol: 'http', port: 80 }),
    ],
    clusters: [
      passthrough(),
      inboundCluster('a.default', 9000),
      inboundCluster('b.default', 10000),
      inboundCluster('c.default', 443, HTTP2),
      inboundCluster('d.default', 80),
    ],
    listeners: [
      virtualOutbound(),
      outboundHttp(80),
      outboundHttp(443),
      outboundHttp(9000),
      outboundTcp(10000, 'b.default'),
      inboundHttp('a.default'),
      inboundTcp('b.default'),
      inboundHttp('c.default'),
      inboundHttp('d.default'),
    ],
    routes: [outboundRoutes(80, ['d.default']), outboundRoutes(443, ['c.default']), outboundRoutes(9000, ['a.default'])],
  },
  {
    name: 'the same name in two namespaces on one port: a virtual host and an owner each',
    services: [service({ namespace: 'b', name: 'web', protocol: 'http', port: 8080 }), service({ namespace: 'a', name: 'web', protocol: 'http', port: 8080 })],
    clusters: [passthrough(), inboundCluster('web.a', 8080), inboundCluster('web.b', 8080)],
    listeners: [virtualOutbound(), outboundHttp(8080), inboundHttp('web.a'), inboundHttp('web.b')],
    routes: [outboundRoutes(8080, ['web.a', 'web.b'])],
  },
  {
    name: 'settings: redirect ports and connect timeout',
    services: [service({ namespace: 'shop', name: 'db', protocol: 'tcp', port: 5432 }), service({ namespace: 'shop', name: 'web', protocol: 'http', port: 8080 })],
    settings: { inboundPort: 16006, outboundPort: 16001, connectTimeoutMs: 2000 },
    clusters: [
      passthrough({ seconds: 2 }),
      inboundCluster('db.shop', 5432, { connectTimeout: { seconds: 2 } }),
      inboundCluster('web.shop', 8080, { connectTimeout: { seconds: 2 } }),
    ],
    listeners: [virtualOutbound(16001), outboundTcp(5432, 'db.shop'), outboundHttp(8080), inboundTcp('db.shop', 16006), inboundHttp('web.shop', 16006)],
    routes: [outboundRoutes(8080, ['web.shop'])],
  },
];

const settingsOf = (c: Case): MeshSettings => ({ ...DEFAULT_MESH_SETTINGS, ...c.settings });

describe('sidecar resources', () => {
  it.each(cases)('$name', (c) => {
    const mesh = meshOf(c.services);
    expect(sidecarClusters(mesh, settingsOf(c))).toStrictEqual(c.clusters);
    expect(sidecarListeners(mesh, settingsOf(c))).toStrictEqual(c.listeners);
    expect(sidecarRoutes(mesh)).toStrictEqual(c.routes);
  });

  it.each(cases)('$name: every resource is a valid Envoy message', (c) => {
    const mesh = meshOf(c.services);
    for (const b of sidecarClusters(mesh, settingsOf(c))) expectValidEnvoy('envoy.config.cluster.v3.Cluster', b.resource);
    for (const b of sidecarListeners(mesh, settingsOf(c))) expectValidEnvoy('envoy.config.listener.v3.Listener', b.resource);
    for (const b of sidecarRoutes(mesh)) expectValidEnvoy('envoy.config.route.v3.RouteConfiguration', b.resource);
  });

  it.each(cases)('$name: passes the publish gate, and every cluster a TCP proxy names is built', (c) => {
    const set = buildResources(meshOf(c.services), settingsOf(c));
    expect(passGate(set, new ResourceEncoder(), emptySnapshot(), 1).issues).toEqual([]);
    // the gate follows RDS names and route clusters; TCP proxies are checked here
    const clusters = new Set(set.cluster.map((b) => b.name));
    const proxied = set.listener.flatMap((b) => tcpProxyClusters(b.resource));
    expect(proxied.filter((name) => !clusters.has(name))).toEqual([]);
  });

  it('gives the same resources whatever the order of the registry rows', () => {
    const services = cases.find((c) => c.name.startsWith('ports ascending'))!.services;
    const of = (s: Service[]) => {
      const mesh = meshOf(s);
      return [sidecarClusters(mesh, DEFAULT_MESH_SETTINGS), sidecarListeners(mesh, DEFAULT_MESH_SETTINGS), sidecarRoutes(mesh)];
    };
    expect(of([...services].reverse())).toStrictEqual(of(services));
  });
});

/** The clusters named by the TCP proxies of a listener. */
function tcpProxyClusters(listener: Plain): string[] {
  const chains = (listener.filterChains ?? []) as { filters: { typedConfig: { '@type': string; cluster?: string } }[] }[];
  return chains.flatMap((ch) => ch.filters.filter((f) => f.typedConfig['@type'] === TCP_PROXY).map((f) => f.typedConfig.cluster!));
}

describe('golden files', () => {
  it("a greeter sidecar's whole view of a three-service mesh, as sent on the wire", () => {
    const cache = new SnapshotCache();
    publishMesh(
      cache,
      meshOf([
        service({ endpoints: [endpoint({ address: '10.0.0.1', port: 50051, zone: 'a' }), endpoint({ address: '10.0.0.2', port: 50051, zone: 'b' })] }),
        service({ namespace: 'shop', name: 'web', protocol: 'http', port: 8080, endpoints: [endpoint({ address: '10.1.0.1', weight: 5 })] }),
        service({ namespace: 'shop', name: 'db', protocol: 'tcp', port: 5432, endpoints: [endpoint({ address: '10.1.0.9', port: 5432 })] }),
      ]),
    );
    const visible = (k: ResourceKind) => cache.visible(TYPE_URLS[k], 'sidecar', 'default/greeter');
    // shared outbound resources, and the inbound ones of greeter only (not web's or db's)
    expect(Object.fromEntries(KINDS.map((k) => [k, visible(k).map((r) => r.name)]))).toEqual({
      cluster: ['PassthroughCluster', 'db.shop', 'greeter.default', 'inbound:greeter.default', 'web.shop'],
      endpoint: ['db.shop~ad9c1afe', 'greeter.default~37300e9c', 'web.shop~97375646'],
      listener: ['inbound:greeter.default', 'outbound:50051', 'outbound:5432', 'outbound:8080', 'virtualOutbound'],
      route: ['outbound:50051', 'outbound:8080'],
      secret: [],
    });
    const view = Object.fromEntries(
      KINDS.map((k) => [k, visible(k).map((r) => decodeToPlain(messageType(messageNameOf(TYPE_URLS[k])), r.encoded))]),
    );
    expectGolden(new URL('./__golden__/sidecar-view.json', import.meta.url), view);
  });
});
