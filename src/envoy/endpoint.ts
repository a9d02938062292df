/** Builds `envoy.config.endpoint.v3.ClusterLoadAssignment` from a service's endpoints. */
import type { Endpoint, Health } from '../model/mesh.ts';
import { compareStrings } from '../model/mesh.ts';
import { regionLocalityKey, zoneLocalityKey } from '../model/proxy.ts';
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

/** Where a caller is: its region and zone (from its node's locality). */
export interface CallerLocality {
  region: string;
  /** Unset for a caller in none of the endpoints' zones of its region. */
  zone?: string;
}

/**
 * The load assignment of a cluster: endpoints that serve traffic, grouped by locality (region, zone,
 * sub-zone) in sorted order. Each locality is weighted by the sum of its endpoints' weights, which
 * gRPC requires (it drops localities without a weight) and Envoy honours with locality-weighted LB.
 *
 * With a `caller`, localities get priorities by nearness (locality failover): the caller's zone first,
 * then the rest of its region, then everything else; tiers without a serving endpoint are skipped, so
 * priorities stay contiguous from 0 as Envoy and gRPC require.
 */
export function clusterLoadAssignment(clusterName: string, endpoints: Endpoint[], caller?: CallerLocality): Plain {
  const groups = new Map<string, Endpoint[]>();
  for (const e of endpoints.filter(servesTraffic)) {
    const key = JSON.stringify([e.region, e.zone, e.subZone]);
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  // Sorted by (region, zone, sub-zone), not by the JSON keys: those order "eu west" before "eu".
  const sorted = [...groups.values()].sort(([a], [b]) => compareLocalities(a!, b!));
  const tiers = caller ? sorted.map(([e]) => nearness(e!, caller)) : [];
  const priorityOf = new Map([...new Set(tiers)].sort().map((tier, i) => [tier, i]));
  return {
    clusterName,
    endpoints: sorted.map((members, i) => {
      const { region, zone, subZone } = members[0]!;
      const priority = caller ? priorityOf.get(tiers[i]!)! : 0;
      return {
        locality: { region, zone, subZone },
        lbEndpoints: members.map(lbEndpoint),
        loadBalancingWeight: { value: members.reduce((sum, e) => sum + e.weight, 0) },
        ...(priority > 0 ? { priority } : {}),
      };
    }),
  };
}

/** 0 in the caller's zone, 1 elsewhere in its region, 2 in another region. */
function nearness(e: Endpoint, caller: CallerLocality): number {
  if (e.region !== caller.region) return 2;
  return e.zone === caller.zone ? 0 : 1;
}

/**
 * The callers' localities that see a service's endpoints differently under locality failover: each
 * (region, zone) of its serving endpoints, and each of their regions for callers in another zone of it.
 * Callers anywhere else see every endpoint at priority 0, as without failover.
 */
export function failoverLocalities(endpoints: Endpoint[]): { key: string; caller: CallerLocality }[] {
  const out = new Map<string, CallerLocality>();
  for (const e of endpoints.filter(servesTraffic)) {
    out.set(zoneLocalityKey(e.region, e.zone), { region: e.region, zone: e.zone });
    // A caller in a zone with no endpoint still prefers its region; its zone is none of the endpoints'.
    out.set(regionLocalityKey(e.region), { region: e.region });
  }
  return [...out].sort(([a], [b]) => compareStrings(a, b)).map(([key, caller]) => ({ key, caller }));
}

function compareLocalities(a: Endpoint, b: Endpoint): number {
  return compareStrings(a.region, b.region) || compareStrings(a.zone, b.zone) || compareStrings(a.subZone, b.subZone);
}
