/**
 * The mesh CA as the server runs it: its root and intermediate in the registry (keys sealed), made
 * on first start by whichever replica gets the CA lock first, loaded by every other one; workload
 * certificates issued by the active intermediate and recorded in the inventory.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { CaAlgorithm, Config } from '../config.ts';
import { fail, ok, type Result } from '../lib/result.ts';
import { inCaTransaction, insertAuthority, listAuthorities, recordCertificate } from '../registry/ca.ts';
import type { Db, Tx } from '../registry/db.ts';
import type { CaAuthorityRow, CertificateRow } from '../registry/schema.ts';
import { createIntermediateCa, createRootCa, issueWorkloadCertificate, spiffeIdOf, trustBundlePem, type CaCertificate, type SigningCa } from './certificates.ts';
import { caKeyFrom, SealingKey } from './sealed-key.ts';

/**
 * The sealing key of development mode: derived from a public phrase, so anyone can open keys sealed
 * with it. It lets `npm start` and tests run with no setup; production mode refuses it.
 */
export const DEVELOPMENT_SEALING_KEY = new SealingKey(createHash('sha256').update('apg-mesh development CA sealing key; not a secret').digest());

/** The sealing key the settings name; in development mode without one, the built-in key and a warning to log. */
export function sealingKeyOf(config: Pick<Config, 'mode' | 'caKey' | 'caKeyFile'>): Result<{ key: SealingKey; warning?: string }> {
  if (config.caKey !== undefined || config.caKeyFile !== undefined) {
    const key = caKeyFrom({ env: config.caKey, file: config.caKeyFile });
    return key.ok ? ok({ key: key.value }) : key;
  }
  if (config.mode === 'production') {
    const missing = caKeyFrom({});
    if (!missing.ok) return missing;
  }
  return ok({
    key: DEVELOPMENT_SEALING_KEY,
    warning: 'CA private keys are sealed with the built-in development key, which is no secret: set CA_KEY or CA_KEY_FILE (MODE=production requires one)',
  });
}

export interface MeshCaOptions {
  db: Db;
  trustDomain: string;
  algorithm: CaAlgorithm;
  certTtlMs: number;
  sealingKey: SealingKey;
  now?: () => Date;
}

/** One workload certificate with what a workload needs beside it. */
export interface IssuedCertificate {
  row: CertificateRow;
  keyPem: string;
  chainPem: string;
  /** The trust bundle: the CA certificates peers are checked against. */
  bundlePem: string;
}

/** A CA certificate row made into a signer (its key opened with the sealing key). */
interface Signer {
  row: CaAuthorityRow;
  ca: SigningCa;
}

/** The CA of the mesh, as stored in the registry. */
export class MeshCa {
  private constructor(
    private readonly opts: MeshCaOptions,
    private readonly signer: Signer,
    private readonly authorities: CaAuthorityRow[],
    private readonly bundle: string,
  ) {}

  /** Loads the CA from the registry, creating a root and an intermediate if there are none yet. */
  static async open(opts: MeshCaOptions): Promise<Result<MeshCa>> {
    const loaded = await inCaTransaction(opts.db, async (tx) => {
      const active = await listAuthorities(tx, ['active', 'retiring']);
      return active.some((a) => a.role === 'intermediate' && a.status === 'active') ? ok(active) : createAuthorities(tx, opts);
    });
    if (!loaded.ok) return loaded;
    const signer = openSigner(loaded.value, opts.sealingKey);
    if (!signer.ok) return signer;
    const bundle = trustBundlePem(loaded.value.filter((a) => a.role === 'root').map((r) => r.certPem));
    return bundle.ok ? ok(new MeshCa(opts, signer.value, loaded.value, bundle.value)) : bundle;
  }

  /** The trust domain of the identities this CA signs. */
  get trustDomain(): string {
    return this.opts.trustDomain;
  }

  /** The CA certificates in use (active, and retiring during a rotation's overlap), oldest first. */
  get inUse(): readonly CaAuthorityRow[] {
    return this.authorities;
  }

  /** The trust bundle: every root in use, so certificates of either side of a rotation verify. */
  bundlePem(): string {
    return this.bundle;
  }

  /** Issues a certificate (and key) for a service's identity and records it in the inventory. */
  async issue(namespace: string, service: string, channel: CertificateRow['channel']): Promise<Result<IssuedCertificate>> {
    const spiffeId = spiffeIdOf(this.opts.trustDomain, namespace, service);
    if (!spiffeId.ok) return spiffeId;
    const now = this.opts.now?.() ?? new Date();
    const cert = await issueWorkloadCertificate(this.signer.ca, { spiffeId: spiffeId.value, algorithm: this.opts.algorithm, ttlMs: this.opts.certTtlMs, now });
    if (!cert.ok) return cert;
    const { certPem, keyPem, chainPem, serial, notBefore, notAfter } = cert.value;
    const row = await recordCertificate(this.opts.db, {
      namespace,
      service,
      spiffeId: spiffeId.value,
      serial,
      issuerId: this.signer.row.id,
      channel,
      certPem,
      // Only certificates the server delivers itself keep their key (every replica must serve the same one).
      sealedKey: channel === 'sds' ? this.opts.sealingKey.seal(keyPem!, serial) : null,
      notBefore,
      notAfter,
    });
    return ok({ row, keyPem: keyPem!, chainPem, bundlePem: this.bundlePem() });
  }
}

/** Creates and stores a root and an intermediate signed by it (inside the CA lock). */
async function createAuthorities(tx: Tx, opts: MeshCaOptions): Promise<Result<CaAuthorityRow[]>> {
  const now = opts.now?.() ?? new Date();
  const root = await createRootCa({ commonName: `APG Mesh Root CA (${opts.trustDomain})`, trustDomain: opts.trustDomain, algorithm: opts.algorithm, now });
  if (!root.ok) return root;
  const inter = await createIntermediateCa(root.value, { commonName: `APG Mesh Intermediate CA (${opts.trustDomain})`, algorithm: opts.algorithm, now });
  if (!inter.ok) return inter;
  const rootRow = await insertAuthority(tx, authorityRow('root', root.value, opts.sealingKey));
  const interRow = await insertAuthority(tx, { ...authorityRow('intermediate', inter.value, opts.sealingKey), parentId: rootRow.id });
  return ok([rootRow, interRow]);
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

/** The newest active intermediate, its key opened; an issue when the sealing key does not open it. */
function openSigner(rows: CaAuthorityRow[], key: SealingKey): Result<Signer> {
  const row = rows.filter((a) => a.role === 'intermediate' && a.status === 'active').at(-1)!;
  if (!row.sealedKey) return fail({ path: 'ca', message: `intermediate ${row.id} has no key stored` });
  const serial = serialOf(row);
  const opened = key.open(row.sealedKey, serial, 'CA_KEY');
  if (!opened.ok) return opened;
  return ok({ row, ca: { certPem: row.certPem, keyPem: opened.value, chainPem: row.certPem } });
}

/** The serial a CA row's key is sealed with (its certificate's). */
function serialOf(row: CaAuthorityRow): string {
  return new X509Certificate(row.certPem).serialNumber.toLowerCase();
}
