/**
 * The cluster side of a service's traffic policy: load balancing, circuit breakers, outlier
 * detection and active health checks, as fields of `envoy.config.cluster.v3.Cluster`.
 *
 * Two peers read these clusters: Envoy and proxyless gRPC (@grpc/grpc-js-xds 1.14). What gRPC does
 * with each part, read from its `xds-resource-type/cluster-resource-type.js`:
 * - load balancing: it takes `load_balancing_policy` when set (the first listed policy it knows),
 *   otherwise only `lb_policy` ROUND_ROBIN or RING_HASH (with `ring_hash_lb_config`: hash function
 *   XX_HASH, ring sizes at most 8388608). Any other `lb_policy` — LEAST_REQUEST, RANDOM, MAGLEV —
 *   makes it reject the whole cluster. It has no least-request, random or maglev balancer at all,
 *   so those three go through `load_balancing_policy` with round robin as gRPC's fallback.
 * - circuit breakers: only `max_requests` of the DEFAULT priority.
 * - outlier detection: only its success-rate and failure-percentage ejection; the consecutive-error
 *   counters are Envoy's alone (and success-rate ejection is on unless `enforcing_success_rate` is 0).
 * - health checks: ignored; gRPC does no active health checking.
 *
 * Those policies carry LeastRequest, Random, Maglev, WrrLocality and RoundRobin in Anys: the proto root
 * that encodes clusters must hold those types, or protobufjs packs them as empty Anys without a word.
 */
import type { Protocol } from '../model/mesh.ts';
import type {
  ConnectionPoolPolicy,
  HealthCheckPolicy,
  LoadBalancerPolicy,
  OutlierDetectionPolicy,
  TrafficPolicy,
} from '../model/traffic.ts';
import { duration, typed, type Plain } from './common.ts';

const LEAST_REQUEST = 'envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest';
const WRR_LOCALITY = 'envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality';
const ROUND_ROBIN = 'envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin';
const RANDOM = 'envoy.extensions.load_balancing_policies.random.v3.Random';
const MAGLEV = 'envoy.extensions.load_balancing_policies.maglev.v3.Maglev';

/** Envoy's PGV limit on both ring sizes, and the size above which grpc-js-xds rejects the cluster. */
export const MAX_RING_SIZE = 8_388_608;
/** The minimum ring size Envoy and gRPC assume when `minimum_ring_size` is unset. */
const DEFAULT_MIN_RING_SIZE = 1024;

/** Legacy `lb_policy` values of the algorithms both peers know by it. */
const LB_POLICY = { round_robin: 'ROUND_ROBIN', ring_hash: 'RING_HASH' } as const;

/**
 * Fields to spread into a service's Cluster; `{}` without a policy, so the cluster stays as it was.
 * `protocol` picks the codec of HTTP health checks (HTTP/2 for grpc and http2 upstreams).
 */
/**
 * Outlier detection that ejects nothing (every enforcement at 0%), set on clusters whose service asks
 * for none. Envoy then behaves as without it; it is there for proxyless gRPC: grpc-js-xds 1.14
 * compares a cluster update with the cached one only over the fields the cached one has, and a
 * cluster without outlier detection caches none of its fields, so outlier detection added later
 * would be ignored until the client restarts.
 */
export const NO_EJECTION: Plain = {
  enforcingConsecutive_5xx: { value: 0 },
  enforcingSuccessRate: { value: 0 },
  enforcingConsecutiveGatewayFailure: { value: 0 },
  enforcingFailurePercentage: { value: 0 },
};

/** The cluster fields of a traffic policy; `{}` for none. */
export function clusterPolicy(policy: TrafficPolicy | undefined, protocol?: Protocol): Plain {
  if (!policy) return {};
  const out: Plain = { ...loadBalancing(policy.loadBalancer) };
  const breakers = policy.connectionPool && circuitBreakers(policy.connectionPool);
  if (breakers) out.circuitBreakers = breakers;
  if (policy.outlierDetection) out.outlierDetection = outlierDetection(policy.outlierDetection);
  if (policy.healthCheck) out.healthChecks = [healthCheck(policy.healthCheck, protocol)];
  return out;
}

