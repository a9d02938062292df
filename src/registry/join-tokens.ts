/**
 * The join tokens table: per-service credentials, stored as hashes. Making and checking tokens is
 * src/ca/join-tokens.ts; this file only stores and finds them.
 */
import { and, asc, eq, gt, inArray, isNull, or, type SQL } from 'drizzle-orm';
import type { Db, Tx } from './db.ts';
import { joinTokens, type JoinTokenRow } from './schema.ts';

export type NewJoinToken = Pick<typeof joinTokens.$inferInsert, 'namespace' | 'service' | 'tokenHash' | 'description' | 'expiresAt'>;

/** Stores a new token (its hash). */
export async function insertJoinToken(db: Db | Tx, row: NewJoinToken): Promise<JoinTokenRow> {
  const [created] = await db.insert(joinTokens).values(row).returning();
  return created!;
}

/** Every token, revoked and expired ones too, oldest first; optionally of one namespace or service. */
export async function listJoinTokens(db: Db | Tx, filter: { namespace?: string; service?: string } = {}): Promise<JoinTokenRow[]> {
  const where: SQL[] = [];
  if (filter.namespace !== undefined) where.push(eq(joinTokens.namespace, filter.namespace));
  if (filter.service !== undefined) where.push(eq(joinTokens.service, filter.service));
  return db
    .select()
    .from(joinTokens)
    .where(and(...where))
    .orderBy(asc(joinTokens.createdAt), asc(joinTokens.id));
}

/** One token by id, if it exists. */
export async function getJoinToken(db: Db | Tx, id: string): Promise<JoinTokenRow | undefined> {
  const [row] = await db.select().from(joinTokens).where(eq(joinTokens.id, id));
  return row;
}

/** Revokes a token (a revoked one keeps its first revocation time); undefined when there is no such token. */
export async function revokeJoinToken(db: Db | Tx, id: string, at: Date): Promise<JoinTokenRow | undefined> {
  const [revoked] = await db
    .update(joinTokens)
    .set({ revokedAt: at })
    .where(and(eq(joinTokens.id, id), isNull(joinTokens.revokedAt)))
    .returning();
  return revoked ?? getJoinToken(db, id);
}

/** A token is valid while it is not revoked and not expired. */
const validAt = (at: Date) => and(isNull(joinTokens.revokedAt), or(isNull(joinTokens.expiresAt), gt(joinTokens.expiresAt, at)));

/** The valid token with this hash, if there is one (one unique-index lookup). */
export async function findValidJoinToken(db: Db | Tx, tokenHash: string, at: Date): Promise<JoinTokenRow | undefined> {
  const [row] = await db.select().from(joinTokens).where(and(eq(joinTokens.tokenHash, tokenHash), validAt(at)));
  return row;
}

/** Of the token ids given, the ones still valid at `at`. */
export async function validJoinTokenIds(db: Db | Tx, ids: readonly string[], at: Date): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .select({ id: joinTokens.id })
    .from(joinTokens)
    .where(and(inArray(joinTokens.id, [...ids]), validAt(at)));
  return new Set(rows.map((r) => r.id));
}
