/** The list of translators, in one place: mesh in, every xDS resource out. Pure. */
import type { Mesh, MeshSettings } from '../../model/mesh.ts';
import { buildClusters } from './clusters.ts';
import { buildEndpoints } from './endpoints.ts';
import { buildListeners } from './listeners.ts';
import { buildRoutes } from './routes.ts';
import type { ResourceSet } from './types.ts';

/** Translates the mesh into every resource of every type. */
export function buildResources(mesh: Mesh, settings: MeshSettings): ResourceSet {
  return {
    cluster: buildClusters(mesh, settings),
    endpoint: buildEndpoints(mesh),
    listener: buildListeners(mesh, settings),
    route: buildRoutes(mesh, settings),
    secret: [],
  };
}

export type { BuiltResource, ResourceSet } from './types.ts';
