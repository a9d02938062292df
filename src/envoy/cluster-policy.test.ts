import { register } from '@grpc/grpc-js-xds';
import { ClusterResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/cluster-resource-type.js';
import type { XdsDecodeContext } from '@grpc/grpc-js-xds/build/src/xds-resource-type/xds-resource-type.js';
import { describe, expect, it } from 'vitest';
import type { Protocol } from '../model/mesh.ts';
import type { TrafficPolicy } from '../model/traffic.ts';
import { envoyRoot } from '../protos/loader.ts';
import { expectValidEnvoy } from '../../test/support/envoy.ts';
import { clusterPolicy } from './cluster-policy.ts';
import type { Plain } from './common.ts';

// The load-balancing extensions travel inside Anys; the shared root does not load them by default.
envoyRoot([
  'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality.proto',
]);

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
/** The smallest valid EDS cluster, with the policy's fields spread in. */
const withPolicy = (fields: Plain): Plain => ({
  name: 'x',
  type: 'EDS',
  edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: 'V3' } },
  connectTimeout: { seconds: 1 },
  ...fields,
});
const LB = 'envoy.extensions.load_balancing_policies';
/** One `LoadBalancingPolicy.Policy`: extension `kind` with its `<Kind>` config message. */
const lbEntry = (kind: string, message: string, fields: Plain = {}): Plain => ({
  typedExtensionConfig: { name: `envoy.load_balancing_policies.${kind}`, typedConfig: { '@type': `type.googleapis.com/${LB}.${kind}.v3.${message}`, ...fields } },
});
/** The least-request `load_balancing_policy` with the given LeastRequest fields, and its round robin fallback for gRPC. */
/** An Envoy load-balancing extension with gRPC's round robin fallback. */
const withFallback = (name: string, message: string, config: Plain = {}): Plain => ({
  lbPolicy: 'ROUND_ROBIN',
  loadBalancingPolicy: {
    policies: [
      lbEntry(name, message, config),
      lbEntry('wrr_locality', 'WrrLocality', { endpointPickingPolicy: { policies: [lbEntry('round_robin', 'RoundRobin')] } }),
    ],
  },
});
const leastRequest = (config: Plain = {}) => withFallback('least_request', 'LeastRequest', config);
const ringHash = (sizes: Plain = {}): Plain => ({ lbPolicy: 'RING_HASH', ringHashLbConfig: { hashFunction: 'XX_HASH', ...sizes } });
const CHECK = { intervalMs: 10_000, timeoutMs: 1_000, healthyThreshold: 2, unhealthyThreshold: 3 };
const CHECK_FIELDS = { timeout: { seconds: 1 }, interval: { seconds: 10 }, healthyThreshold: { value: 2 }, unhealthyThreshold: { value: 3 } };

interface Case {
  name: string;
  policy: TrafficPolicy | undefined;
  protocol?: Protocol;
  want: Plain;
}

