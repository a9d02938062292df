/**
 * Join tokens: bearer credentials naming one service identity, for proxies that have no
 * certificate yet. A token is `apg_` + 32 random bytes (base64url); only its SHA-256 is stored, so
 * the registry cannot give a token away, and a lookup is one unique-index query on the hash.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../registry/db.ts';
import { findValidJoinToken, insertJoinToken, validJoinTokenIds } from '../registry/join-tokens.ts';
import type { JoinTokenRow } from '../registry/schema.ts';

/** Every token starts with this, so a leaked one is easy to recognise (secret scanners, logs). */
export const JOIN_TOKEN_PREFIX = 'apg_';

/** `apg_` + 32 random bytes, base64url (43 characters). */
const TOKEN_SHAPE = /^apg_[A-Za-z0-9_-]{43}$/;

/** The identity a valid token names, and the token's id (to re-check it while a stream stays open). */
export interface TokenIdentity {
  tokenId: string;
  namespace: string;
  service: string;
}

/** A new random token. */
export function newJoinToken(): string {
  return JOIN_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** What is stored of a token: the lower-case hex SHA-256 of the whole string. */
export function hashJoinToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The token of an `authorization: Bearer <token>` header (RFC 6750: the scheme is case-insensitive); undefined otherwise. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(value ?? '');
  return m?.[1];
}

/** Issues a token for `namespace/service` and stores its hash; the token itself is returned once and never again. */
export async function issueJoinToken(
  db: Db,
  request: { namespace: string; service: string; description?: string; expiresAt?: Date },
): Promise<{ token: string; row: JoinTokenRow }> {
  const token = newJoinToken();
  const row = await insertJoinToken(db, {
    namespace: request.namespace,
    service: request.service,
    tokenHash: hashJoinToken(token),
    description: request.description ?? null,
    expiresAt: request.expiresAt ?? null,
  });
  return { token, row };
}

/** The identity of a valid (unrevoked, unexpired) token; undefined for anything else, without a query for a malformed one. */
export async function verifyJoinToken(db: Db, token: string, now = new Date()): Promise<TokenIdentity | undefined> {
  if (!TOKEN_SHAPE.test(token)) return undefined;
  const row = await findValidJoinToken(db, hashJoinToken(token), now);
  return row && { tokenId: row.id, namespace: row.namespace, service: row.service };
}

/** Of these token ids, the ones still valid now (revocation and expiry reach open streams through this). */
export function stillValidJoinTokens(db: Db, ids: readonly string[], now = new Date()): Promise<Set<string>> {
  return validJoinTokenIds(db, ids, now);
}

/** A token's status as the API shows it. */
export function joinTokenStatus(row: Pick<JoinTokenRow, 'revokedAt' | 'expiresAt'>, now = new Date()): 'active' | 'expired' | 'revoked' {
  if (row.revokedAt) return 'revoked';
  return row.expiresAt && row.expiresAt.getTime() <= now.getTime() ? 'expired' : 'active';
}
