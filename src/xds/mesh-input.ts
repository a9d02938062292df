/** The registry as the translators read it: rows made into the mesh model, in one place for every build. */
import { buildMesh, type Mesh } from '../model/mesh.ts';
import { authzSpecOf } from '../registry/authz.ts';
import { routeSpecOf } from '../registry/routes.ts';
import type { RegistrySnapshot } from '../registry/snapshot.ts';

/** The mesh of a registry snapshot; unchanged services are the objects of `previous` (see buildMesh). */
export function meshOf(registry: Omit<RegistrySnapshot, 'authorities' | 'certificates'>, previous?: Mesh): Mesh {
  return buildMesh(registry.revision, registry.services, registry.endpoints, previous, registry.routes.map(routeSpecOf), registry.authorization.map(authzSpecOf));
}