const loadBalancing: Case[] = [
  { name: 'no policy: nothing, the cluster stays as it was', policy: undefined, want: {} },
  { name: 'an empty policy: nothing', policy: {}, want: {} },
  { name: 'round robin', policy: { loadBalancer: { algorithm: 'round_robin' } }, want: { lbPolicy: 'ROUND_ROBIN' } },
  {
    name: 'round robin, zone-aware',
    policy: { loadBalancer: { algorithm: 'round_robin', zoneAware: { routingEnabledPercent: 62.5, minClusterSize: 3 } } },
    want: { lbPolicy: 'ROUND_ROBIN', commonLbConfig: { zoneAwareLbConfig: { routingEnabled: { value: 62.5 }, minClusterSize: { value: 3 } } } },
  },
  {
    name: 'zone-aware with Envoy defaults',
    policy: { loadBalancer: { algorithm: 'random', zoneAware: {} } },
    want: withFallback('random', 'Random', { localityLbConfig: { zoneAwareLbConfig: {} } }),
  },
  { name: 'least request: load_balancing_policy with a round robin fallback', policy: { loadBalancer: { algorithm: 'least_request' } }, want: leastRequest() },
  {
    name: 'least request, choice count and zone-aware inside the extension',
    policy: { loadBalancer: { algorithm: 'least_request', choiceCount: 3, zoneAware: { minClusterSize: 10 } } },
    want: leastRequest({ choiceCount: { value: 3 }, localityLbConfig: { zoneAwareLbConfig: { minClusterSize: { value: 10 } } } }),
  },
  { name: 'ring hash, default sizes: XX_HASH only', policy: { loadBalancer: { algorithm: 'ring_hash' } }, want: ringHash() },
  {
    name: 'ring hash with both sizes',
    policy: { loadBalancer: { algorithm: 'ring_hash', ringSize: { min: 2048, max: 4096 } } },
    want: ringHash({ minimumRingSize: { value: 2048 }, maximumRingSize: { value: 4096 } }),
  },
  {
    name: 'ring hash sizes above the 8M cap are held to it',
    policy: { loadBalancer: { algorithm: 'ring_hash', ringSize: { min: 9_000_000, max: 10_000_000 } } },
    want: ringHash({ minimumRingSize: { value: 8_388_608 }, maximumRingSize: { value: 8_388_608 } }),
  },
  {
    name: 'ring hash min above max: min lowered to max',
    policy: { loadBalancer: { algorithm: 'ring_hash', ringSize: { min: 5000, max: 3000 } } },
    want: ringHash({ minimumRingSize: { value: 3000 }, maximumRingSize: { value: 3000 } }),
  },
  {
    name: 'ring hash max below the default min of 1024: min set to max',
    policy: { loadBalancer: { algorithm: 'ring_hash', ringSize: { max: 512 } } },
    want: ringHash({ minimumRingSize: { value: 512 }, maximumRingSize: { value: 512 } }),
  },
  {
    name: 'ring hash min alone, zero held to 1',
    policy: { loadBalancer: { algorithm: 'ring_hash', ringSize: { min: 0 } } },
    want: ringHash({ minimumRingSize: { value: 1 } }),
  },
  {
    name: 'ring hash, fractional min truncated, zone-aware too',
    policy: { loadBalancer: { algorithm: 'ring_hash', ringSize: { min: 100.9 }, zoneAware: { routingEnabledPercent: 100 } } },
    want: { ...ringHash({ minimumRingSize: { value: 100 } }), commonLbConfig: { zoneAwareLbConfig: { routingEnabled: { value: 100 } } } },
  },
  { name: 'random: the extension, with a round robin fallback', policy: { loadBalancer: { algorithm: 'random' } }, want: withFallback('random', 'Random') },
  {
    name: 'maglev: the extension, with a round robin fallback (hashOn belongs to the routes)',
    policy: { loadBalancer: { algorithm: 'maglev', hashOn: [{ header: 'x-user' }] } },
    want: withFallback('maglev', 'Maglev'),
  },
];

const resilience: Case[] = [
  {
    name: 'connection pool: every limit at DEFAULT priority',
    policy: { connectionPool: { maxConnections: 100, maxPendingRequests: 50, maxRequests: 200, maxRetries: 3 } },
    want: {
      circuitBreakers: {
        thresholds: [
          { priority: 'DEFAULT', maxConnections: { value: 100 }, maxPendingRequests: { value: 50 }, maxRequests: { value: 200 }, maxRetries: { value: 3 } },
        ],
      },
    },
  },
  {
    name: 'connection pool: only the limits given (0 is a limit)',
    policy: { connectionPool: { maxRequests: 10, maxRetries: 0 } },
    want: { circuitBreakers: { thresholds: [{ priority: 'DEFAULT', maxRequests: { value: 10 }, maxRetries: { value: 0 } }] } },
  },
  { name: 'connection pool without limits: no circuit breakers', policy: { connectionPool: {} }, want: {} },
  {
    name: 'outlier detection, every field; a fractional max ejection percent rounds down',
    policy: {
      outlierDetection: { consecutive5xx: 5, consecutiveGatewayErrors: 3, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 33.7 },
    },
    want: {
      outlierDetection: {
        enforcingSuccessRate: { value: 0 },
        consecutive_5xx: { value: 5 },
        consecutiveGatewayFailure: { value: 3 },
        enforcingConsecutiveGatewayFailure: { value: 100 },
        interval: { seconds: 10 },
        baseEjectionTime: { seconds: 30 },
        maxEjectionPercent: { value: 33 },
      },
    },
  },
  {
    name: 'outlier detection on gateway errors alone: enforced',
    policy: { outlierDetection: { consecutiveGatewayErrors: 2, intervalMs: 1500 } },
    want: {
      outlierDetection: {
        enforcingSuccessRate: { value: 0 },
        consecutiveGatewayFailure: { value: 2 },
        enforcingConsecutiveGatewayFailure: { value: 100 },
        interval: { seconds: 1, nanos: 500_000_000 },
      },
    },
  },
  {
    name: 'failure-percentage ejection (what proxyless gRPC applies): enforced',
    policy: { outlierDetection: { intervalMs: 500, failurePercentage: { threshold: 50, minimumHosts: 2, requestVolume: 10 } } },
    want: {
      outlierDetection: {
        enforcingSuccessRate: { value: 0 },
        interval: { seconds: 0, nanos: 500_000_000 },
        failurePercentageThreshold: { value: 50 },
        enforcingFailurePercentage: { value: 100 },
        failurePercentageMinimumHosts: { value: 2 },
        failurePercentageRequestVolume: { value: 10 },
      },
    },
  },
  { name: 'outlier detection with Envoy defaults, success-rate ejection off', policy: { outlierDetection: {} }, want: { outlierDetection: { enforcingSuccessRate: { value: 0 } } } },
];

