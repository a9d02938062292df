import { describe, expect, it } from 'vitest';
import { DEFAULT_MESH_SETTINGS, type MeshSettings, type Protocol, type Service } from '../model/mesh.ts';
import { expectValidEnvoy } from '../../test/support/envoy.ts';
import { endpoint, service, uidOf } from '../../test/support/mesh-fixtures.ts';
import { NO_EJECTION } from './cluster-policy.ts';
import { addressCluster, cluster, discoveryType, originalDstCluster, staticCluster } from './cluster.ts';
import type { Plain } from './common.ts';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const ADS = { ads: {}, resourceApiVersion: 'V3' };
const HTTP2_OPTIONS = {
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
    '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    explicitHttpConfig: { http2ProtocolOptions: {} },
  },
};
const NO_LOCALITY = { region: '', zone: '', subZone: '' };
/** The `apg.mesh` metadata naming the service (a google.protobuf.Struct in protobufjs' shape); the uid defaults to the fixture's. */
const origin = (namespace: string, name: string, uid = uidOf(namespace, name)): Plain => ({
  filterMetadata: { 'apg.mesh': { fields: { service: { stringValue: `${namespace}/${name}` }, uid: { stringValue: uid } } } },
});
const lb = (address: string, port: number, healthStatus = 'HEALTHY', weight = 1): Plain => ({
  endpoint: { address: { socketAddress: { address, portValue: port } } },
  healthStatus,
  loadBalancingWeight: { value: weight },
});

interface Case {
  name: string;
  svc: Partial<Service>;
  settings?: Partial<MeshSettings>;
  want: Plain;
}

