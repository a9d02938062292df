/**
 * The mesh CA as the server runs it: its root and intermediate in the registry (keys sealed), made
 * on first start by whichever replica gets the CA lock first, loaded by every other one; workload
 * certificates issued by the active intermediate and recorded in the inventory; rotation, retiring
 * and revocation (rotation.ts), which other replicas pick up with `reload()`.
 */
import { createHash } from 'node:crypto';
import type { CaAlgorithm, Config } from '../config.ts';
import { fail, ok, type Result } from '../lib/result.ts';
import { inCaTransaction, listAuthorities, recordCertificate, revokeIdentityCertificates } from '../registry/ca.ts';
import type { Db } from '../registry/db.ts';
import { dryRun } from '../registry/dry-run.ts';
import type { CaAuthorityRow, CertificateRow } from '../registry/schema.ts';
import { issueWorkloadCertificate, signCsr, spiffeIdOf, trustBundlePem } from './certificates.ts';
import { createAuthorities, openAuthority, retireAuthorities, rotateAuthorities, type OpenedAuthority, type RotationKind } from './rotation.ts';
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

/** A workload certificate signed for a CSR: the workload keeps its key. */
export interface SignedCertificate {
  spiffeId: string;
  /** The certificate followed by the intermediates: what the workload presents. */
  chainPem: string;
  bundlePem: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/** How a CA write runs: `dryRun` does it all and rolls it back, answering what it would have done. */
export interface CaWriteOptions {
  dryRun?: boolean;
}

/** What a MeshCa holds in memory: replaced as a whole by `reload()`. */
interface LoadedCa {
  signer: OpenedAuthority;
  authorities: CaAuthorityRow[];
  bundle: string;
}

/** The CA of the mesh, as stored in the registry. */
export class MeshCa {
  private constructor(
    private readonly opts: MeshCaOptions,
    private loaded: LoadedCa,
  ) {}

  /** Loads the CA from the registry, creating a root and an intermediate if there are none yet. */
  static async open(opts: MeshCaOptions): Promise<Result<MeshCa>> {
    const rows = await inCaTransaction(opts.db, async (tx) => {
      const inUse = await listAuthorities(tx, IN_USE);
      return inUse.some((a) => a.role === 'intermediate' && a.status === 'active') ? ok(inUse) : createAuthorities(tx, opts);
    });
    if (!rows.ok) return rows;
    const loaded = loadCa(rows.value, opts.sealingKey);
    return loaded.ok ? ok(new MeshCa(opts, loaded.value)) : loaded;
  }

  /**
   * Re-reads the authorities, signer and bundle from the registry, in place, so everything holding
   * this instance sees them: how a replica picks up a rotation another one made (on a `ca` change).
   */
  async reload(): Promise<Result<this>> {
    const rows = await listAuthorities(this.opts.db, IN_USE);
    // Called every second: keys are opened and the bundle rebuilt only when the authorities changed.
    const key = (as: readonly CaAuthorityRow[]) => as.map((a) => `${a.id}:${a.status}`).join();
    if (key(rows) === key(this.loaded.authorities)) return ok(this);
    const loaded = loadCa(rows, this.opts.sealingKey);
    if (!loaded.ok) return loaded;
    this.loaded = loaded.value;
    return ok(this);
  }

  /** The trust domain of the identities this CA signs. */
  get trustDomain(): string {
    return this.opts.trustDomain;
  }

  /** The CA certificates in use (active, and retiring during a rotation's overlap), oldest first. */
  get inUse(): readonly CaAuthorityRow[] {
    return this.loaded.authorities;
  }

  /** The trust bundle: every root in use, so certificates of either side of a rotation verify. */
  bundlePem(): string {
    return this.loaded.bundle;
  }

  /** Issues a certificate (and key) for a service's identity and records it in the inventory. */
  async issue(namespace: string, service: string, channel: CertificateRow['channel']): Promise<Result<IssuedCertificate>> {
    const spiffeId = spiffeIdOf(this.opts.trustDomain, namespace, service);
    if (!spiffeId.ok) return spiffeId;
    const { signer, bundle } = this.loaded;
    const cert = await issueWorkloadCertificate(signer.ca, { spiffeId: spiffeId.value, algorithm: this.opts.algorithm, ttlMs: this.opts.certTtlMs, now: this.now() });
    if (!cert.ok) return cert;
    const { certPem, keyPem, chainPem, serial, notBefore, notAfter } = cert.value;
    const row = await recordCertificate(this.opts.db, {
      namespace,
      service,
      spiffeId: spiffeId.value,
      serial,
      issuerId: signer.row.id,
      channel,
      certPem,
      // Only certificates the server delivers itself keep their key (every replica must serve the same one).
      sealedKey: channel === 'sds' ? this.opts.sealingKey.seal(keyPem!, serial) : null,
      notBefore,
      notAfter,
    });
    return ok({ row, keyPem: keyPem!, chainPem, bundlePem: bundle });
  }

