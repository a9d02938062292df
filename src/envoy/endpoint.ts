/** Builds `envoy.config.endpoint.v3.ClusterLoadAssignment` from a service's endpoints. */
import type { Endpoint, Health } from '../model/mesh.ts';
import { compareStrings } from '../model/mesh.ts';
import { socketAddress, type Plain } from './common.ts';

/** Envoy's `HealthStatus` for each registry health that still receives traffic. */
const HEALTH_STATUS: Partial<Record<Health, string>> = {
  healthy: 'HEALTHY',
  unknown: 'UNKNOWN',
  draining: 'DRAINING',
};

/** True when an endpoint belongs in the load assignment: unhealthy ones are left out entirely. */
export function servesTraffic(e: Endpoint): boolean {
  return HEALTH_STATUS[e.health] !== undefined;
}

/** `LbEndpoint` of one endpoint, with its health and weight. */
export function lbEndpoint(e: Endpoint): Plain {
  return {
    endpoint: { address: socketAddress(e.address, e.port) },
    healthStatus: HEALTH_STATUS[e.health],
    loadBalancingWeight: { value: e.weight },
  };
}

/**
 * The load assignment of a cluster: endpoints that serve traffic, grouped by locality (region, zone,
 * sub-zone) in sorted order. Each locality is weighted by the sum of its endpoints' weights, which
 * gRPC requires (it drops localities without a weight) and Envoy honours with locality-weighted LB.
 */
export function clusterLoadAssignment(clusterName: string, endpoints: Endpoint[]): Plain {
  const groups = new Map<string, Endpoint[]>();
  for (const e of endpoints.filter(servesTraffic)) {
    const key = JSON.stringify([e.region, e.zone, e.subZone]);
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  // Sorted by (region, zone, sub-zone), not by the JSON keys: those order "eu west" before "eu".
  const sorted = [...groups.values()].sort(([a], [b]) => compareLocalities(a!, b!));
  return {
    clusterName,
    endpoints: sorted.map((members) => {
      const { region, zone, subZone } = members[0]!;
      return {
        locality: { region, zone, subZone },
        lbEndpoints: members.map(lbEndpoint),
        loadBalancingWeight: { value: members.reduce((sum, e) => sum + e.weight, 0) },
      };
    }),
  };
}

function compareLocalities(a: Endpoint, b: Endpoint): number {
  return compareStrings(a.region, b.region) || compareStrings(a.zone, b.zone) || compareStrings(a.subZone, b.subZone);
}
