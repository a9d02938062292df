/**
 * CDS: one cluster per service, visible to every role (in plain text, with mTLS variants for callers
 * that have an identity, see security.ts), plus the sidecars' pass-through and inbound clusters, and
 * the clusters of the telemetry services and span collector (telemetry.ts).
 */
import { cluster } from '../../envoy/cluster.ts';
import type { Mesh, MeshSettings } from '../../model/mesh.ts';
import { perService } from './memo.ts';
import { clusterTlsVariants } from './security.ts';
import { sidecarClusters } from './sidecar.ts';
import { telemetryClusters } from './telemetry.ts';
import { ALL_ROLES, type BuiltResource } from './types.ts';

/** Builds every service's cluster, the sidecars' own clusters, and the telemetry clusters of Envoy proxies. */
export function buildClusters(mesh: Mesh, settings: MeshSettings): BuiltResource[] {
  return [...serviceClusters(mesh, settings), ...sidecarClusters(mesh, settings), ...telemetryClusters(settings)];
}

/** Each service's cluster, and one per subset that routes send traffic to. */
function serviceClusters(mesh: Mesh, settings: MeshSettings): BuiltResource[] {
  return mesh.services.flatMap((svc) =>
    perService('clusters', svc, settings, () =>
      [undefined, ...svc.subsets].map((subset): BuiltResource => {
        const resource = cluster(svc, settings, subset);
        const eds = (resource.edsClusterConfig as { serviceName?: string } | undefined)?.serviceName;
        const variants = clusterTlsVariants(svc, settings, resource);
        return { name: resource.name as string, resource, roles: ALL_ROLES, ...(eds ? { edsName: eds } : {}), ...(variants.length > 0 ? { variants } : {}) };
      }),
    ),
  );
}
