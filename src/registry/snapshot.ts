/** Reads the whole registry at one revision, in one repeatable-read transaction, for the reconciler. */
import { asc, eq } from 'drizzle-orm';
import { activeSdsCertificates, listAuthorities } from './ca.ts';
import type { Db, Tx } from './db.ts';
import {
  authorizationPolicies,
  changes,
  endpoints,
  meshRevision,
  routes,
  services,
  type AuthzPolicyRow,
  type CaAuthorityRow,
  type CertificateRow,
  type EndpointRow,
  type RouteRow,
  type ServiceRow,
} from './schema.ts';

export interface RegistrySnapshot {
  revision: number;
  /** When the write that made this revision committed (database clock); undefined for an empty log. */
  committedAt?: Date;
  services: ServiceRow[];
  endpoints: EndpointRow[];
  routes: RouteRow[];
  authorization: AuthzPolicyRow[];
  /** CA certificates in use (active, and retiring during a rotation). */
  authorities: CaAuthorityRow[];
  /** The active SDS certificate of each identity. */
  certificates: CertificateRow[];
}

/** Loads services, endpoints, routes, policies and identities with the revision they belong to. */
export async function loadRegistry(db: Db): Promise<RegistrySnapshot> {
  return db.transaction((tx) => readRegistry(tx), { isolationLevel: 'repeatable read', accessMode: 'read only' });
}

/** Reads the registry inside a transaction the caller holds (a dry run reads its own uncommitted write). */
export async function readRegistry(tx: Tx): Promise<RegistrySnapshot> {
  const [rev] = await tx.select({ value: meshRevision.value }).from(meshRevision);
  const svcRows = await tx.select().from(services).orderBy(asc(services.namespace), asc(services.name));
  const epRows = await tx.select().from(endpoints).orderBy(asc(endpoints.serviceId), asc(endpoints.address), asc(endpoints.port));
  const routeRows = await tx.select().from(routes).orderBy(asc(routes.namespace), asc(routes.name));
  const authzRows = await tx.select().from(authorizationPolicies).orderBy(asc(authorizationPolicies.namespace), asc(authorizationPolicies.name));
  const caRows = await listAuthorities(tx, ['active', 'retiring']);
  const certRows = await activeSdsCertificates(tx);
  const [last] = await tx.select({ at: changes.at }).from(changes).where(eq(changes.revision, rev?.value ?? 0));
  return {
    revision: rev?.value ?? 0,
    committedAt: last?.at,
    services: svcRows,
    endpoints: epRows,
    routes: routeRows,
    authorization: authzRows,
    authorities: caRows,
    certificates: certRows,
  };
}
