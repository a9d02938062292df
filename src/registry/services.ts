/** Service repository: every write is one transaction that also records a change. */
import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
import type { Requirement } from '../model/selector.ts';
import type { TrafficPolicy } from '../model/traffic.ts';
import { recordChange } from './changes.ts';
import type { Db, Tx } from './db.ts';
import { isUniqueViolation } from './errors.ts';
import { endpoints, services, type ServiceRow } from './schema.ts';

export interface ServiceInput {
  namespace: string;
  name: string;
  protocol: string;
  port: number;
  tags: string[];
  labels: Record<string, string>;
  version: string | null;
  metadata: Record<string, unknown>;
  trafficPolicy: TrafficPolicy | null;
  /** strict, permissive or disabled; null: the mesh default. */
  mtls: string | null;
}

/** Aggregate health of a service's endpoints. */
export type ServiceHealth = 'healthy' | 'degraded' | 'unhealthy' | 'unknown';

export interface ServiceView extends ServiceRow {
  endpointCount: number;
  healthyCount: number;
  health: ServiceHealth;
}

/** The outcome of a write: the row, or why not (the API maps each reason to a status). */
export type WriteResult<T> =
  | { ok: true; value: T }
  | { ok: false; reason: 'not-found' | 'conflict' | 'precondition-failed'; detail: string };

export interface ServiceFilter {
  namespace?: string;
  tags?: string[];
  labels?: Requirement[];
  health?: ServiceHealth;
}

/**
 * The SQL expressions behind the aggregate health columns. The outer id is qualified by hand:
 * drizzle renders `${services.id}` as a bare "id" in a single-table select, which inside the
 * subquery would mean e.id and count nothing.
 */
const endpointCount = sql<number>`(select count(*)::int from ${endpoints} e where e.service_id = ${services}."id")`;
const healthyCount = sql<number>`(select count(*)::int from ${endpoints} e where e.service_id = ${services}."id" and e.health = 'healthy')`;

/** A service's aggregate health from its endpoint counts. */
export function serviceHealth(total: number, healthy: number): ServiceHealth {
  if (total === 0) return 'unknown';
  if (healthy === total) return 'healthy';
  return healthy > 0 ? 'degraded' : 'unhealthy';
}

function withHealth(row: ServiceRow & { endpointCount: number; healthyCount: number }): ServiceView {
  return { ...row, health: serviceHealth(row.endpointCount, row.healthyCount) };
}

function labelCondition(r: Requirement): SQL {
  switch (r.op) {
    case 'exists':
      return sql`${services.labels} ? ${r.key}`;
    case 'absent':
      return sql`not (${services.labels} ? ${r.key})`;
    case 'eq':
      return sql`${services.labels} @> ${JSON.stringify({ [r.key]: r.value })}::jsonb`;
    case 'neq':
      return sql`not (${services.labels} @> ${JSON.stringify({ [r.key]: r.value })}::jsonb)`;
  }
}

/** A failed write: the resource is missing. */
export function notFound(detail: string): WriteResult<never> {
  return { ok: false, reason: 'not-found', detail };
}

/** Optimistic concurrency: the row, unless the caller expected another revision. */
export function checkRevision<T extends { revision: number }>(what: string, current: T, ifRevision?: number): WriteResult<T> {
  if (ifRevision === undefined || current.revision === ifRevision) return { ok: true, value: current };
  return { ok: false, reason: 'precondition-failed', detail: `${what} is at revision ${current.revision}, not ${ifRevision}` };
}

/** The service row, locked until the transaction ends, or why a write to it cannot go ahead. */
export async function lockService(tx: Tx, namespace: string, name: string, ifRevision?: number): Promise<WriteResult<ServiceRow>> {
  const [current] = await tx
    .select()
    .from(services)
    .where(and(eq(services.namespace, namespace), eq(services.name, name)))
    .for('update');
  if (!current) return notFound(`service ${namespace}/${name} does not exist`);
  return checkRevision(`service ${namespace}/${name}`, current, ifRevision);
}

