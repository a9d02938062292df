/** Endpoint repository: endpoints belong to a service; every write records a change on that service. */
import { and, asc, eq, sql } from 'drizzle-orm';
import { recordChange } from './changes.ts';
import type { Db, Tx } from './db.ts';
import { isUniqueViolation } from './errors.ts';
import { endpoints, services, type EndpointRow } from './schema.ts';
import { checkRevision, lockService, notFound, type WriteResult } from './services.ts';

export interface EndpointInput {
  address: string;
  port: number;
  weight: number;
  region: string;
  zone: string;
  subZone: string;
  labels: Record<string, string>;
  health: string;
  ttlSeconds: number | null;
}

/** The endpoint row with its service locked for the transaction, or why a write to it cannot go ahead. */
async function lockEndpoint(tx: Tx, namespace: string, name: string, id: string, ifRevision?: number): Promise<WriteResult<EndpointRow>> {
  const svc = await lockService(tx, namespace, name);
  if (!svc.ok) return svc;
  const [current] = await tx.select().from(endpoints).where(and(eq(endpoints.id, id), eq(endpoints.serviceId, svc.value.id)));
  if (!current) return notFound(`endpoint ${id} does not exist`);
  return checkRevision(`endpoint ${id}`, current, ifRevision);
}

function duplicate(input: { address: string; port: number }) {
  return { ok: false as const, reason: 'conflict' as const, detail: `an endpoint ${input.address}:${input.port} already exists in this service` };
}

/** Endpoints of a service sorted by address and port, or undefined when the service does not exist. */
export async function listEndpoints(db: Db, namespace: string, name: string): Promise<EndpointRow[] | undefined> {
  const [svc] = await db.select({ id: services.id }).from(services).where(and(eq(services.namespace, namespace), eq(services.name, name)));
  if (!svc) return undefined;
  return db.select().from(endpoints).where(eq(endpoints.serviceId, svc.id)).orderBy(asc(endpoints.address), asc(endpoints.port));
}

/** One endpoint of a service. */
export async function getEndpoint(db: Db, namespace: string, name: string, id: string): Promise<EndpointRow | undefined> {
  const [row] = await db
    .select({ endpoint: endpoints })
    .from(endpoints)
    .innerJoin(services, eq(services.id, endpoints.serviceId))
    .where(and(eq(services.namespace, namespace), eq(services.name, name), eq(endpoints.id, id)));
  return row?.endpoint;
}

/** Adds an endpoint; a TTL starts counting now. */
export async function createEndpoint(db: Db, namespace: string, name: string, input: EndpointInput): Promise<WriteResult<EndpointRow>> {
  try {
    return await db.transaction(async (tx) => {
      const svc = await lockService(tx, namespace, name);
      if (!svc.ok) return svc;
      const heartbeat = input.ttlSeconds === null ? null : sql`now()`;
      const [row] = await tx.insert(endpoints).values({ ...input, serviceId: svc.value.id, lastHeartbeatAt: heartbeat }).returning();
      await recordChange(tx, { kind: 'endpoint', op: 'create', namespace, name });
      return { ok: true as const, value: row! };
    });
  } catch (err) {
    if (isUniqueViolation(err)) return duplicate(input);
    throw err;
  }
}

/** Replaces an endpoint's fields; `ifRevision` makes it conditional. */
export async function updateEndpoint(
  db: Db,
  namespace: string,
  name: string,
  id: string,
  input: EndpointInput,
  ifRevision?: number,
): Promise<WriteResult<EndpointRow>> {
  try {
    return await db.transaction(async (tx) => {
      const locked = await lockEndpoint(tx, namespace, name, id, ifRevision);
      if (!locked.ok) return locked;
      const current = locked.value;
      const heartbeat = input.ttlSeconds === null ? null : sql`coalesce(${endpoints.lastHeartbeatAt}, now())`;
      const [row] = await tx
        .update(endpoints)
        .set({ ...input, lastHeartbeatAt: heartbeat, revision: current.revision + 1, updatedAt: sql`now()` })
        .where(eq(endpoints.id, id))
        .returning();
      await recordChange(tx, { kind: 'endpoint', op: 'update', namespace, name });
      return { ok: true as const, value: row! };
    });
  } catch (err) {
    if (isUniqueViolation(err)) return duplicate(input);
    throw err;
  }
}

