/** CDS: one cluster per service, visible to every role, plus the sidecars' pass-through and inbound clusters. */
import { cluster } from '../../envoy/cluster.ts';
import type { Mesh, MeshSettings } from '../../model/mesh.ts';
import { perService } from './memo.ts';
import { sidecarClusters } from './sidecar.ts';
import { ALL_ROLES, type BuiltResource } from './types.ts';

/** Builds every service's cluster, and the sidecars' own clusters. */
export function buildClusters(mesh: Mesh, settings: MeshSettings): BuiltResource[] {
  return [...serviceClusters(mesh, settings), ...sidecarClusters(mesh, settings)];
}

/** Each service's cluster, and one per subset that routes send traffic to. */
function serviceClusters(mesh: Mesh, settings: MeshSettings): BuiltResource[] {
  return mesh.services.flatMap((svc) =>
    perService('clusters', svc, settings, () =>
      [undefined, ...svc.subsets].map((subset): BuiltResource => {
        const resource = cluster(svc, settings, subset);
        const eds = (resource.edsClusterConfig as { serviceName?: string } | undefined)?.serviceName;
        return { name: resource.name as string, resource, roles: ALL_ROLES, ...(eds ? { edsName: eds } : {}) };
      }),
    ),
  );
}