  /**
   * Signs a workload's PKCS#10 CSR for `namespace/service` and records it (channel `csr`). The
   * identity is the caller's, never the CSR's: only its public key is used, after its signature
   * verifies (issues at `csr`). With `dryRun` the CSR is checked and signed but nothing is recorded.
   */
  async sign(namespace: string, service: string, csrPem: string, { dryRun: dry = false }: CaWriteOptions = {}): Promise<Result<SignedCertificate>> {
    const spiffeId = spiffeIdOf(this.opts.trustDomain, namespace, service);
    if (!spiffeId.ok) return spiffeId;
    const { signer, bundle } = this.loaded;
    const cert = await signCsr(signer.ca, csrPem, { spiffeId: spiffeId.value, ttlMs: this.opts.certTtlMs, now: this.now() });
    if (!cert.ok) return cert;
    const { certPem, chainPem, serial, notBefore, notAfter } = cert.value;
    if (!dry) {
      await recordCertificate(this.opts.db, { namespace, service, spiffeId: spiffeId.value, serial, issuerId: signer.row.id, channel: 'csr', certPem, sealedKey: null, notBefore, notAfter });
    }
    return ok({ spiffeId: spiffeId.value, chainPem, bundlePem: bundle, serial, notBefore, notAfter });
  }

  /**
   * Rotates under the CA lock (see rotation.ts): `intermediate` makes a new intermediate under the
   * active root, `root` a new root and intermediate. The old ones turn `retiring` and stay in the
   * bundle until `retireExpired` finds nothing live under them; new leaves chain to the new
   * intermediate. Refused (an issue at `kind`) for a provided CA. Returns the authorities now in use
   * (with `dryRun`: the ones that would be).
   */
  async rotate(kind: RotationKind, { dryRun: dry = false }: CaWriteOptions = {}): Promise<Result<readonly CaAuthorityRow[]>> {
    const run = (db: Db) => inCaTransaction(db, (tx) => rotateAuthorities(tx, this.opts, kind));
    if (dry) {
      const { result, preview } = await dryRun(this.opts.db, run, (tx) => listAuthorities(tx, IN_USE));
      return result.ok ? ok(preview!) : result;
    }
    const rotated = await run(this.opts.db);
    if (!rotated.ok) return rotated;
    const reloaded = await this.reload();
    return reloaded.ok ? ok(this.inUse) : reloaded;
  }

  /**
   * Retires (under the CA lock) every retiring authority with no live certificate under it at `now`,
   * so an old root leaves the bundle once its overlap is over; the leader calls it periodically.
   * Returns the authorities it retired.
   */
  async retireExpired(now: Date = this.now()): Promise<Result<CaAuthorityRow[]>> {
    // Nothing to retire without a rotation in progress: no CA lock taken (the leader calls this every second).
    if (!this.inUse.some((a) => a.status === 'retiring')) return ok([]);
    const retired = await inCaTransaction(this.opts.db, (tx) => retireAuthorities(tx, now));
    if (retired.length === 0) return ok(retired);
    const reloaded = await this.reload();
    return reloaded.ok ? ok(retired) : reloaded;
  }

  /**
   * Revokes every active certificate of `namespace/service`, so the SDS build issues it a new one.
   * Returns the revoked serials (with `dryRun`: the ones it would revoke); undefined when the
   * identity has no certificates at all.
   */
  async revokeIdentity(namespace: string, service: string, { dryRun: dry = false }: CaWriteOptions = {}): Promise<string[] | undefined> {
    if (!dry) return revokeIdentityCertificates(this.opts.db, namespace, service);
    const revoke = async (db: Db) => ({ ok: true, serials: await revokeIdentityCertificates(db, namespace, service) });
    return (await dryRun(this.opts.db, revoke, async () => undefined)).result.serials;
  }

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }
}

/** The authorities a CA loads: active ones, and retiring ones still in the bundle. */
const IN_USE: CaAuthorityRow['status'][] = ['active', 'retiring'];

/** The signer (newest active intermediate, key opened), the authorities and the bundle of their roots. */
function loadCa(authorities: CaAuthorityRow[], key: SealingKey): Result<LoadedCa> {
  const row = authorities.filter((a) => a.role === 'intermediate' && a.status === 'active').at(-1);
  if (!row) return fail({ path: 'ca', message: 'no active intermediate CA is stored' });
  const signer = openAuthority(row, key);
  if (!signer.ok) return signer;
  const bundle = trustBundlePem(authorities.filter((a) => a.role === 'root').map((r) => r.certPem));
  return bundle.ok ? ok({ signer: signer.value, authorities, bundle: bundle.value }) : bundle;
}