/** Removes an endpoint. */
export async function deleteEndpoint(db: Db, namespace: string, name: string, id: string, ifRevision?: number): Promise<WriteResult<EndpointRow>> {
  return db.transaction(async (tx) => {
    const locked = await lockEndpoint(tx, namespace, name, id, ifRevision);
    if (!locked.ok) return locked;
    await tx.delete(endpoints).where(eq(endpoints.id, id));
    await recordChange(tx, { kind: 'endpoint', op: 'delete', namespace, name });
    return locked;
  });
}

/**
 * Records a heartbeat (Consul's TTL check passing): stamps the time and sets the health given, by
 * default `healthy` (a draining endpoint stays draining). A change is recorded only when the health
 * changes, so steady heartbeats push nothing to proxies.
 */
export async function heartbeat(db: Db, namespace: string, name: string, id: string, requested?: string): Promise<WriteResult<EndpointRow>> {
  return db.transaction(async (tx) => {
    const locked = await lockEndpoint(tx, namespace, name, id);
    if (!locked.ok) return locked;
    const current = locked.value;
    const health = requested ?? (current.health === 'draining' ? 'draining' : 'healthy');
    const changed = current.health !== health;
    const [row] = await tx
      .update(endpoints)
      .set({ lastHeartbeatAt: sql`now()`, health, ...(changed ? { revision: current.revision + 1, updatedAt: sql`now()` } : {}) })
      .where(eq(endpoints.id, id))
      .returning();
    if (changed) await recordChange(tx, { kind: 'endpoint', op: 'update', namespace, name });
    return { ok: true as const, value: row! };
  });
}

/** Marks unhealthy every endpoint whose TTL passed without a heartbeat; returns how many changed. */
export async function expireHeartbeats(db: Db): Promise<number> {
  return db.transaction(async (tx) => {
    const expired = await tx
      .update(endpoints)
      .set({ health: 'unhealthy', revision: sql`${endpoints.revision} + 1`, updatedAt: sql`now()` })
      .where(
        sql`${endpoints.ttlSeconds} is not null and ${endpoints.health} <> 'unhealthy'
            and coalesce(${endpoints.lastHeartbeatAt}, ${endpoints.createdAt}) + make_interval(secs => ${endpoints.ttlSeconds}) < now()`,
      )
      .returning({ serviceId: endpoints.serviceId });
    const serviceIds = [...new Set(expired.map((e) => e.serviceId))];
    for (const sid of serviceIds) {
      const [svc] = await tx.select({ namespace: services.namespace, name: services.name }).from(services).where(eq(services.id, sid));
      if (svc) await recordChange(tx, { kind: 'endpoint', op: 'update', ...svc });
    }
    return expired.length;
  });
}

/** Every service with its endpoints counted by health (the topology's nodes, the endpoint-health alerts). */
export interface ServiceHealthRow {
  service: string;
  protocol: string;
  total: number;
  healthy: number;
  unhealthy: number;
  draining: number;
}

/** Counts each service's endpoints by health, services sorted by `ns/name`. */
export async function serviceHealth(db: Db): Promise<ServiceHealthRow[]> {
  const count = (h: string) => sql<number>`count(${endpoints.id}) filter (where ${endpoints.health} = ${h})::int`;
  const rows = await db
    .select({
      namespace: services.namespace,
      name: services.name,
      protocol: services.protocol,
      total: sql<number>`count(${endpoints.id})::int`,
      healthy: count('healthy'),
      unhealthy: count('unhealthy'),
      draining: count('draining'),
    })
    .from(services)
    .leftJoin(endpoints, eq(endpoints.serviceId, services.id))
    .groupBy(services.id, services.namespace, services.name, services.protocol)
    .orderBy(services.namespace, services.name);
  return rows.map(({ namespace, name, ...r }) => ({ service: `${namespace}/${name}`, ...r }));
}
