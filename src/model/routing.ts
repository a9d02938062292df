/**
 * How routes attach to the mesh. A route claims hosts (by default the hosts of its destination
 * services); a claimed host that is a service's (`<name>.<namespace>`, optionally with the service's
 * port) puts the route in that service's virtual host, wherever that virtual host is served (the
 * gateway, sidecars' outbound routes, proxyless API listeners). Other hosts become virtual hosts of
 * the gateway only. Routes are ordered by priority (higher first), then namespace, then name; the
 * service's default route (everything to the whole service) always comes last, so requests no route
 * matches still reach the service, as with Consul's service-router.
 */
import { serviceHost, serviceKeyOf, type ServiceRef } from './names.ts';
import type { HashPolicy, RouteSpec, Subset, TrafficPolicy } from './traffic.ts';

/** A route as the translators use it: its spec plus what it takes from its destination service. */
export interface AttachedRoute {
  spec: RouteSpec;
  /** The destination service's consistent-hash policy (ring_hash/maglev), if it has one. */
  hashPolicy?: HashPolicy[];
}

/** The minimum of a service the routing rules look at. */
export interface RoutableService extends ServiceRef {
  port: number;
  protocol: string;
  trafficPolicy?: TrafficPolicy;
  endpoints: { labels: Record<string, string> }[];
}

export interface Routing {
  /** By service key (`namespace/name`): the routes in its virtual host, in order. */
  byService: Map<string, AttachedRoute[]>;
  /** By service key: the subsets routes send traffic to (sorted by subset key). */
  subsets: Map<string, Subset[]>;
  /** Hosts that are no service's, with their routes in order: gateway virtual hosts. */
  externalHosts: Map<string, AttachedRoute[]>;
  /** Routes left out because a service they name is gone, with the reason. */
  dropped: { route: string; reason: string }[];
}

/** `version=v2,zone=a`: a subset's canonical key (sorted label pairs). */
export function subsetKey(subset: Subset): string {
  return Object.keys(subset)
    .sort()
    .map((k) => `${k}=${subset[k]}`)
    .join(',');
}

/** The hosts a route claims: its own, or its destination services' hosts. */
export function effectiveHosts(spec: Pick<RouteSpec, 'hosts' | 'destinations'>): string[] {
  if (spec.hosts.length) return spec.hosts;
  return [...new Set((spec.destinations ?? []).map((d) => serviceHost(d)))];
}

/**
 * The virtual host a claimed host lands in, for telling whether two routes compete: a service's host
 * with any port (its own, or a gateway's) is the service's virtual host; any other host is its own.
 */
export function virtualHostOf(host: string, serviceHosts: ReadonlySet<string>): string {
  const lower = host.toLowerCase();
  const bare = lower.replace(/:\d+$/, '');
  return serviceHosts.has(bare) ? bare : lower;
}

/** Route order: priority descending, then namespace and name (the documented tie-break). */
export function compareRoutes(a: RouteSpec, b: RouteSpec): number {
  return b.priority - a.priority || cmp(a.namespace, b.namespace) || cmp(a.name, b.name);
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The subset a destination or mirror names; an empty label set means the whole service, so none. */
export function subsetOf(ref: { subset?: Subset }): Subset | undefined {
  return ref.subset && Object.keys(ref.subset).length > 0 ? ref.subset : undefined;
}

/** True when an endpoint's labels include every label of the subset. */
export function inSubset(subset: Subset, labels: Record<string, string>): boolean {
  return Object.entries(subset).every(([k, v]) => labels[k] === v);
}

/** The consistent-hash policy of a service, when its load balancer uses one. */
export function hashPolicyOf(svc: RoutableService | undefined): HashPolicy[] | undefined {
  const lb = svc?.trafficPolicy?.loadBalancer;
  return lb && (lb.algorithm === 'ring_hash' || lb.algorithm === 'maglev') && lb.hashOn?.length ? lb.hashOn : undefined;
}

/** What a route references that does not exist (a service, or a subset without endpoints), or undefined. */
function missingReference(spec: RouteSpec, services: Map<string, RoutableService>): string | undefined {
  const refs = [...(spec.destinations ?? []), ...(spec.mirror ? [spec.mirror] : [])];
  for (const ref of refs) {
    const svc = services.get(serviceKeyOf(ref));
    if (!svc) return `service ${serviceKeyOf(ref)} does not exist`;
    const subset = subsetOf(ref);
    if (subset && !svc.endpoints.some((e) => inSubset(subset, e.labels))) {
      return `no endpoint of ${serviceKeyOf(ref)} has the labels ${subsetKey(subset)}`;
    }
  }
  return undefined;
}

/** Attaches routes to services and external hosts; routes naming missing services or subsets are dropped. */
export function attachRoutes(services: readonly RoutableService[], routes: readonly RouteSpec[]): Routing {
  const byKey = new Map(services.map((s) => [serviceKeyOf(s), s]));
  const byHost = new Map<string, string>();
  for (const s of services) {
    byHost.set(serviceHost(s), serviceKeyOf(s));
    byHost.set(`${serviceHost(s)}:${s.port}`, serviceKeyOf(s));
  }
  const out: Routing = { byService: new Map(), subsets: new Map(), externalHosts: new Map(), dropped: [] };
  for (const spec of [...routes].sort(compareRoutes)) {
    const missing = missingReference(spec, byKey);
    if (missing) {
      out.dropped.push({ route: serviceKeyOf(spec), reason: missing });
      continue;
    }
    const first = spec.destinations?.[0];
    const attached: AttachedRoute = { spec, hashPolicy: first && hashPolicyOf(byKey.get(serviceKeyOf(first))) };
    for (const host of new Set(effectiveHosts(spec).map((h) => h.toLowerCase()))) {
      const key = byHost.get(host);
      const target = key ? out.byService : out.externalHosts;
      const at = key ?? host;
      const list = target.get(at) ?? [];
      if (!list.includes(attached)) list.push(attached);
      target.set(at, list);
    }
    for (const ref of [...(spec.destinations ?? []), ...(spec.mirror ? [spec.mirror] : [])]) {
      const subset = subsetOf(ref);
      if (subset) addSubset(out.subsets, serviceKeyOf(ref), subset);
    }
  }
  for (const list of out.subsets.values()) list.sort((a, b) => cmp(subsetKey(a), subsetKey(b)));
  return out;
}

function addSubset(map: Map<string, Subset[]>, key: string, subset: Subset): void {
  const list = map.get(key) ?? [];
  if (!list.some((s) => subsetKey(s) === subsetKey(subset))) list.push(subset);
  map.set(key, list);
}
