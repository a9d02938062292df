/**
 * The mesh CA's authorities over their life: created at first start, replaced by a rotation (the
 * old ones turn `retiring` and stay in the trust bundle), and `retired` once nothing they vouch for
 * is still valid. Every function here runs inside the CA lock (`inCaTransaction`), so two replicas
 * never rotate or retire at once.
 *
 * The overlap is not a stored time (ca_authorities has no retire-at column): a retiring authority
 * stays until every certificate issued under it (by it, or by an intermediate it signed) has
 * expired or been revoked. That is exactly as long as a peer may still be shown one of them, so
 * no connection breaks, and it ends on its own one certificate TTL after the rotation at most.
 */
import { X509Certificate } from 'node:crypto';
import { fail, issue, ok, type Issue, type Result } from '../lib/result.ts';
import { countLiveCertificates, insertAuthority, listAuthorities, setAuthorityStatus } from '../registry/ca.ts';
import { recordChange } from '../registry/changes.ts';
import type { Tx } from '../registry/db.ts';
import type { CaAuthorityRow } from '../registry/schema.ts';
import { createIntermediateCa, createRootCa, type CaCertificate, type SigningCa } from './certificates.ts';
import type { KeyAlgorithm } from './keys.ts';
import type { SealingKey } from './sealed-key.ts';

/** What a rotation replaces: the intermediate only, or the root and its intermediate. */
export type RotationKind = 'intermediate' | 'root';

/** What making authorities needs to know. */
export interface AuthorityOptions {
  trustDomain: string;
  algorithm: KeyAlgorithm;
  sealingKey: SealingKey;
  now?: () => Date;
}

/** A CA row with its key opened, ready to sign. */
export interface OpenedAuthority {
  row: CaAuthorityRow;
  ca: SigningCa;
}

/** Opens a CA row's sealed key (sealed with its certificate's serial); an issue when it has none or the key does not open it. */
export function openAuthority(row: CaAuthorityRow, key: SealingKey): Result<OpenedAuthority> {
  if (!row.sealedKey) return fail(issue('ca', `${row.role} ${row.id} has no key stored`));
  const opened = key.open(row.sealedKey, new X509Certificate(row.certPem).serialNumber.toLowerCase(), 'CA_KEY');
  if (!opened.ok) return opened;
  const chainPem = row.role === 'root' ? '' : row.certPem;
  return ok({ row, ca: { certPem: row.certPem, keyPem: opened.value, chainPem } });
}

/**
 * Makes and stores a new intermediate signed by `root`, or without one a new root and an
 * intermediate under it. Rows made in one transaction share created_at; the root lists first.
 */
export async function createAuthorities(tx: Tx, opts: AuthorityOptions, root?: OpenedAuthority): Promise<Result<CaAuthorityRow[]>> {
  const now = opts.now?.() ?? new Date();
  const { trustDomain, algorithm, sealingKey } = opts;
  let parent = root;
  const created: CaAuthorityRow[] = [];
  if (!parent) {
    const made = await createRootCa({ commonName: `APG Mesh Root CA (${trustDomain})`, trustDomain, algorithm, now });
    if (!made.ok) return made;
    const row = await insertAuthority(tx, authorityRow('root', made.value, sealingKey));
    parent = { row, ca: made.value };
    created.push(row);
  }
  const inter = await createIntermediateCa(parent.ca, { commonName: `APG Mesh Intermediate CA (${trustDomain})`, algorithm, now });
  if (!inter.ok) return inter;
  created.push(await insertAuthority(tx, { ...authorityRow('intermediate', inter.value, sealingKey), parentId: parent.row.id }));
  return ok(created);
}

function authorityRow(role: CaAuthorityRow['role'], ca: CaCertificate, key: SealingKey) {
  return {
    role,
    source: 'generated' as const,
    algorithm: ca.algorithm,
    certPem: ca.certPem,
    sealedKey: key.seal(ca.keyPem, ca.serial),
    notBefore: ca.notBefore,
    notAfter: ca.notAfter,
  };
}

/** Why the mesh may not rotate these authorities itself: a provided CA is replaced by importing its successor. */
function refusal(active: CaAuthorityRow[], kind: RotationKind): Issue | undefined {
  const root = active.filter((a) => a.role === 'root').at(-1);
  const inter = active.filter((a) => a.role === 'intermediate').at(-1);
  if (kind === 'root' && (root?.source === 'provided' || inter?.source === 'provided')) {
    return issue('kind', 'the root is a provided (imported) CA: the mesh cannot replace it; import the new CA instead');
  }
  if (kind === 'intermediate' && inter?.source === 'provided') {
    return issue('kind', 'the intermediate is a provided (imported) CA: the mesh cannot replace it; import the new one instead');
  }
  if (kind === 'intermediate' && !root?.sealedKey) {
    return issue('kind', "the root's key is not stored here, so no new intermediate can be signed: import one signed by the root instead");
  }
  return undefined;
}

/**
 * Rotates inside the CA lock: a new intermediate signed by the active root, or a new root and
 * intermediate; what they replace turns `retiring` (still trusted). Records a `ca` change so every
 * replica reloads. Returns the new authorities.
 */
export async function rotateAuthorities(tx: Tx, opts: AuthorityOptions, kind: RotationKind): Promise<Result<CaAuthorityRow[]>> {
  // Read under the lock, not from memory: another replica may have rotated since this one loaded.
  const active = await listAuthorities(tx, ['active']);
  const refused = refusal(active, kind);
  if (refused) return fail(refused);
  const root = kind === 'intermediate' ? openAuthority(active.filter((a) => a.role === 'root').at(-1)!, opts.sealingKey) : undefined;
  if (root && !root.ok) return root;
  const created = await createAuthorities(tx, opts, root?.value);
  if (!created.ok) return created;
  for (const old of active.filter((a) => kind === 'root' || a.role === 'intermediate')) await setAuthorityStatus(tx, old.id, 'retiring');
  await recordChange(tx, { kind: 'ca', op: 'update', namespace: '', name: kind });
  return created;
}

/**
 * Moves every retiring authority under which no certificate is live at `now` (none unexpired and
 * unrevoked, its own or its intermediates') to `retired`, so it leaves the trust bundle. Records a
 * `ca` change when any did. Returns those retired.
 */
export async function retireAuthorities(tx: Tx, now: Date): Promise<CaAuthorityRow[]> {
  const all = await listAuthorities(tx);
  const retired: CaAuthorityRow[] = [];
  for (const a of all.filter((x) => x.status === 'retiring')) {
    const issuers = [a.id, ...all.filter((x) => x.parentId === a.id).map((x) => x.id)];
    if ((await countLiveCertificates(tx, issuers, now)) > 0) continue;
    await setAuthorityStatus(tx, a.id, 'retired');
    retired.push({ ...a, status: 'retired' });
  }
  if (retired.length > 0) await recordChange(tx, { kind: 'ca', op: 'update', namespace: '', name: 'retire' });
  return retired;
}
