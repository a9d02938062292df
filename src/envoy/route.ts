/** Builds `envoy.config.route.v3.RouteConfiguration` and its virtual hosts. */
import type { Service } from '../model/mesh.ts';
import { clusterName, serviceDomains, serviceHost, subsetClusterName } from '../model/names.ts';
import { subsetKey, subsetOf, type AttachedRoute } from '../model/routing.ts';
import type { RouteSpec } from '../model/traffic.ts';
import { duration, type Plain } from './common.ts';
import { hashPolicy, route, type ClusterOf } from './route-action.ts';

/** Cluster names of route destinations: the service's cluster, or its subset's. */
export const clusterOf: ClusterOf = (d) => {
  const subset = subsetOf(d);
  return subset ? subsetClusterName(d, subsetKey(subset)) : clusterName(d);
};

/**
 * Who a route configuration is for. Proxyless gRPC rejects a whole configuration with a redirect or
 * a direct response in it, and gets no routes matching on query parameters either: gRPC requests
 * have no query string, so under Envoy such a route never takes gRPC traffic, while grpc-js-xds
 * would drop the query matcher and let the route take everything else it matches (gRFC A28 says
 * to skip the route, as grpc-go does).
 */
export type RouteAudience = 'envoy' | 'grpc';

/** The default route of a service: every path to its cluster, with Envoy's 15 s default timeout turned off (streams). */
export function defaultRoute(svc: Service): Plain {
  const hashOn = svc.trafficPolicy?.loadBalancer?.hashOn;
  const hashing = hashOn?.length && ['ring_hash', 'maglev'].includes(svc.trafficPolicy!.loadBalancer!.algorithm);
  return {
    name: 'default',
    match: { prefix: '/' },
    route: { cluster: clusterName(svc), timeout: duration(0), ...(hashing ? { hashPolicy: hashOn.map(hashPolicy) } : {}) },
  };
}

/**
 * The Envoy routes of attached routes, in order, as `audience` accepts them. Proxyless gRPC gets no
 * route tracing: it has no tracer, and the mesh sends tracing to Envoy proxies only.
 */
export function attachedRoutes(routes: readonly AttachedRoute[], audience: RouteAudience): Plain[] {
  const usable = audience === 'grpc' ? routes.filter((r) => r.spec.destinations?.length && !r.spec.match.query?.length) : routes;
  return usable.map((r) => route(audience === 'grpc' ? withoutTracing(r.spec) : r.spec, clusterOf, { hashPolicy: r.hashPolicy }));
}

/** The spec without its tracing. */
function withoutTracing(spec: RouteSpec): RouteSpec {
  if (!spec.tracing) return spec;
  const { tracing: _, ...rest } = spec;
  return rest;
}

/** A virtual host answering for the service's authorities, `extraDomains` added (e.g. a gateway's port): its routes, then the default. */
export function virtualHost(svc: Service, extraDomains: string[] = [], audience: RouteAudience = 'envoy'): Plain {
  return {
    name: serviceHost(svc),
    // Envoy rejects a route configuration with a repeated domain (e.g. a gateway port equal to the service's).
    domains: [...new Set([...serviceDomains(svc), ...extraDomains])],
    routes: [...attachedRoutes(svc.routes, audience), defaultRoute(svc)],
  };
}

/** A gateway virtual host for a host that is no service's: only its routes (anything else is a 404). */
export function externalVirtualHost(host: string, routes: readonly AttachedRoute[]): Plain {
  return { name: host, domains: [host], routes: attachedRoutes(routes, 'envoy') };
}

/** A virtual host that sends every request to one cluster (a sidecar's inbound side: all traffic is for its application). */
export function catchAllVirtualHost(cluster: string): Plain {
  return { name: cluster, domains: ['*'], routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster, timeout: duration(0) } }] };
}

/** A route configuration with the given virtual hosts. */
export function routeConfiguration(name: string, virtualHosts: Plain[]): Plain {
  return { name, virtualHosts };
}