/** `lb_policy` and its config; least_request, random and maglev as a `load_balancing_policy` that gRPC can fall back from. */
function loadBalancing(lb: LoadBalancerPolicy | undefined): Plain {
  if (!lb) return {};
  const zone = lb.zoneAware && zoneAwareLbConfig(lb.zoneAware);
  // The extensions read their own locality config, not `common_lb_config`.
  const locality = zone ? { localityLbConfig: { zoneAwareLbConfig: zone } } : {};
  switch (lb.algorithm) {
    case 'least_request':
      return withGrpcFallback('least_request', LEAST_REQUEST, { ...(lb.choiceCount !== undefined ? { choiceCount: { value: lb.choiceCount } } : {}), ...locality });
    case 'random':
      return withGrpcFallback('random', RANDOM, locality);
    case 'maglev':
      return withGrpcFallback('maglev', MAGLEV, {});
  }
  const out: Plain = { lbPolicy: LB_POLICY[lb.algorithm] };
  if (lb.algorithm === 'ring_hash') out.ringHashLbConfig = ringHashLbConfig(lb.ringSize);
  // Zone-aware routing only acts when the proxy's bootstrap names its local cluster
  // (cluster_manager.local_cluster_name); gRPC ignores it and weights localities instead.
  if (zone) out.commonLbConfig = { zoneAwareLbConfig: zone };
  return out;
}

/**
 * An Envoy load-balancing extension, with round robin for grpc-js-xds, which implements none of
 * least request, random and maglev and rejects their `lb_policy` values. Both take the first policy
 * in the list they implement; the fallback wraps round robin in WrrLocality, which is what gRPC
 * builds itself for `ROUND_ROBIN` (so maglev's consistent hashing is Envoy's alone). `lb_policy`
 * stays ROUND_ROBIN for readers that predate `load_balancing_policy`.
 */
function withGrpcFallback(name: string, messageName: string, config: Plain): Plain {
  const roundRobin = { policies: [lbPolicyEntry('envoy.load_balancing_policies.round_robin', ROUND_ROBIN, {})] };
  return {
    lbPolicy: 'ROUND_ROBIN',
    loadBalancingPolicy: {
      policies: [
        lbPolicyEntry(`envoy.load_balancing_policies.${name}`, messageName, config),
        lbPolicyEntry('envoy.load_balancing_policies.wrr_locality', WRR_LOCALITY, { endpointPickingPolicy: roundRobin }),
      ],
    },
  };
}

/** One `LoadBalancingPolicy.Policy`: a typed extension config. */
function lbPolicyEntry(name: string, messageName: string, fields: Plain): Plain {
  return { typedExtensionConfig: { name, typedConfig: typed(messageName, fields) } };
}

/** `CommonLbConfig.ZoneAwareLbConfig` (the same shape as the extensions' `LocalityLbConfig.ZoneAwareLbConfig`). */
function zoneAwareLbConfig(zone: NonNullable<LoadBalancerPolicy['zoneAware']>): Plain {
  const out: Plain = {};
  if (zone.routingEnabledPercent !== undefined) out.routingEnabled = { value: zone.routingEnabledPercent };
  if (zone.minClusterSize !== undefined) out.minClusterSize = { value: zone.minClusterSize };
  return out;
}

/**
 * `Cluster.RingHashLbConfig` with XX_HASH (gRPC rejects any other hash function). Sizes are held to
 * [1, 8388608] and min <= max, because out of those Envoy or gRPC NACK the cluster; reporting the
 * bad input is the validator's job. An unset minimum means 1024, so a smaller maximum alone also
 * sets the minimum.
 */
function ringHashLbConfig(size: LoadBalancerPolicy['ringSize']): Plain {
  const out: Plain = { hashFunction: 'XX_HASH' };
  const max = size?.max === undefined ? undefined : ringSize(size.max, MAX_RING_SIZE);
  let min = size?.min === undefined ? undefined : ringSize(size.min, max ?? MAX_RING_SIZE);
  if (min === undefined && max !== undefined && max < DEFAULT_MIN_RING_SIZE) min = max;
  if (min !== undefined) out.minimumRingSize = { value: min };
  if (max !== undefined) out.maximumRingSize = { value: max };
  return out;
}

/** A ring size as a whole number in [1, cap]. */
function ringSize(n: number, cap: number): number {
  return Math.min(Math.max(Math.trunc(n), 1), cap);
}

