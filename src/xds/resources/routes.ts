/** RDS: the gateway's route configuration, one virtual host per HTTP service, and the sidecars' per-port ones. */
import { externalVirtualHost, routeConfiguration, virtualHost } from '../../envoy/route.ts';
import { isHttpProtocol, type Mesh, type MeshSettings } from '../../model/mesh.ts';
import { GATEWAY_ROUTE_CONFIG, serviceHost } from '../../model/names.ts';
import { compareRoutes } from '../../model/routing.ts';
import { perService } from './memo.ts';
import { sidecarRoutes } from './sidecar.ts';
import type { BuiltResource } from './types.ts';

/**
 * Builds the gateway's route configuration (each service host also answers with the gateway's port
 * appended, then hosts no service owns). A route that claims `<service host>:<gateway port>` is no
 * service's to `attachRoutes` (the port is not the service's), but that authority is the service's
 * virtual host here: the route joins it, in route order, instead of repeating the domain in a
 * virtual host of its own (Envoy rejects a configuration with a repeated domain).
 */
export function buildRoutes(mesh: Mesh, settings: MeshSettings): BuiltResource[] {
  const external = new Map(mesh.externalHosts);
  const hosts = mesh.services
    .filter((s) => isHttpProtocol(s.protocol))
    .map((svc) => {
      const viaGateway = `${serviceHost(svc)}:${settings.gatewayPort}`;
      const claimed = external.get(viaGateway);
      if (!claimed) return perService('gateway-virtual-host', svc, settings, () => virtualHost(svc, [viaGateway]));
      external.delete(viaGateway);
      const routes = [...new Set([...svc.routes, ...claimed])].sort((a, b) => compareRoutes(a.spec, b.spec));
      return virtualHost({ ...svc, routes }, [viaGateway]);
    });
  for (const [host, routes] of [...external].sort(([a], [b]) => (a < b ? -1 : 1))) hosts.push(externalVirtualHost(host, routes));
  return [{ name: GATEWAY_ROUTE_CONFIG, resource: routeConfiguration(GATEWAY_ROUTE_CONFIG, hosts), roles: ['gateway'] }, ...sidecarRoutes(mesh)];
}
