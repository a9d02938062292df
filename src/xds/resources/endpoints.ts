/**
 * EDS: one load assignment per EDS cluster (a service's, or a subset's), named by its EDS service
 * name (DNS clusters carry theirs inline). A service with locality failover also gets, per caller
 * locality that sees it differently, a variant of each load assignment with priorities by nearness;
 * the cache hands a proxy the variant of its own locality under the same name.
 */
import { discoveryType, subsetEndpoints } from '../../envoy/cluster.ts';
import { clusterLoadAssignment, failoverLocalities } from '../../envoy/endpoint.ts';
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
          const endpoints = subsetEndpoints(svc, subset);
          const built: BuiltResource = { name, resource: clusterLoadAssignment(name, endpoints), roles: ALL_ROLES };
          if (svc.trafficPolicy?.localityFailover) {
            built.variants = failoverLocalities(endpoints).map(({ key, caller }) => ({ key, resource: clusterLoadAssignment(name, endpoints, caller) }));
          }
          return built;
        }),
      ),
    );
}