const cases: Case[] = [
  {
    name: 'http service with IP endpoints: EDS over ADS, no HTTP/2',
    svc: { name: 'web', namespace: 'shop', protocol: 'http', port: 8080, endpoints: [endpoint()] },
    want: {
      name: 'web.shop',
      type: 'EDS',
      connectTimeout: { seconds: 5 },
      lbPolicy: 'ROUND_ROBIN',
      metadata: origin('shop', 'web'),
      edsClusterConfig: { edsConfig: ADS, serviceName: 'web.shop~97375646' },
    },
  },
  {
    name: 'grpc service: EDS with HTTP/2 upstream',
    svc: { endpoints: [endpoint()] },
    want: {
      name: 'greeter.default',
      type: 'EDS',
      connectTimeout: { seconds: 5 },
      lbPolicy: 'ROUND_ROBIN',
      metadata: origin('default', 'greeter'),
      edsClusterConfig: { edsConfig: ADS, serviceName: 'greeter.default~37300e9c' },
      typedExtensionProtocolOptions: HTTP2_OPTIONS,
    },
  },
  {
    name: 'http2 service: HTTP/2 upstream',
    svc: { name: 'h2', protocol: 'http2' },
    want: {
      name: 'h2.default',
      type: 'EDS',
      connectTimeout: { seconds: 5 },
      lbPolicy: 'ROUND_ROBIN',
      metadata: origin('default', 'h2'),
      edsClusterConfig: { edsConfig: ADS, serviceName: 'h2.default~d1426d81' },
      typedExtensionProtocolOptions: HTTP2_OPTIONS,
    },
  },
  {
    name: 'tcp service: EDS, no HTTP protocol options',
    svc: { name: 'db', protocol: 'tcp', port: 5432, endpoints: [endpoint({ port: 5432 })] },
    want: {
      name: 'db.default',
      type: 'EDS',
      connectTimeout: { seconds: 5 },
      lbPolicy: 'ROUND_ROBIN',
      metadata: origin('default', 'db'),
      edsClusterConfig: { edsConfig: ADS, serviceName: 'db.default~e8853f44' },
    },
  },
  {
    name: 'no endpoints at all: still EDS',
    svc: { protocol: 'http', endpoints: [] },
    want: {
      name: 'greeter.default',
      type: 'EDS',
      connectTimeout: { seconds: 5 },
      lbPolicy: 'ROUND_ROBIN',
      metadata: origin('default', 'greeter'),
      edsClusterConfig: { edsConfig: ADS, serviceName: 'greeter.default~37300e9c' },
    },
  },
  {
    name: 'one host name endpoint: LOGICAL_DNS with the endpoint inline',
    svc: { name: 'ext', protocol: 'http', endpoints: [endpoint({ address: 'api.example.com', port: 443 })] },
    want: {
      name: 'ext.default',
      type: 'LOGICAL_DNS',
      connectTimeout: { seconds: 5 },
      lbPolicy: 'ROUND_ROBIN',
      metadata: origin('default', 'ext'),
      loadAssignment: {
        clusterName: 'ext.default',
        endpoints: [{ locality: NO_LOCALITY, lbEndpoints: [lb('api.example.com', 443)], loadBalancingWeight: { value: 1 } }],
      },
    },
  },
  {
    name: 'several host names: STRICT_DNS, HTTP/2 kept for grpc',
    svc: { endpoints: [endpoint({ address: 'a.example.com', weight: 2 }), endpoint({ address: 'b.example.com', weight: 3 })] },
    want: {
      name: 'greeter.default',
      type: 'STRICT_DNS',
      connectTimeout: { seconds: 5 },
      lbPolicy: 'ROUND_ROBIN',
      metadata: origin('default', 'greeter'),
      loadAssignment: {
        clusterName: 'greeter.default',
        endpoints: [
          {
            locality: NO_LOCALITY,
            lbEndpoints: [lb('a.example.com', 8080, 'HEALTHY', 2), lb('b.example.com', 8080, 'HEALTHY', 3)],
            loadBalancingWeight: { value: 5 },
          },
        ],
      },
      typedExtensionProtocolOptions: HTTP2_OPTIONS,
    },
  },
  {
    name: 'a host name among IPs: STRICT_DNS (IP literals resolve to themselves)',
    svc: { protocol: 'http', endpoints: [endpoint({ address: '10.0.0.1' }), endpoint({ address: 'b.example.com' })] },
    want: {
      name: 'greeter.default',
      type: 'STRICT_DNS',
      connectTimeout: { seconds: 5 },
      lbPolicy: 'ROUND_ROBIN',
      metadata: origin('default', 'greeter'),
      loadAssignment: {
        clusterName: 'greeter.default',
        endpoints: [{ locality: NO_LOCALITY, lbEndpoints: [lb('10.0.0.1', 8080), lb('b.example.com', 8080)], loadBalancingWeight: { value: 2 } }],
      },
    },
  },
  {
    // LOGICAL_DNS must carry exactly one endpoint (Envoy and gRPC both reject it otherwise)
    name: 'the only host name is unhealthy: STRICT_DNS with an empty load assignment',
    svc: { name: 'ext', protocol: 'http', endpoints: [endpoint({ address: 'api.example.com', health: 'unhealthy' })] },
    want: {
      name: 'ext.default',
      type: 'STRICT_DNS',
      connectTimeout: { seconds: 5 },
      lbPolicy: 'ROUND_ROBIN',
      metadata: origin('default', 'ext'),
      loadAssignment: { clusterName: 'ext.default', endpoints: [] },
    },
  },
  {
    name: 'one of two host names is unhealthy: LOGICAL_DNS with the other one',
    svc: {
      name: 'ext',
      protocol: 'http',
      endpoints: [endpoint({ address: 'a.example.com', health: 'unhealthy' }), endpoint({ address: 'b.example.com', health: 'draining' })],
    },
    want: {
      name: 'ext.default',
      type: 'LOGICAL_DNS',
      connectTimeout: { seconds: 5 },
      lbPolicy: 'ROUND_ROBIN',
      metadata: origin('default', 'ext'),
      loadAssignment: {
        clusterName: 'ext.default',
        endpoints: [{ locality: NO_LOCALITY, lbEndpoints: [lb('b.example.com', 8080, 'DRAINING')], loadBalancingWeight: { value: 1 } }],
      },
    },
  },
  {
    name: 'connect timeout from the settings, sub-second',
    svc: { protocol: 'http' },
    settings: { connectTimeoutMs: 250 },
    want: {
      name: 'greeter.default',
      type: 'EDS',
      connectTimeout: { seconds: 0, nanos: 250_000_000 },
      lbPolicy: 'ROUND_ROBIN',
      metadata: origin('default', 'greeter'),
      edsClusterConfig: { edsConfig: ADS, serviceName: 'greeter.default~37300e9c' },
    },
  },
  {
    name: 'the EDS name takes the first 8 alphanumerics of the uid, separators skipped',
    svc: { protocol: 'http', uid: '0a-1b_2c.3d-4e5f6a7b' },
    want: {
      name: 'greeter.default',
      type: 'EDS',
      connectTimeout: { seconds: 5 },
      lbPolicy: 'ROUND_ROBIN',
      metadata: origin('default', 'greeter', '0a-1b_2c.3d-4e5f6a7b'),
      edsClusterConfig: { edsConfig: ADS, serviceName: 'greeter.default~0a1b2c3d' },
    },
  },
  {
    name: 'a DNS cluster keeps the cluster name in its inline load assignment, whatever the uid',
    svc: { name: 'ext', protocol: 'http', uid: 'feedface-0000-4000-8000-000000000000', endpoints: [endpoint({ address: 'api.example.com' })] },
    want: {
      name: 'ext.default',
      type: 'LOGICAL_DNS',
      connectTimeout: { seconds: 5 },
      lbPolicy: 'ROUND_ROBIN',
      metadata: origin('default', 'ext', 'feedface-0000-4000-8000-000000000000'),
      loadAssignment: {
        clusterName: 'ext.default',
        endpoints: [{ locality: NO_LOCALITY, lbEndpoints: [lb('api.example.com', 8080)], loadBalancingWeight: { value: 1 } }],
      },
    },
  },
];

