/**
 * The mesh CA's tables: its authorities (roots and intermediates, keys sealed) and the inventory of
 * workload certificates it issued. Sealing and signing are the CA's (src/ca/); this file only stores.
 */
import { and, asc, desc, eq, gt, inArray, lte, ne, notExists, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { recordChange } from './changes.ts';
import type { Db, Tx } from './db.ts';
import { LOCK_KEYS } from './migrate.ts';
import { caAuthorities, certificates, type CaAuthorityRow, type CertificateRow } from './schema.ts';

export type NewAuthority = Omit<typeof caAuthorities.$inferInsert, 'id' | 'createdAt' | 'status'>;
export type NewCertificate = Omit<typeof certificates.$inferInsert, 'id' | 'createdAt' | 'status'>;

/**
 * Runs `work` in a transaction holding the CA lock, so replicas starting together create one CA,
 * and issuing for one identity never races another replica issuing for it.
 */
export async function inCaTransaction<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_KEYS.ca})`);
    return work(tx);
  });
}

/** The authorities in the given states (all by default), oldest first; a root before the intermediate made with it. */
export async function listAuthorities(db: Db | Tx, statuses?: CaAuthorityRow['status'][]): Promise<CaAuthorityRow[]> {
  const where = statuses ? inArray(caAuthorities.status, statuses) : undefined;
  // Rows made in one transaction share created_at (now() is the transaction's start).
  const rootFirst = sql`case when ${caAuthorities.role} = 'root' then 0 else 1 end`;
  return db.select().from(caAuthorities).where(where).orderBy(asc(caAuthorities.createdAt), rootFirst, asc(caAuthorities.id));
}

/** Stores a new active authority. */
export async function insertAuthority(tx: Db | Tx, row: NewAuthority): Promise<CaAuthorityRow> {
  const [created] = await tx.insert(caAuthorities).values(row).returning();
  return created!;
}

/** Moves an authority to another state (a rotation retires the old one after its overlap). */
export async function setAuthorityStatus(tx: Db | Tx, id: string, status: CaAuthorityRow['status']): Promise<void> {
  await tx.update(caAuthorities).set({ status }).where(eq(caAuthorities.id, id));
}

/** Records an issued certificate; an earlier active one of the same identity and channel is superseded. */
export async function recordCertificate(tx: Db | Tx, row: NewCertificate): Promise<CertificateRow> {
  if (row.channel === 'sds') {
    await tx
      .update(certificates)
      .set({ status: 'superseded' })
      .where(and(eq(certificates.namespace, row.namespace), eq(certificates.service, row.service), eq(certificates.channel, 'sds'), eq(certificates.status, 'active')));
  }
  const [created] = await tx.insert(certificates).values(row).returning();
  return created!;
}

export interface CertificateFilter {
  namespace?: string;
  service?: string;
  status?: CertificateRow['status'];
  /** Only certificates that expire at or before this time. */
  expiringBy?: Date;
}

/** The inventory, newest first. */
export async function listCertificates(db: Db | Tx, filter: CertificateFilter = {}, limit = 500): Promise<CertificateRow[]> {
  const where: SQL[] = [];
  if (filter.namespace !== undefined) where.push(eq(certificates.namespace, filter.namespace));
  if (filter.service !== undefined) where.push(eq(certificates.service, filter.service));
  if (filter.status !== undefined) where.push(eq(certificates.status, filter.status));
  if (filter.expiringBy !== undefined) where.push(lte(certificates.notAfter, filter.expiringBy));
  return db
    .select()
    .from(certificates)
    .where(and(...where))
    .orderBy(desc(certificates.createdAt), asc(certificates.serial))
    .limit(limit);
}

/** The active SDS certificates of every identity (what the secrets are built from). */
export async function activeSdsCertificates(db: Db | Tx): Promise<CertificateRow[]> {
  return db
    .select()
    .from(certificates)
    .where(and(eq(certificates.channel, 'sds'), eq(certificates.status, 'active')))
    .orderBy(asc(certificates.namespace), asc(certificates.service));
}

const renewal = alias(certificates, 'renewal');

/**
 * Active certificates that expire at or before `by` and were not renewed: no other active
 * certificate of the same identity and channel lives beyond `by` (SDS renewals supersede the old
 * certificate; a CSR or CLI renewal leaves it active until it expires).
 */
function expiringBy(db: Db | Tx, by: Date): SQL {
  const renewed = db
    .select({ one: sql`1` })
    .from(renewal)
    .where(
      and(
        eq(renewal.namespace, certificates.namespace),
        eq(renewal.service, certificates.service),
        eq(renewal.channel, certificates.channel),
        eq(renewal.status, 'active'),
        gt(renewal.notAfter, by),
      ),
    );
  return and(eq(certificates.status, 'active'), lte(certificates.notAfter, by), notExists(renewed))!;
}

/** How many active certificates expire at or before `by` without having been renewed (the expiry metric). */
export async function countExpiringCertificates(db: Db | Tx, by: Date): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(certificates)
    .where(expiringBy(db, by));
  return Number(row?.n ?? 0);
}

/** The certificates countExpiringCertificates counts, soonest first (the expiry alert source). */
export async function expiringCertificates(db: Db | Tx, by: Date): Promise<CertificateRow[]> {
  return db.select().from(certificates).where(expiringBy(db, by)).orderBy(asc(certificates.notAfter), asc(certificates.serial));
}

/** How many certificates issued by `issuerIds` are live at `at`: unrevoked and not yet expired (what keeps a retiring CA trusted). */
export async function countLiveCertificates(db: Db | Tx, issuerIds: string[], at: Date): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(certificates)
    .where(and(inArray(certificates.issuerId, issuerIds), ne(certificates.status, 'revoked'), gt(certificates.notAfter, at)));
  return Number(row?.n ?? 0);
}

/**
 * Revokes every active certificate of an identity (all channels), so the next SDS build issues it a
 * new key, and records a `certificate` change. Returns the revoked serials, or undefined when the
 * identity has no certificates at all.
 */
export async function revokeIdentityCertificates(db: Db, namespace: string, service: string): Promise<string[] | undefined> {
  return db.transaction(async (tx) => {
    const identity = and(eq(certificates.namespace, namespace), eq(certificates.service, service));
    const [known] = await tx.select({ id: certificates.id }).from(certificates).where(identity).limit(1);
    if (!known) return undefined;
    const revoked = await tx
      .update(certificates)
      .set({ status: 'revoked' })
      .where(and(identity, eq(certificates.status, 'active')))
      .returning({ serial: certificates.serial });
    if (revoked.length > 0) await recordChange(tx, { kind: 'certificate', op: 'update', namespace, name: service });
    return revoked.map((r) => r.serial).sort();
  });
}
