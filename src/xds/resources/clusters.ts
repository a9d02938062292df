/** CDS: one cluster per service, visible to every role. */
import { cluster } from '../../envoy/cluster.ts';
import type { Mesh, MeshSettings } from '../../model/mesh.ts';
import { ALL_ROLES, type BuiltResource } from './types.ts';

/** Builds every service's cluster. */
export function buildClusters(mesh: Mesh, settings: MeshSettings): BuiltResource[] {
  return mesh.services.map((svc) => {
    const resource = cluster(svc, settings);
    const eds = (resource.edsClusterConfig as { serviceName?: string } | undefined)?.serviceName;
    return { name: resource.name as string, resource, roles: ALL_ROLES, ...(eds ? { edsName: eds } : {}) };
  });
}