describe('cluster', () => {
  it.each(cases)('$name', ({ svc, settings, want }) => {
    const got = cluster(service(svc), { ...DEFAULT_MESH_SETTINGS, ...settings });
    // Every service cluster without an outlier policy carries the no-ejection one (see NO_EJECTION).
    expect(got).toEqual({ ...want, outlierDetection: NO_EJECTION });
    expectValidEnvoy(CLUSTER, got);
  });

  it('outlier detection that ejects nothing: every enforcement at 0%', () => {
    expect(NO_EJECTION).toEqual({
      enforcingConsecutive_5xx: { value: 0 },
      enforcingSuccessRate: { value: 0 },
      enforcingConsecutiveGatewayFailure: { value: 0 },
      enforcingFailurePercentage: { value: 0 },
    });
    const withPolicy = cluster(service({ trafficPolicy: { outlierDetection: { consecutive5xx: 3 } } }), DEFAULT_MESH_SETTINGS);
    expect(withPolicy.outlierDetection).toEqual({ enforcingSuccessRate: { value: 0 }, consecutive_5xx: { value: 3 } });
  });
});

describe('cluster of a re-created service (same namespace and name, new uid)', () => {
  // byte-level versions, and the same uid giving the same bytes, are covered in xds/resources/index.test.ts
  const OLD = 'aaaaaaaa-0000-4000-8000-000000000001';
  const NEW = 'bbbbbbbb-0000-4000-8000-000000000002';
  const of = (uid: string) => cluster(service({ uid, endpoints: [endpoint()] }), DEFAULT_MESH_SETTINGS);

  it('differs only in the EDS name and the uid in the metadata', () => {
    const before = of(OLD);
    expect(before.edsClusterConfig).toEqual({ edsConfig: ADS, serviceName: 'greeter.default~aaaaaaaa' });
    expect(of(NEW)).toEqual({
      ...before,
      metadata: origin('default', 'greeter', NEW),
      edsClusterConfig: { edsConfig: ADS, serviceName: 'greeter.default~bbbbbbbb' },
    });
  });
});

describe('discoveryType', () => {
  const table: { name: string; svc: Partial<Service>; want: ReturnType<typeof discoveryType> }[] = [
    { name: 'no endpoints', svc: {}, want: 'EDS' },
    { name: 'IPv4 and IPv6 endpoints', svc: { endpoints: [endpoint(), endpoint({ address: 'fd00::1' })] }, want: 'EDS' },
    { name: 'one host name', svc: { endpoints: [endpoint({ address: 'a.example.com' })] }, want: 'LOGICAL_DNS' },
    { name: 'two host names', svc: { endpoints: [endpoint({ address: 'a.example.com' }), endpoint({ address: 'b.example.com' })] }, want: 'STRICT_DNS' },
    { name: 'one host name, unhealthy', svc: { endpoints: [endpoint({ address: 'a.example.com', health: 'unhealthy' })] }, want: 'STRICT_DNS' },
    {
      name: 'an unhealthy host name keeps the cluster on DNS, with the one IP that serves',
      svc: { endpoints: [endpoint({ address: 'a.example.com', health: 'unhealthy' }), endpoint()] },
      want: 'LOGICAL_DNS',
    },
  ];
  it.each(table)('$name → $want', ({ svc, want }) => {
    expect(discoveryType(service(svc))).toBe(want);
  });
});