/** Lists services matching the filter, sorted by namespace then name. */
export async function listServices(db: Db, filter: ServiceFilter = {}): Promise<ServiceView[]> {
  const conds: SQL[] = [];
  if (filter.namespace) conds.push(eq(services.namespace, filter.namespace));
  if (filter.tags?.length) conds.push(sql`${services.tags} @> ${JSON.stringify(filter.tags)}::jsonb`);
  for (const r of filter.labels ?? []) conds.push(labelCondition(r));
  const rows = await db
    .select({ service: services, endpointCount, healthyCount })
    .from(services)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(asc(services.namespace), asc(services.name));
  const views = rows.map((r) => withHealth({ ...r.service, endpointCount: r.endpointCount, healthyCount: r.healthyCount }));
  return filter.health ? views.filter((v) => v.health === filter.health) : views;
}

/** One service with its health, or undefined. */
export async function getService(db: Db, namespace: string, name: string): Promise<ServiceView | undefined> {
  const [r] = await db
    .select({ service: services, endpointCount, healthyCount })
    .from(services)
    .where(and(eq(services.namespace, namespace), eq(services.name, name)));
  return r && withHealth({ ...r.service, endpointCount: r.endpointCount, healthyCount: r.healthyCount });
}

/** Creates a service; a duplicate namespace/name is a conflict. */
export async function createService(db: Db, input: ServiceInput): Promise<WriteResult<ServiceView>> {
  try {
    const row = await db.transaction(async (tx) => {
      const [created] = await tx.insert(services).values(input).returning();
      await recordChange(tx, { kind: 'service', op: 'create', namespace: input.namespace, name: input.name });
      return created!;
    });
    return { ok: true, value: withHealth({ ...row, endpointCount: 0, healthyCount: 0 }) };
  } catch (err) {
    if (isUniqueViolation(err)) {
      return { ok: false, reason: 'conflict', detail: `service ${input.namespace}/${input.name} already exists` };
    }
    throw err;
  }
}

/** Replaces a service's fields; `ifRevision` makes it conditional (optimistic concurrency). */
export async function updateService(
  db: Db,
  namespace: string,
  name: string,
  input: Omit<ServiceInput, 'namespace' | 'name'>,
  ifRevision?: number,
): Promise<WriteResult<ServiceView>> {
  return db.transaction(async (tx) => {
    const locked = await lockService(tx, namespace, name, ifRevision);
    if (!locked.ok) return locked;
    const current = locked.value;
    const [row] = await tx
      .update(services)
      .set({ ...input, revision: current.revision + 1, updatedAt: sql`now()` })
      .where(eq(services.id, current.id))
      .returning();
    await recordChange(tx, { kind: 'service', op: 'update', namespace, name });
    const [counts] = await tx.select({ endpointCount, healthyCount }).from(services).where(eq(services.id, current.id));
    return { ok: true, value: withHealth({ ...row!, endpointCount: counts!.endpointCount, healthyCount: counts!.healthyCount }) };
  });
}

/** Deletes a service and (in the same transaction) its endpoints; its value is the service as it was. */
export async function deleteService(db: Db, namespace: string, name: string, ifRevision?: number): Promise<WriteResult<ServiceView>> {
  return db.transaction(async (tx) => {
    const locked = await lockService(tx, namespace, name, ifRevision);
    if (!locked.ok) return locked;
    // Read under the lock: the service as it was, endpoint count included, is what was deleted.
    const deleted = (await getService(tx, namespace, name))!;
    await tx.delete(endpoints).where(eq(endpoints.serviceId, locked.value.id));
    await tx.delete(services).where(eq(services.id, locked.value.id));
    await recordChange(tx, { kind: 'service', op: 'delete', namespace, name });
    return { ok: true, value: deleted };
  });
}
