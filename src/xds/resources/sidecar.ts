/**
 * Sidecar views (role `sidecar`), in Istio's shape: redirected outbound traffic lands on a virtual
 * listener that hands each connection to the listener of its destination port, where HTTP services
 * are told apart by host (RDS per port) and anything unknown passes through; redirected inbound
 * traffic lands on the service's own inbound listener, which forwards to the local application.
 * Outbound resources are shared by every sidecar (all services are reachable until policies narrow
 * it); inbound ones belong to one service and only its sidecars see them.
 */
import { staticCluster, originalDstCluster } from '../../envoy/cluster.ts';
import { httpConnectionManager } from '../../envoy/http-connection-manager.ts';
import { httpFilterNeeds } from '../../envoy/http-filters.ts';
import { hcmFilter, socketListener, tcpProxy, virtualOutboundListener } from '../../envoy/listener.ts';
import { inboundHttpRbacFilters, inboundNetworkRbacFilters } from '../../envoy/rbac.ts';
import { sdsDownstreamTls, tlsInspector } from '../../envoy/tls.ts';
import { inboundConnectionRateLimitFilter } from '../../envoy/service-rate-limit.ts';
import { catchAllVirtualHost, routeConfiguration, virtualHost } from '../../envoy/route.ts';
import { isHttpProtocol, mtlsModeOf, type Mesh, type MeshSettings, type Service } from '../../model/mesh.ts';
import type { Plain } from '../../envoy/common.ts';
import { clusterName, inboundName, outboundName, PASSTHROUGH_CLUSTER, serviceKeyOf, SIDECAR_TRACE_SERVICE, statPrefix, VIRTUAL_OUTBOUND_LISTENER } from '../../model/names.ts';
import { perGroup, perService } from './memo.ts';
import { hcmTelemetry, tcpAccessLogs, traceServiceOf, withTraceServiceVariants } from './telemetry.ts';
import type { BuiltResource } from './types.ts';

const SIDECAR = ['sidecar'] as const;

/** Services grouped by port, ports ascending. */
function byPort(mesh: Mesh): [number, Service[]][] {
  const ports = new Map<number, Service[]>();
  for (const svc of mesh.services) ports.set(svc.port, [...(ports.get(svc.port) ?? []), svc]);
  return [...ports].sort(([a], [b]) => a - b);
}

/**
 * The outbound route of a port: HTTP services by host; a port of one TCP service proxies to it; other
 * ports are skipped. Spans of the HCM are named `traceService`.
 */
function outboundFilters(port: number, services: Service[], settings: MeshSettings, traceService: string) {
  const name = outboundName(port);
  if (services.some((s) => isHttpProtocol(s.protocol))) {
    const needs = httpFilterNeeds(services.flatMap((s) => s.routes.map((r) => r.spec)));
    return [hcmFilter(httpConnectionManager(name, { rds: name }, needs, hcmTelemetry(settings, traceService)))];
  }
  // Without a service address to tell them apart, TCP services can only own a port alone.
  return services.length === 1 ? [tcpProxy(name, clusterName(services[0]!), tcpAccessLogs(settings))] : undefined;
}

/** The outbound listener of a port, or undefined when nothing on the port can be told apart. */
function outboundListener(port: number, services: Service[], settings: MeshSettings, traceService: string): Plain | undefined {
  const filters = outboundFilters(port, services, settings, traceService);
  return filters && socketListener(outboundName(port), '0.0.0.0', port, filters, { direction: 'OUTBOUND', bindToPort: false });
}

/** Sidecar clusters: pass-through for destinations outside the mesh, and each service's local application. */
export function sidecarClusters(mesh: Mesh, settings: MeshSettings): BuiltResource[] {
  const out: BuiltResource[] = [{ name: PASSTHROUGH_CLUSTER, resource: originalDstCluster(PASSTHROUGH_CLUSTER, settings), roles: SIDECAR }];
  for (const svc of mesh.services) {
    const name = inboundName(svc);
    out.push(
      perService('inbound-cluster', svc, settings, () => ({
        name,
        resource: staticCluster(name, '127.0.0.1', svc.port, settings, svc.protocol),
        roles: SIDECAR,
        owner: serviceKeyOf(svc),
      })),
    );
  }
  return out;
}

/**
 * Sidecar listeners: the virtual outbound listener, one per outbound port (shared by every sidecar,
 * with a variant per service when spans must name it), and each service's inbound listener.
 */
