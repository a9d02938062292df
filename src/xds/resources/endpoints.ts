/** EDS: one load assignment per EDS cluster, named by its EDS service name (DNS clusters carry theirs inline). */
import { discoveryType } from '../../envoy/cluster.ts';
import { clusterLoadAssignment } from '../../envoy/endpoint.ts';
import type { Mesh } from '../../model/mesh.ts';
import { edsServiceName } from '../../model/names.ts';
import { perService } from './memo.ts';
import { ALL_ROLES, type BuiltResource } from './types.ts';

/** Builds the load assignment of every EDS cluster. */
export function buildEndpoints(mesh: Mesh): BuiltResource[] {
  return mesh.services
    .filter((svc) => discoveryType(svc) === 'EDS')
    .map((svc) =>
      perService('load-assignment', svc, undefined, () => {
        const name = edsServiceName(svc);
        return { name, resource: clusterLoadAssignment(name, svc.endpoints), roles: ALL_ROLES };
      }),
    );
}