describe('staticCluster', () => {
  /** The one-endpoint STATIC cluster with the default settings; a case lists only what differs. */
  const staticOf = (name: string, address: string, port: number, over: Plain = {}): Plain => ({
    name,
    type: 'STATIC',
    connectTimeout: { seconds: 5 },
    lbPolicy: 'ROUND_ROBIN',
    loadAssignment: { clusterName: name, endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address, portValue: port } } } }] }] },
    ...over,
  });
  const cases: { name: string; args: [string, string, number]; settings?: Partial<MeshSettings>; protocol?: Protocol; want: Plain }[] = [
    {
      name: "a sidecar's local application on 127.0.0.1, no protocol: HTTP/1.1 or raw TCP upstream",
      args: ['inbound:web.shop', '127.0.0.1', 8080],
      want: staticOf('inbound:web.shop', '127.0.0.1', 8080),
    },
    { name: 'http: no protocol options', args: ['inbound:web.shop', '127.0.0.1', 80], protocol: 'http', want: staticOf('inbound:web.shop', '127.0.0.1', 80) },
    { name: 'tcp: no protocol options', args: ['inbound:db.shop', '127.0.0.1', 5432], protocol: 'tcp', want: staticOf('inbound:db.shop', '127.0.0.1', 5432) },
    {
      // gRPC needs HTTP/2 to the application: Envoy's default upstream codec is HTTP/1.1
      name: 'grpc: HTTP/2 upstream',
      args: ['inbound:greeter.default', '127.0.0.1', 50051],
      protocol: 'grpc',
      want: staticOf('inbound:greeter.default', '127.0.0.1', 50051, { typedExtensionProtocolOptions: HTTP2_OPTIONS }),
    },
    {
      name: 'http2: HTTP/2 upstream',
      args: ['inbound:h2.default', '127.0.0.1', 8443],
      protocol: 'http2',
      want: staticOf('inbound:h2.default', '127.0.0.1', 8443, { typedExtensionProtocolOptions: HTTP2_OPTIONS }),
    },
    { name: 'an IPv6 address', args: ['local6', '::1', 9000], want: staticOf('local6', '::1', 9000) },
    {
      name: 'connect timeout from the settings',
      args: ['inbound:web.shop', '127.0.0.1', 8080],
      settings: { connectTimeoutMs: 1500 },
      want: staticOf('inbound:web.shop', '127.0.0.1', 8080, { connectTimeout: { seconds: 1, nanos: 500_000_000 } }),
    },
  ];
  it.each(cases)('$name', ({ args, settings, protocol, want }) => {
    const got = staticCluster(...args, { ...DEFAULT_MESH_SETTINGS, ...settings }, protocol);
    expect(got).toStrictEqual(want);
    expectValidEnvoy(CLUSTER, got);
  });
});

describe('addressCluster', () => {
  const one = (name: string, address: string, portValue: number) => ({
    clusterName: name,
    endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address, portValue } } } }] }],
  });
  const cases: { name: string; host: string; port: number; protocol?: Protocol; want: Plain }[] = [
    {
      name: 'a host name: STRICT_DNS (re-resolved), HTTP/2 for a gRPC service',
      host: 'telemetry.mesh',
      port: 18001,
      protocol: 'grpc',
      want: { name: 'apg-telemetry', type: 'STRICT_DNS', connectTimeout: { seconds: 5 }, lbPolicy: 'ROUND_ROBIN', loadAssignment: one('apg-telemetry', 'telemetry.mesh', 18001), typedExtensionProtocolOptions: HTTP2_OPTIONS },
    },
    {
      name: 'an IPv4 address: STATIC, HTTP/1.1 when no protocol asks for HTTP/2 (Zipkin)',
      host: '10.0.0.9',
      port: 9411,
      protocol: 'http',
      want: { name: 'apg-telemetry', type: 'STATIC', connectTimeout: { seconds: 5 }, lbPolicy: 'ROUND_ROBIN', loadAssignment: one('apg-telemetry', '10.0.0.9', 9411) },
    },
    {
      name: 'an IPv6 address: STATIC',
      host: 'fd00::9',
      port: 4317,
      protocol: 'grpc',
      want: { name: 'apg-telemetry', type: 'STATIC', connectTimeout: { seconds: 5 }, lbPolicy: 'ROUND_ROBIN', loadAssignment: one('apg-telemetry', 'fd00::9', 4317), typedExtensionProtocolOptions: HTTP2_OPTIONS },
    },
  ];
  it.each(cases)('$name', ({ host, port, protocol, want }) => {
    const got = addressCluster('apg-telemetry', { host, port }, DEFAULT_MESH_SETTINGS, protocol);
    expect(got).toStrictEqual(want);
    expectValidEnvoy(CLUSTER, got);
  });
});

describe('originalDstCluster', () => {
  const cases: { name: string; settings?: Partial<MeshSettings>; want: Plain }[] = [
    {
      name: 'forwards to the original destination, load balancing left to the cluster',
      want: { name: 'PassthroughCluster', type: 'ORIGINAL_DST', connectTimeout: { seconds: 5 }, lbPolicy: 'CLUSTER_PROVIDED' },
    },
    {
      name: 'connect timeout from the settings',
      settings: { connectTimeoutMs: 250 },
      want: { name: 'PassthroughCluster', type: 'ORIGINAL_DST', connectTimeout: { seconds: 0, nanos: 250_000_000 }, lbPolicy: 'CLUSTER_PROVIDED' },
    },
  ];
  it.each(cases)('$name', ({ settings, want }) => {
    const got = originalDstCluster('PassthroughCluster', { ...DEFAULT_MESH_SETTINGS, ...settings });
    expect(got).toStrictEqual(want);
    expectValidEnvoy(CLUSTER, got);
  });
});
