/**
 * LDS: for proxyless gRPC, two API listeners per HTTP service (`<name>.<namespace>:<port>` and without
 * the port) with the route inline, and the server listeners of gRPC services' proxyless servers
 * (security.ts); for gateways, one HTTP listener whose routes come over RDS; for sidecars, the
 * listeners of `sidecar.ts`. Only the Envoy listeners log and trace (telemetry.ts).
 */
import { origin } from '../../envoy/common.ts';
import { httpConnectionManager } from '../../envoy/http-connection-manager.ts';
import { httpFilterNeeds } from '../../envoy/http-filters.ts';
import { apiListener, httpListener } from '../../envoy/listener.ts';
import { routeConfiguration, virtualHost } from '../../envoy/route.ts';
import { isHttpProtocol, type Mesh, type MeshSettings } from '../../model/mesh.ts';
import { apiListenerNames, GATEWAY_LISTENER, GATEWAY_ROUTE_CONFIG, GATEWAY_TRACE_SERVICE } from '../../model/names.ts';
import { perService } from './memo.ts';
import { mergeVariants, serverListeners } from './security.ts';
import { sidecarListeners } from './sidecar.ts';
import { hcmTelemetry } from './telemetry.ts';
import type { BuiltResource } from './types.ts';

/** The filters the gateway's routes use: every route of every HTTP service, and those of external hosts. */
function gatewayFilterNeeds(mesh: Mesh) {
  const specs = [...mesh.services.filter((s) => isHttpProtocol(s.protocol)).flatMap((s) => s.routes), ...[...mesh.externalHosts.values()].flat()];
  return httpFilterNeeds(specs.map((r) => r.spec));
}

/** Builds the API listeners of every HTTP service and the gateway listener. */
export function buildListeners(mesh: Mesh, settings: MeshSettings): BuiltResource[] {
  const out: BuiltResource[] = [];
  for (const svc of mesh.services.filter((s) => isHttpProtocol(s.protocol))) {
    out.push(
      ...perService('api-listeners', svc, undefined, () =>
        apiListenerNames(svc).map((name): BuiltResource => {
          const routes = routeConfiguration(name, [virtualHost(svc, [], 'grpc')]);
          const needs = httpFilterNeeds(svc.routes.map((r) => r.spec));
          return { name, resource: apiListener(name, httpConnectionManager(name, { inline: routes }, needs), origin(svc)), roles: ['grpc'] };
        }),
      ),
    );
  }
  const gatewayHcm = httpConnectionManager(GATEWAY_LISTENER, { rds: GATEWAY_ROUTE_CONFIG }, gatewayFilterNeeds(mesh), hcmTelemetry(settings, GATEWAY_TRACE_SERVICE));
  out.push({
    name: GATEWAY_LISTENER,
    resource: httpListener(GATEWAY_LISTENER, '0.0.0.0', settings.gatewayPort, gatewayHcm),
    roles: ['gateway'],
  });
  return [...out, ...mergeVariants(mesh.services.flatMap((svc) => serverListeners(svc, settings))), ...sidecarListeners(mesh, settings)];
}
