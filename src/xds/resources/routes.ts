/** RDS: the gateway's route configuration, one virtual host per HTTP service, and the sidecars' per-port ones. */
import { externalVirtualHost, routeConfiguration, virtualHost } from '../../envoy/route.ts';
import { isHttpProtocol, type Mesh, type MeshSettings } from '../../model/mesh.ts';
import { GATEWAY_ROUTE_CONFIG, serviceHost } from '../../model/names.ts';
import { perService } from './memo.ts';
import { sidecarRoutes } from './sidecar.ts';
import type { BuiltResource } from './types.ts';

/** Builds the gateway's route configuration (each service host also answers with the gateway's port appended, then hosts no service owns). */
export function buildRoutes(mesh: Mesh, settings: MeshSettings): BuiltResource[] {
  const hosts = mesh.services
    .filter((s) => isHttpProtocol(s.protocol))
    .map((svc) => perService('gateway-virtual-host', svc, settings, () => virtualHost(svc, [`${serviceHost(svc)}:${settings.gatewayPort}`])));
  for (const [host, routes] of [...mesh.externalHosts].sort(([a], [b]) => (a < b ? -1 : 1))) hosts.push(externalVirtualHost(host, routes));
  return [{ name: GATEWAY_ROUTE_CONFIG, resource: routeConfiguration(GATEWAY_ROUTE_CONFIG, hosts), roles: ['gateway'] }, ...sidecarRoutes(mesh)];
}
