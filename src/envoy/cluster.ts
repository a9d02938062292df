/** Builds `envoy.config.cluster.v3.Cluster` for a service. */
import { addressKind } from '../model/address.ts';
import type { HostPort, MeshSettings, Protocol, Service } from '../model/mesh.ts';
import { clusterName, edsServiceName, subsetClusterName, subsetEdsName } from '../model/names.ts';
import { inSubset, subsetKey } from '../model/routing.ts';
import type { Subset } from '../model/traffic.ts';
import { clusterPolicy, NO_EJECTION } from './cluster-policy.ts';
import { adsConfigSource, duration, origin, typed, type Plain } from './common.ts';
import { clusterLoadAssignment, servesTraffic } from './endpoint.ts';

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** How the proxy finds a cluster's members: EDS for IP endpoints, DNS when any endpoint is a host name. */
export function discoveryType(svc: Service): 'EDS' | 'STRICT_DNS' | 'LOGICAL_DNS' {
  if (!svc.endpoints.some((e) => e.addressKind === 'hostname')) return 'EDS';
  // LOGICAL_DNS (one host, the first address it resolves to) is the DNS type proxyless gRPC also supports.
  // Envoy and gRPC reject it unless the load assignment holds exactly one endpoint, so count only those
  // that serve traffic (the others are left out of it); STRICT_DNS accepts any number, none included.
  return svc.endpoints.filter(servesTraffic).length === 1 ? 'LOGICAL_DNS' : 'STRICT_DNS';
}

/** The endpoints of a subset (all of them without one). */
export function subsetEndpoints(svc: Service, subset?: Subset) {
  return subset ? svc.endpoints.filter((e) => inSubset(subset, e.labels)) : svc.endpoints;
}

/**
 * The cluster of a service, or of one subset of its endpoints (routes split traffic between subsets,
 * and proxyless gRPC knows no Envoy subset load balancer, so each subset is a cluster as in Istio):
 * EDS over ADS, or DNS with the endpoints inline; HTTP/2 upstream for grpc and http2; the service's
 * traffic policy (load balancing, circuit breakers, outlier detection, health checks).
 */
export function cluster(svc: Service, settings: MeshSettings, subset?: Subset): Plain {
  const key = subset && subsetKey(subset);
  const name = key ? subsetClusterName(svc, key) : clusterName(svc);
  const type = discoveryType(svc);
  const out: Plain = {
    name,
    type,
    connectTimeout: duration(settings.connectTimeoutMs),
    lbPolicy: 'ROUND_ROBIN',
    metadata: origin(svc),
  };
  if (type === 'EDS') out.edsClusterConfig = { edsConfig: adsConfigSource(), serviceName: key ? subsetEdsName(svc, key) : edsServiceName(svc) };
  else out.loadAssignment = clusterLoadAssignment(name, subsetEndpoints(svc, subset));
  return { ...out, ...upstreamProtocol(svc.protocol), outlierDetection: NO_EJECTION, ...clusterPolicy(svc.trafficPolicy, svc.protocol) };
}

/** HTTP/2 upstream for grpc and http2 (Envoy would otherwise speak HTTP/1.1 to them), with `http2` as its options; nothing for the others. */
function upstreamProtocol(protocol: Protocol | undefined, http2: Plain = {}): Plain {
  if (protocol !== 'grpc' && protocol !== 'http2') return {};
  return {
    typedExtensionProtocolOptions: {
      [HTTP_PROTOCOL_OPTIONS]: typed(HTTP_PROTOCOL_OPTIONS, {
        explicitHttpConfig: { http2ProtocolOptions: http2 },
      }),
    },
  };
}

/**
 * A cluster to one `host:port` outside the mesh's registry (the telemetry services, a span
 * collector): STATIC for an IP address, STRICT_DNS for a host name (re-resolved, so a moved
 * collector is found again); HTTP/2 upstream for grpc and http2.
 */
export function addressCluster(name: string, address: HostPort, settings: Pick<MeshSettings, 'connectTimeoutMs'>, protocol?: Protocol, http2?: Plain): Plain {
  const type = addressKind(address.host) === 'hostname' ? 'STRICT_DNS' : 'STATIC';
  return { ...staticCluster(name, address.host, address.port, settings, protocol, http2), type };
}

/** A cluster with one fixed address (the sidecar's local application), no discovery; HTTP/2 upstream (with `http2` as its options) for grpc and http2. */
export function staticCluster(name: string, address: string, port: number, settings: Pick<MeshSettings, 'connectTimeoutMs'>, protocol?: Protocol, http2?: Plain): Plain {
  return {
    name,
    type: 'STATIC',
    connectTimeout: duration(settings.connectTimeoutMs),
    lbPolicy: 'ROUND_ROBIN',
    loadAssignment: { clusterName: name, endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address, portValue: port } } } }] }] },
    ...upstreamProtocol(protocol, http2),
  };
}

/** A cluster that forwards to the connection's original destination (traffic leaving the mesh). */
export function originalDstCluster(name: string, settings: MeshSettings): Plain {
  return { name, type: 'ORIGINAL_DST', connectTimeout: duration(settings.connectTimeoutMs), lbPolicy: 'CLUSTER_PROVIDED' };
}