/** The connection-pool limits, named as the fields of `CircuitBreakers.Thresholds` they fill. */
const LIMITS = ['maxConnections', 'maxPendingRequests', 'maxRequests', 'maxRetries'] as const;

/** `envoy.config.cluster.v3.CircuitBreakers` with the given limits at DEFAULT priority; undefined when none is given. */
function circuitBreakers(pool: ConnectionPoolPolicy): Plain | undefined {
  const threshold: Plain = { priority: 'DEFAULT' };
  for (const key of LIMITS) {
    const limit = pool[key];
    if (limit !== undefined) threshold[key] = { value: limit };
  }
  return Object.keys(threshold).length > 1 ? { thresholds: [threshold] } : undefined;
}

/** `envoy.config.cluster.v3.OutlierDetection`; unset fields keep Envoy's defaults. */
function outlierDetection(od: OutlierDetectionPolicy): Plain {
  // Success-rate ejection (on by default in Envoy) is not part of the policy, so it is turned off; it
  // also keeps grpc-js 1.14 from a crash: its success-rate check divides by an empty list when the
  // minimum host count arrives unset (an explicit undefined overrides its default).
  const out: Plain = { enforcingSuccessRate: { value: 0 } };
  if (od.consecutive5xx !== undefined) out.consecutive_5xx = { value: od.consecutive5xx };
  if (od.consecutiveGatewayErrors !== undefined) {
    out.consecutiveGatewayFailure = { value: od.consecutiveGatewayErrors };
    // Envoy counts gateway failures but ejects on them only as often as this says, and it defaults to 0.
    out.enforcingConsecutiveGatewayFailure = { value: 100 };
  }
  if (od.intervalMs !== undefined) out.interval = duration(od.intervalMs);
  if (od.baseEjectionTimeMs !== undefined) out.baseEjectionTime = duration(od.baseEjectionTimeMs);
  // A whole percent, rounded down so that a fractional maximum is never exceeded.
  if (od.maxEjectionPercent !== undefined) out.maxEjectionPercent = { value: Math.floor(od.maxEjectionPercent) };
  const fp = od.failurePercentage;
  if (fp) {
    out.failurePercentageThreshold = { value: fp.threshold };
    // Like gateway failures, failure-percentage ejection is off (0%) unless enforced.
    out.enforcingFailurePercentage = { value: 100 };
    // Envoy's defaults, spelled out: grpc-js 1.14 takes an unset value as "no minimum" instead.
    out.failurePercentageMinimumHosts = { value: fp.minimumHosts ?? 5 };
    out.failurePercentageRequestVolume = { value: fp.requestVolume ?? 50 };
  }
  return out;
}

/** `envoy.config.core.v3.HealthCheck`: HTTP, gRPC or TCP (connect only, also when none is named). */
function healthCheck(hc: HealthCheckPolicy, protocol: Protocol | undefined): Plain {
  const out: Plain = {
    timeout: duration(hc.timeoutMs),
    interval: duration(hc.intervalMs),
    healthyThreshold: { value: hc.healthyThreshold },
    unhealthyThreshold: { value: hc.unhealthyThreshold },
  };
  if (hc.http) out.httpHealthCheck = httpHealthCheck(hc.http, protocol);
  else if (hc.grpc) out.grpcHealthCheck = hc.grpc.serviceName ? { serviceName: hc.grpc.serviceName } : {};
  else out.tcpHealthCheck = {};
  return out;
}

/**
 * `HealthCheck.HttpHealthCheck`. The model's status ranges are inclusive at both ends
 * (`{ start: 200, end: 299 }` is 2xx, `{ start: 204, end: 204 }` is 204 alone); Envoy's Int64Range
 * is half-open, so `end` gains one. HTTP/2 upstreams need the HTTP/2 codec, Envoy's default being HTTP/1.1.
 */
function httpHealthCheck(http: NonNullable<HealthCheckPolicy['http']>, protocol: Protocol | undefined): Plain {
  const out: Plain = { path: http.path };
  if (http.host !== undefined) out.host = http.host;
  if (http.expectedStatuses?.length) out.expectedStatuses = http.expectedStatuses.map((r) => ({ start: r.start, end: r.end + 1 }));
  if (protocol === 'grpc' || protocol === 'http2') out.codecClientType = 'HTTP2';
  return out;
}
