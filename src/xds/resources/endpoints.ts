/** EDS: one load assignment per EDS cluster (a service's, or a subset's), named by its EDS service name (DNS clusters carry theirs inline). */
import { discoveryType, subsetEndpoints } from '../../envoy/cluster.ts';
import { clusterLoadAssignment } from '../../envoy/endpoint.ts';
import type { Mesh } from '../../model/mesh.ts';
import { edsServiceName, subsetEdsName } from '../../model/names.ts';
import { subsetKey } from '../../model/routing.ts';
import { perService } from './memo.ts';
import { ALL_ROLES, type BuiltResource } from './types.ts';

/** Builds the load assignment of every EDS cluster. */
export function buildEndpoints(mesh: Mesh): BuiltResource[] {
  return mesh.services
    .filter((svc) => discoveryType(svc) === 'EDS')
    .flatMap((svc) =>
      perService('load-assignments', svc, undefined, () =>
        [undefined, ...svc.subsets].map((subset): BuiltResource => {
          const name = subset ? subsetEdsName(svc, subsetKey(subset)) : edsServiceName(svc);
          return { name, resource: clusterLoadAssignment(name, subsetEndpoints(svc, subset)), roles: ALL_ROLES };
        }),
      ),
    );
}
