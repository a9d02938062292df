/**
 * The workload identities the server delivers over SDS, read from the registry: each service's active
 * SDS certificate with its chain and its private key opened with the sealing key, and the trust
 * bundle (every root in use, both sides of a rotation). Keys are opened once per certificate.
 */
import { X509Certificate } from 'node:crypto';
import { trustBundlePem } from '../ca/authority.ts';
import { certificateBlocks, joinPem } from '../ca/pem.ts';
import type { SealingKey } from '../ca/sealed-key.ts';
import type { CaAuthorityRow, CertificateRow } from '../registry/schema.ts';

export interface WorkloadIdentity {
  serial: string;
  /** The leaf and the CA certificates up to (not including) the root. */
  chainPem: string;
  keyPem: string;
  notAfter: Date;
}

export interface MeshIdentities {
  /** PEM of every root in use; empty when the CA holds none (nothing to trust yet). */
  bundlePem: string;
  /** By service key `<namespace>/<name>`. */
  byService: ReadonlyMap<string, WorkloadIdentity>;
  /** Certificates that could not be opened (wrong sealing key, damaged row): left out, each named. */
  problems: string[];
}

export const NO_IDENTITIES: MeshIdentities = { bundlePem: '', byService: new Map(), problems: [] };

/** Opens identities from registry rows; remembers what it opened, by serial, for the next build. */
export class IdentityOpener {
  private opened = new Map<string, WorkloadIdentity>();

  constructor(private readonly sealingKey: SealingKey) {}

  open(authorities: readonly CaAuthorityRow[], certificates: readonly CertificateRow[]): MeshIdentities {
    const problems: string[] = [];
    const roots = authorities.filter((a) => a.role === 'root' && a.status !== 'retired');
    const bundle = roots.length > 0 ? trustBundlePem(roots) : undefined;
    if (bundle && !bundle.ok) problems.push(`trust bundle: ${bundle.issues.map((i) => `${i.path} ${i.message}`).join('; ')}`);
    const issuers = new Map(authorities.map((a) => [a.id, a]));
    const next = new Map<string, WorkloadIdentity>();
    const byService = new Map<string, WorkloadIdentity>();
    for (const cert of certificates) {
      const identity = this.opened.get(cert.serial) ?? this.openOne(cert, issuers.get(cert.issuerId), problems);
      if (!identity) continue;
      next.set(cert.serial, identity);
      byService.set(`${cert.namespace}/${cert.service}`, identity);
    }
    this.opened = next;
    return { bundlePem: bundle?.ok ? bundle.value : '', byService, problems };
  }

  private openOne(cert: CertificateRow, issuer: CaAuthorityRow | undefined, problems: string[]): WorkloadIdentity | undefined {
    const name = `certificate ${cert.serial} of ${cert.namespace}/${cert.service}`;
    if (!cert.sealedKey) return void problems.push(`${name}: has no stored key`);
    if (!issuer) return void problems.push(`${name}: its issuer ${cert.issuerId} is not in use`);
    const key = this.sealingKey.open(cert.sealedKey, cert.serial);
    if (!key.ok) return void problems.push(`${name}: ${key.issues.map((i) => i.message).join('; ')}`);
    // The issuer's own chain, without a self-signed root (peers have it in their bundle).
    const caBlocks = certificateBlocks(issuer.certPem).filter((b) => !selfSigned(b));
    return { serial: cert.serial, chainPem: joinPem([cert.certPem, ...caBlocks]), keyPem: key.value, notAfter: cert.notAfter };
  }
}

function selfSigned(block: string): boolean {
  const cert = new X509Certificate(block);
  return cert.subject === cert.issuer && cert.verify(cert.publicKey);
}