export function sidecarListeners(mesh: Mesh, settings: MeshSettings): BuiltResource[] {
  const virtualOutbound = virtualOutboundListener(VIRTUAL_OUTBOUND_LISTENER, settings.outboundPort, PASSTHROUGH_CLUSTER, tcpAccessLogs(settings));
  const out: BuiltResource[] = [{ name: VIRTUAL_OUTBOUND_LISTENER, resource: virtualOutbound, roles: SIDECAR }];
  for (const [port, services] of byPort(mesh)) {
    const built = perGroup('outbound-listener', services, settings, (): BuiltResource | undefined => {
      const resource = outboundListener(port, services, settings, SIDECAR_TRACE_SERVICE);
      return resource && { name: outboundName(port), resource, roles: SIDECAR };
    });
    if (!built) continue;
    // Only an HCM names the spans' service: a TCP port's listener is the same for every sidecar.
    const traced = services.some((s) => isHttpProtocol(s.protocol));
    out.push(traced ? withTraceServiceVariants(built, mesh, settings, (traceService) => outboundListener(port, services, settings, traceService)!) : built);
  }
  for (const svc of mesh.services) out.push(perService('inbound-listener', svc, settings, () => inboundListener(svc, settings)));
  return out;
}

/**
 * A service's inbound listener: everything redirected to the inbound port goes to the local
 * application, through the service's authorization policies (RBAC) and its own rate limit if it has
 * one (per request for HTTP, per connection for TCP), logged and traced as the settings say. The
 * service's mTLS mode decides the filter chains: strict terminates mTLS and requires a client
 * certificate of the mesh; permissive tells TLS from plain text (TLS inspector) and accepts both;
 * disabled takes plain text.
 */
function inboundListener(svc: Service, settings: MeshSettings): BuiltResource {
  const name = inboundName(svc);
  const limit = svc.trafficPolicy?.rateLimit;
  const limitStats = `${statPrefix(name)}_rate_limit`;
  const policies = svc.authorization ?? [];
  const filters = isHttpProtocol(svc.protocol)
    ? [
        hcmFilter(
          httpConnectionManager(
            name,
            { inline: routeConfiguration(name, [catchAllVirtualHost(name)]) },
            {
              authorization: inboundHttpRbacFilters(policies, svc, settings.trustDomain, settings.authzDefault),
              ...(limit ? { limitAll: { policy: limit, statPrefix: limitStats } } : {}),
            },
            hcmTelemetry(settings, traceServiceOf(svc)),
          ),
        ),
      ]
    : [
        ...inboundNetworkRbacFilters(policies, svc, settings.trustDomain, settings.authzDefault, statPrefix(name)),
        ...(limit ? [inboundConnectionRateLimitFilter(limit, limitStats)] : []),
        tcpProxy(name, name, tcpAccessLogs(settings)),
      ];
  const resource = { ...socketListener(name, '0.0.0.0', settings.inboundPort, filters, { direction: 'INBOUND' }), ...mtlsChains(mtlsModeOf(svc, settings), filters) };
  return { name, resource, roles: SIDECAR, owner: serviceKeyOf(svc) };
}

/** The filter chains (and listener filters) of an inbound listener in an mTLS mode. */
function mtlsChains(mode: ReturnType<typeof mtlsModeOf>, filters: Plain[]): Plain {
  if (mode === 'disabled') return {};
  const mtls = { filters, transportSocket: sdsDownstreamTls(true) };
  if (mode === 'strict') return { filterChains: [mtls] };
  return {
    listenerFilters: [tlsInspector()],
    filterChains: [
      { filterChainMatch: { transportProtocol: 'tls' }, ...mtls },
      { filterChainMatch: { transportProtocol: 'raw_buffer' }, filters },
    ],
  };
}

/** Sidecar route configurations: one per outbound port, a virtual host per HTTP service on it. */
export function sidecarRoutes(mesh: Mesh): BuiltResource[] {
  return byPort(mesh)
    .filter(([, services]) => services.some((s) => isHttpProtocol(s.protocol)))
    .map(([port, services]) =>
      perGroup('outbound-routes', services, undefined, () => {
        const hosts = services.filter((s) => isHttpProtocol(s.protocol)).map((s) => perService('virtual-host', s, undefined, () => virtualHost(s)));
        return { name: outboundName(port), resource: routeConfiguration(outboundName(port), hosts), roles: SIDECAR };
      }),
    );
}
