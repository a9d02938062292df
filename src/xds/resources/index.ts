/** The list of translators, in one place: mesh in, every xDS resource out. Pure. */
import type { Mesh, MeshSettings } from '../../model/mesh.ts';
import { NO_IDENTITIES, type MeshIdentities } from '../identities.ts';
import { buildClusters } from './clusters.ts';
import { buildEndpoints } from './endpoints.ts';
import { buildListeners } from './listeners.ts';
import { buildRoutes } from './routes.ts';
import { buildSecrets } from './security.ts';
import type { ResourceSet } from './types.ts';

/** Translates the mesh (and the identities the CA issued for it) into every resource of every type. */
export function buildResources(mesh: Mesh, settings: MeshSettings, identities: MeshIdentities = NO_IDENTITIES): ResourceSet {
  return {
    cluster: buildClusters(mesh, settings),
    endpoint: buildEndpoints(mesh),
    listener: buildListeners(mesh, settings),
    route: buildRoutes(mesh, settings),
    secret: buildSecrets(mesh, identities),
  };
}

export type { BuiltResource, ResourceSet } from './types.ts';
