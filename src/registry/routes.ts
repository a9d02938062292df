/**
 * Route repository. A route write is checked against the registry as it is inside the write's own
 * transaction (the services and subsets it names must exist, no other route may claim the same
 * match), under a lock that serialises route writes, so two writers cannot both pass the check.
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Issue } from '../lib/result.ts';
import type { RouteSpec } from '../model/traffic.ts';
import { recordChange } from './changes.ts';
import type { Db, Tx } from './db.ts';
import { isUniqueViolation } from './errors.ts';
import { LOCK_KEYS } from './migrate.ts';
import { endpoints, routes, services, type RouteBodyColumn, type RouteRow } from './schema.ts';
import { checkRevision, notFound, type WriteResult } from './services.ts';

export interface RouteInput {
  namespace: string;
  name: string;
  hosts: string[];
  priority: number;
  spec: RouteBodyColumn;
}

/** What a route check sees: every service with its port, protocol and endpoint labels, and the other routes. */
export interface RouteContext {
  services: Map<string, { port: number; protocol: string; endpointLabels: Record<string, string>[] }>;
  /** Every stored route except the one being written. */
  routes: RouteRow[];
}

/** Issues that stop the write, or conflicts with other routes (a 409 naming both). */
export type RouteCheck = (ctx: RouteContext) => { issues: Issue[]; conflict?: string };

export type RouteWriteResult = WriteResult<RouteRow> | { ok: false; reason: 'invalid'; issues: Issue[] };

/** The domain form of a stored route. */
export function routeSpecOf(row: RouteRow): RouteSpec {
  return { ...row.spec, namespace: row.namespace, name: row.name, hosts: row.hosts, priority: row.priority };
}

/** Lists routes, by namespace then name; `service` keeps those with a destination in `namespace/name`. */
export async function listRoutes(db: Db, filter: { namespace?: string; service?: string } = {}): Promise<RouteRow[]> {
  const rows = await db
    .select()
    .from(routes)
    .where(filter.namespace ? eq(routes.namespace, filter.namespace) : undefined)
    .orderBy(asc(routes.namespace), asc(routes.name));
  if (!filter.service) return rows;
  return rows.filter((r) => (r.spec.destinations ?? []).some((d) => `${d.namespace}/${d.name}` === filter.service));
}

/** One route, or undefined. */
export async function getRoute(db: Db, namespace: string, name: string): Promise<RouteRow | undefined> {
  const [row] = await db.select().from(routes).where(and(eq(routes.namespace, namespace), eq(routes.name, name)));
  return row;
}

/** The registry as a route check needs it, read inside `tx`. */
async function routeContext(tx: Tx, except?: { namespace: string; name: string }): Promise<RouteContext> {
  const svcRows = await tx.select({ id: services.id, namespace: services.namespace, name: services.name, port: services.port, protocol: services.protocol }).from(services);
  const epRows = await tx.select({ serviceId: endpoints.serviceId, labels: endpoints.labels }).from(endpoints);
  const labels = new Map<string, Record<string, string>[]>();
  for (const e of epRows) labels.set(e.serviceId, [...(labels.get(e.serviceId) ?? []), e.labels]);
  const map: RouteContext['services'] = new Map();
  for (const s of svcRows) map.set(`${s.namespace}/${s.name}`, { port: s.port, protocol: s.protocol, endpointLabels: labels.get(s.id) ?? [] });
  const all = await tx.select().from(routes).orderBy(asc(routes.namespace), asc(routes.name));
  return { services: map, routes: all.filter((r) => !(except && r.namespace === except.namespace && r.name === except.name)) };
}

/** Runs `write` in a transaction holding the route lock, so that checks and writes of routes never interleave. */
async function inRouteTransaction(db: Db, write: (tx: Tx) => Promise<RouteWriteResult>): Promise<RouteWriteResult> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_KEYS.routes})`);
    return write(tx);
  });
}

/** Checks and stores a new route; a duplicate namespace/name is a conflict. */
export async function createRoute(db: Db, input: RouteInput, check: RouteCheck): Promise<RouteWriteResult> {
  try {
    return await inRouteTransaction(db, async (tx) => {
      const verdict = check(await routeContext(tx));
      if (verdict.issues.length) return { ok: false, reason: 'invalid', issues: verdict.issues };
      if (verdict.conflict) return { ok: false, reason: 'conflict', detail: verdict.conflict };
      const [row] = await tx.insert(routes).values(input).returning();
      await recordChange(tx, { kind: 'route', op: 'create', namespace: input.namespace, name: input.name });
      return { ok: true, value: row! };
    });
  } catch (err) {
    if (isUniqueViolation(err)) return { ok: false, reason: 'conflict', detail: `route ${input.namespace}/${input.name} already exists` };
    throw err;
  }
}

/** Checks and replaces a route; `ifRevision` makes it conditional. */
export async function updateRoute(
  db: Db,
  input: RouteInput,
  check: RouteCheck,
  opts: { ifRevision?: number } = {},
): Promise<RouteWriteResult> {
  return inRouteTransaction(db, async (tx) => {
    const current = await lockRoute(tx, input.namespace, input.name, opts.ifRevision);
    if (!current.ok) return current;
    const verdict = check(await routeContext(tx, input));
    if (verdict.issues.length) return { ok: false, reason: 'invalid', issues: verdict.issues };
    if (verdict.conflict) return { ok: false, reason: 'conflict', detail: verdict.conflict };
    const [row] = await tx
      .update(routes)
      .set({ hosts: input.hosts, priority: input.priority, spec: input.spec, revision: current.value.revision + 1, updatedAt: sql`now()` })
      .where(eq(routes.id, current.value.id))
      .returning();
    await recordChange(tx, { kind: 'route', op: 'update', namespace: input.namespace, name: input.name });
    return { ok: true, value: row! };
  });
}

/** Deletes a route. */
export async function deleteRoute(db: Db, namespace: string, name: string, opts: { ifRevision?: number } = {}): Promise<RouteWriteResult> {
  return inRouteTransaction(db, async (tx) => {
    const current = await lockRoute(tx, namespace, name, opts.ifRevision);
    if (!current.ok) return current;
    await tx.delete(routes).where(eq(routes.id, current.value.id));
    await recordChange(tx, { kind: 'route', op: 'delete', namespace, name });
    return current;
  });
}

async function lockRoute(tx: Tx, namespace: string, name: string, ifRevision?: number): Promise<WriteResult<RouteRow>> {
  const [current] = await tx
    .select()
    .from(routes)
    .where(and(eq(routes.namespace, namespace), eq(routes.name, name)))
    .for('update');
  if (!current) return notFound(`route ${namespace}/${name} does not exist`);
  return checkRevision(`route ${namespace}/${name}`, current, ifRevision);
}
