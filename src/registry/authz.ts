/** Authorization policy repository: one row per policy, its rules as one JSON document; every write is a change. */
import { and, asc, eq, sql } from 'drizzle-orm';
import type { AuthorizationPolicySpec } from '../model/authz.ts';
import { recordChange } from './changes.ts';
import type { Db, Tx } from './db.ts';
import { isUniqueViolation } from './errors.ts';
import { authorizationPolicies, type AuthzPolicyRow } from './schema.ts';
import { checkRevision, notFound, type WriteResult } from './services.ts';

/** The domain form of a stored policy. */
export function authzSpecOf(row: AuthzPolicyRow): AuthorizationPolicySpec {
  const target = row.targetService === null ? { namespace: row.targetNamespace } : { namespace: row.targetNamespace, service: row.targetService };
  return { namespace: row.namespace, name: row.name, target, ...row.spec };
}

function columnsOf(spec: AuthorizationPolicySpec) {
  return {
    namespace: spec.namespace,
    name: spec.name,
    targetNamespace: spec.target.namespace,
    targetService: spec.target.service ?? null,
    spec: { action: spec.action, mode: spec.mode, rules: spec.rules },
  };
}

/** Policies, by namespace and name; filtered by the policy's namespace or its target. */
export async function listAuthzPolicies(db: Db | Tx, filter: { namespace?: string; targetNamespace?: string } = {}): Promise<AuthzPolicyRow[]> {
  const where = [];
  if (filter.namespace !== undefined) where.push(eq(authorizationPolicies.namespace, filter.namespace));
  if (filter.targetNamespace !== undefined) where.push(eq(authorizationPolicies.targetNamespace, filter.targetNamespace));
  return db
    .select()
    .from(authorizationPolicies)
    .where(and(...where))
    .orderBy(asc(authorizationPolicies.namespace), asc(authorizationPolicies.name));
}

/** One policy by namespace and name. */
export async function getAuthzPolicy(db: Db | Tx, namespace: string, name: string): Promise<AuthzPolicyRow | undefined> {
  const [row] = await db
    .select()
    .from(authorizationPolicies)
    .where(and(eq(authorizationPolicies.namespace, namespace), eq(authorizationPolicies.name, name)));
  return row;
}

/** Stores a new policy; a duplicate namespace/name is a conflict. */
export async function createAuthzPolicy(db: Db, spec: AuthorizationPolicySpec): Promise<WriteResult<AuthzPolicyRow>> {
  try {
    return await db.transaction(async (tx) => {
      const [row] = await tx.insert(authorizationPolicies).values(columnsOf(spec)).returning();
      await recordChange(tx, { kind: 'authz', op: 'create', namespace: spec.namespace, name: spec.name });
      return { ok: true, value: row! };
    });
  } catch (err) {
    if (isUniqueViolation(err)) return { ok: false, reason: 'conflict', detail: `authorization policy ${spec.namespace}/${spec.name} already exists` };
    throw err;
  }
}

/** Replaces a policy; `ifRevision` makes it conditional. */
export async function updateAuthzPolicy(db: Db, spec: AuthorizationPolicySpec, ifRevision?: number): Promise<WriteResult<AuthzPolicyRow>> {
  return db.transaction(async (tx) => {
    const current = await lockPolicy(tx, spec.namespace, spec.name, ifRevision);
    if (!current.ok) return current;
    const [row] = await tx
      .update(authorizationPolicies)
      .set({ ...columnsOf(spec), revision: current.value.revision + 1, updatedAt: sql`now()` })
      .where(eq(authorizationPolicies.id, current.value.id))
      .returning();
    await recordChange(tx, { kind: 'authz', op: 'update', namespace: spec.namespace, name: spec.name });
    return { ok: true, value: row! };
  });
}

/** Deletes a policy; its value is the policy as it was. */
export async function deleteAuthzPolicy(db: Db, namespace: string, name: string, ifRevision?: number): Promise<WriteResult<AuthzPolicyRow>> {
  return db.transaction(async (tx) => {
    const current = await lockPolicy(tx, namespace, name, ifRevision);
    if (!current.ok) return current;
    await tx.delete(authorizationPolicies).where(eq(authorizationPolicies.id, current.value.id));
    await recordChange(tx, { kind: 'authz', op: 'delete', namespace, name });
    return current;
  });
}

async function lockPolicy(tx: Tx, namespace: string, name: string, ifRevision?: number): Promise<WriteResult<AuthzPolicyRow>> {
  const [current] = await tx
    .select()
    .from(authorizationPolicies)
    .where(and(eq(authorizationPolicies.namespace, namespace), eq(authorizationPolicies.name, name)))
    .for('update');
  if (!current) return notFound(`authorization policy ${namespace}/${name} does not exist`);
  return checkRevision(`authorization policy ${namespace}/${name}`, current, ifRevision);
}
