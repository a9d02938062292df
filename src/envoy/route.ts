/** Builds `envoy.config.route.v3.RouteConfiguration` and its virtual hosts. */
import type { Service } from '../model/mesh.ts';
import { clusterName, serviceDomains, serviceHost } from '../model/names.ts';
import { duration, type Plain } from './common.ts';

/** The default route of a service: every path to its cluster, with Envoy's 15 s default timeout turned off (streams). */
export function defaultRoute(svc: Service): Plain {
  return {
    name: 'default',
    match: { prefix: '/' },
    route: { cluster: clusterName(svc), timeout: duration(0) },
  };
}

/** A virtual host answering for the service's authorities, `extraDomains` added (e.g. a gateway's port). */
export function virtualHost(svc: Service, extraDomains: string[] = []): Plain {
  return {
    name: serviceHost(svc),
    // Envoy rejects a route configuration with a repeated domain (e.g. a gateway port equal to the service's).
    domains: [...new Set([...serviceDomains(svc), ...extraDomains])],
    routes: [defaultRoute(svc)],
  };
}

/** A virtual host that sends every request to one cluster (a sidecar's inbound side: all traffic is for its application). */
export function catchAllVirtualHost(cluster: string): Plain {
  return { name: cluster, domains: ['*'], routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster, timeout: duration(0) } }] };
}

/** A route configuration with the given virtual hosts. */
export function routeConfiguration(name: string, virtualHosts: Plain[]): Plain {
  return { name, virtualHosts };
}
