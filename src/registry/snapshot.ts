/** Reads the whole registry at one revision, in one repeatable-read transaction, for the reconciler. */
import { asc, eq } from 'drizzle-orm';
import type { Db } from './db.ts';
import { changes, endpoints, meshRevision, services, type EndpointRow, type ServiceRow } from './schema.ts';

export interface RegistrySnapshot {
  revision: number;
  /** When the write that made this revision committed (database clock); undefined for an empty log. */
  committedAt?: Date;
  services: ServiceRow[];
  endpoints: EndpointRow[];
}

/** Loads services and endpoints with the revision they belong to. */
export async function loadRegistry(db: Db): Promise<RegistrySnapshot> {
  return db.transaction(
    async (tx) => {
      const [rev] = await tx.select({ value: meshRevision.value }).from(meshRevision);
      const svcRows = await tx.select().from(services).orderBy(asc(services.namespace), asc(services.name));
      const epRows = await tx.select().from(endpoints).orderBy(asc(endpoints.serviceId), asc(endpoints.address), asc(endpoints.port));
      const [last] = await tx.select({ at: changes.at }).from(changes).where(eq(changes.revision, rev?.value ?? 0));
      return { revision: rev?.value ?? 0, committedAt: last?.at, services: svcRows, endpoints: epRows };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}