const healthChecks: Case[] = [
  {
    name: 'HTTP check: inclusive model ranges become half-open Int64Ranges',
    policy: { healthCheck: { ...CHECK, http: { path: '/healthz', host: 'web.internal', expectedStatuses: [{ start: 200, end: 299 }, { start: 304, end: 304 }] } } },
    protocol: 'http',
    want: {
      healthChecks: [
        {
          ...CHECK_FIELDS,
          httpHealthCheck: { path: '/healthz', host: 'web.internal', expectedStatuses: [{ start: 200, end: 300 }, { start: 304, end: 305 }] },
        },
      ],
    },
  },
  {
    name: 'HTTP check without statuses or host, protocol unknown: HTTP/1.1 codec',
    policy: { healthCheck: { ...CHECK, http: { path: '/ready', expectedStatuses: [] } } },
    want: { healthChecks: [{ ...CHECK_FIELDS, httpHealthCheck: { path: '/ready' } }] },
  },
  {
    name: 'HTTP check of an http2 service: HTTP/2 codec',
    policy: { healthCheck: { ...CHECK, http: { path: '/ready' } } },
    protocol: 'http2',
    want: { healthChecks: [{ ...CHECK_FIELDS, httpHealthCheck: { path: '/ready', codecClientType: 'HTTP2' } }] },
  },
  {
    name: 'gRPC check of one service',
    policy: { healthCheck: { ...CHECK, grpc: { serviceName: 'greeter.v1.Greeter' } } },
    protocol: 'grpc',
    want: { healthChecks: [{ ...CHECK_FIELDS, grpcHealthCheck: { serviceName: 'greeter.v1.Greeter' } }] },
  },
  {
    name: 'gRPC check of the whole server',
    policy: { healthCheck: { ...CHECK, grpc: {} } },
    want: { healthChecks: [{ ...CHECK_FIELDS, grpcHealthCheck: {} }] },
  },
  {
    name: 'TCP check, sub-second timings',
    policy: { healthCheck: { ...CHECK, intervalMs: 2500, timeoutMs: 250, tcp: {} } },
    want: {
      healthChecks: [
        { ...CHECK_FIELDS, interval: { seconds: 2, nanos: 500_000_000 }, timeout: { seconds: 0, nanos: 250_000_000 }, tcpHealthCheck: {} },
      ],
    },
  },
  { name: 'no checker named: TCP connect', policy: { healthCheck: CHECK }, want: { healthChecks: [{ ...CHECK_FIELDS, tcpHealthCheck: {} }] } },
  {
    name: 'everything at once; the rate limit is not a cluster field',
    policy: {
      loadBalancer: { algorithm: 'ring_hash', ringSize: { max: 4096 } },
      connectionPool: { maxRequests: 64 },
      outlierDetection: { consecutive5xx: 7 },
      healthCheck: { ...CHECK, grpc: {} },
      rateLimit: { maxTokens: 10, tokensPerFill: 10, fillIntervalMs: 1000 },
    },
    want: {
      ...ringHash({ maximumRingSize: { value: 4096 } }),
      circuitBreakers: { thresholds: [{ priority: 'DEFAULT', maxRequests: { value: 64 } }] },
      outlierDetection: { enforcingSuccessRate: { value: 0 }, consecutive_5xx: { value: 7 } },
      healthChecks: [{ ...CHECK_FIELDS, grpcHealthCheck: {} }],
    },
  },
];

describe.each([
  ['load balancing', loadBalancing],
  ['circuit breakers and outlier detection', resilience],
  ['health checks', healthChecks],
])('clusterPolicy: %s', (_, cases) => {
  it.each(cases)('$name', ({ policy, protocol, want }) => {
    const got = clusterPolicy(policy, protocol);
    expect(got).toStrictEqual(want);
    expectValidEnvoy(CLUSTER, withPolicy(got));
  });
});

describe('clusters as grpc-js-xds 1.14 validates them (its CDS resource type, no network)', () => {
  // register() fills its LB policy registry (wrr_locality, round_robin, ring_hash); it opens no connection.
  register();
  // Only a cluster with lrs_server or an UpstreamTlsContext reads the context.
  const context = { server: {}, bootstrap: { certificateProviders: {} } } as unknown as XdsDecodeContext;
  const decodeCluster = (cluster: Plain) => {
    const bytes = expectValidEnvoy(CLUSTER, cluster);
    return ClusterResourceType.get().decode(context, { type_url: `type.googleapis.com/${CLUSTER}`, value: Buffer.from(bytes) });
  };
  const decode = (policy: TrafficPolicy) => decodeCluster(withPolicy(clusterPolicy(policy)));
  const WRR_ROUND_ROBIN = [{ xds_wrr_locality: { child_policy: [{ round_robin: {} }] } }];
  const accepted: { name: string; policy: TrafficPolicy; lb: unknown[]; maxConcurrentRequests?: number }[] = [
    { name: 'no policy: round robin per locality', policy: {}, lb: WRR_ROUND_ROBIN },
    { name: 'round robin, zone-aware (ignored by gRPC)', policy: { loadBalancer: { algorithm: 'round_robin', zoneAware: { minClusterSize: 2 } } }, lb: WRR_ROUND_ROBIN },
    {
      name: 'least request: gRPC skips the extension it lacks and takes the round robin fallback',
      policy: { loadBalancer: { algorithm: 'least_request', choiceCount: 4, zoneAware: {} } },
      lb: WRR_ROUND_ROBIN,
    },
    { name: 'random: the round robin fallback', policy: { loadBalancer: { algorithm: 'random', zoneAware: {} } }, lb: WRR_ROUND_ROBIN },
    { name: 'maglev: the round robin fallback', policy: { loadBalancer: { algorithm: 'maglev' } }, lb: WRR_ROUND_ROBIN },
    { name: 'ring hash, default sizes', policy: { loadBalancer: { algorithm: 'ring_hash' } }, lb: [{ ring_hash: { min_ring_size: 1024, max_ring_size: 8_388_608 } }] },
    {
      name: 'ring hash, sizes above the cap held to it',
      policy: { loadBalancer: { algorithm: 'ring_hash', ringSize: { min: 20_000_000, max: 20_000_000 } } },
      lb: [{ ring_hash: { min_ring_size: 8_388_608, max_ring_size: 8_388_608 } }],
    },
    {
      name: 'ring hash with a small max alone',
      policy: { loadBalancer: { algorithm: 'ring_hash', ringSize: { max: 256 } } },
      lb: [{ ring_hash: { min_ring_size: 256, max_ring_size: 256 } }],
    },
    {
      name: 'max requests becomes its concurrency limit; the rest of the policy is accepted',
      policy: {
        loadBalancer: { algorithm: 'least_request' },
        connectionPool: { maxConnections: 5, maxRequests: 32 },
        outlierDetection: { consecutive5xx: 3, intervalMs: 5000, maxEjectionPercent: 50 },
        healthCheck: { ...CHECK, grpc: {} },
      },
      lb: WRR_ROUND_ROBIN,
      maxConcurrentRequests: 32,
    },
  ];
  it.each(accepted)('accepts: $name', ({ policy, lb, maxConcurrentRequests }) => {
    const got = decode(policy);
    expect(got.error).toBeUndefined();
    expect(got.value).toMatchObject({ name: 'x', type: 'EDS', lbPolicyConfig: lb, maxConcurrentRequests });
  });

  it('rejects the legacy LEAST_REQUEST enum, which is why least_request goes through load_balancing_policy', () => {
    const got = decodeCluster(withPolicy({ lbPolicy: 'LEAST_REQUEST', leastRequestLbConfig: { choiceCount: { value: 2 } } }));
    expect(got.error).toBe('Cluster message validation failed: [load_balancing_policy unset and unsupported lb_policy: LEAST_REQUEST]');
  });

  it.each(['RANDOM', 'MAGLEV'])('rejects the legacy %s enum, which is why random and maglev go through load_balancing_policy too', (lbPolicy) => {
    const got = decodeCluster(withPolicy({ lbPolicy }));
    expect(got.value).toBeUndefined();
    expect(got.error).toBe(`Cluster message validation failed: [load_balancing_policy unset and unsupported lb_policy: ${lbPolicy}]`);
  });
});
