/**
 * Workload certificates: X.509-SVIDs (https://github.com/spiffe/spiffe/blob/main/standards/X509-SVID.md)
 * signed by a mesh CA, either for a key generated here or for a key the workload keeps (a CSR, or
 * its public key).
 *
 * Shape: exactly one URI SAN, the SPIFFE ID; basicConstraints CA:FALSE (critical); keyUsage
 * digitalSignature, plus keyEncipherment for RSA keys, which TLS 1.2 RSA key exchange still needs
 * (critical); extendedKeyUsage serverAuth + clientAuth, since every workload is both in mTLS;
 * subject O=<trust domain> so the certificate reads well in logs, which also lets the SAN stay
 * non-critical (RFC 5280 requires a critical SAN only when the subject is empty).
 */
import { fail, issue, ok, type Issue, type Result } from '../lib/result.ts';
import { distinguishedName, loadIssuer, randomSerial, validityWithin, type Issuer, type SigningCa } from './issuer.ts';
import {
  generateKeyPair,
  KIND_OF,
  privateKeyPem,
  publicKeyKind,
  readPublicKey,
  type KeyAlgorithm,
  type KeyKind,
} from './keys.ts';
import { certificateBlocks, joinPem } from './pem.ts';
import { parseSpiffeId } from './spiffe.ts';
import { x509 } from './x509.ts';

/** Workload certificates live a day unless asked otherwise; rotation renews them well before. */
export const DEFAULT_TTL_MS = 24 * 3_600_000;
const MIN_TTL_MS = 60_000;
const MAX_TTL_MS = 365 * 86_400_000;

/** What a workload certificate is for and how long it lives. */
export interface LeafRequest {
  spiffeId: string;
  /** Default DEFAULT_TTL_MS; never beyond the issuer's notAfter. */
  ttlMs?: number;
  now?: Date;
}

/** A workload certificate for a key that is generated here, or for the workload's own public key. */
export interface WorkloadCertificateOptions extends LeafRequest {
  /** The workload's public key (PEM); without it a key pair is generated with `algorithm`. */
  publicKeyPem?: string;
  /** Default `ecdsa-p256`; only for a generated key. */
  algorithm?: KeyAlgorithm;
}

/** An issued workload certificate. */
export interface WorkloadCertificate {
  spiffeId: string;
  certPem: string;
  /** PKCS#8 PEM, only when the key was generated here. */
  keyPem?: string;
  /** The certificate followed by the issuer's chain (intermediates, not the root): what the workload presents. */
  chainPem: string;
  /** Lower-case hex. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

// The extensions every leaf shares, encoded once: each one built per certificate costs as much as the signature.
const LEAF_CONSTRAINTS = new x509.BasicConstraintsExtension(false, undefined, true);
const LEAF_EKU = new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
const EC_USAGE = new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true);
const RSA_USAGE = new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true);

/** Everything decided before a key is generated or anything is signed. */
interface LeafPlan {
  issuer: Issuer;
  spiffeId: string;
  trustDomain: string;
  notBefore: Date;
  notAfter: Date;
}

/** Checks the request against the issuer: a workload SPIFFE ID of the issuer's trust domain, a sane TTL. */
async function planLeaf(ca: SigningCa, request: LeafRequest): Promise<Result<LeafPlan>> {
  const { spiffeId, ttlMs = DEFAULT_TTL_MS, now = new Date() } = request;
  const issues: Issue[] = [];
  const id = parseSpiffeId(spiffeId, { requirePath: true });
  if (!id.ok) issues.push(...id.issues);
  if (!Number.isInteger(ttlMs) || ttlMs < MIN_TTL_MS || ttlMs > MAX_TTL_MS) {
    issues.push(issue('ttlMs', `must be a whole number of milliseconds from ${MIN_TTL_MS} to ${MAX_TTL_MS}`));
  }
  if (!id.ok || issues.length > 0) return fail(...issues);
  const loaded = await loadIssuer(ca);
  if (!loaded.ok) return loaded;
  const { trustDomain } = id.value;
  if (loaded.value.trustDomain !== undefined && loaded.value.trustDomain !== trustDomain) {
    return fail(issue('spiffeId', `is in trust domain ${trustDomain}; this CA issues for ${loaded.value.trustDomain}`));
  }
  const validity = validityWithin(loaded.value.cert, now, ttlMs, 'issuer');
  if (!validity.ok) return validity;
  return ok({ issuer: loaded.value, spiffeId, trustDomain, ...validity.value });
}

/** Signs the X.509-SVID for `publicKey` (a CryptoKey or DER SPKI) as planned. */
async function signLeaf(plan: LeafPlan, publicKey: CryptoKey | ArrayBuffer, kind: KeyKind): Promise<WorkloadCertificate> {
  const { issuer, spiffeId, trustDomain, notBefore, notAfter } = plan;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: distinguishedName(trustDomain),
    issuer: issuer.cert.subjectName,
    notBefore,
    notAfter,
    publicKey,
    signingKey: issuer.signingKey,
    signingAlgorithm: issuer.signingAlgorithm,
    extensions: [
      LEAF_CONSTRAINTS,
      kind.type === 'rsa' ? RSA_USAGE : EC_USAGE,
      LEAF_EKU,
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      issuer.authorityKeyIdentifier,
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }]),
    ],
  });
  const certPem = joinPem([cert.toString('pem')]);
  return {
    spiffeId,
    certPem,
    chainPem: joinPem([certPem, ...certificateBlocks(issuer.chainPem)]),
    serial: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}

/** The issues of results that failed, all of them, so a caller fixes everything in one go. */
function issuesOf(...results: (Result<unknown> | undefined)[]): Issue[] {
  return results.flatMap((r) => (r && !r.ok ? r.issues : []));
}

/**
 * An X.509-SVID for `spiffeId`, signed by `issuer`: for the workload's `publicKeyPem`, or for a key
 * pair generated here (returned as `keyPem`). Everything is checked before a key is generated.
 */
export async function issueWorkloadCertificate(issuer: SigningCa, options: WorkloadCertificateOptions): Promise<Result<WorkloadCertificate>> {
  const { publicKeyPem, algorithm } = options;
  if (publicKeyPem !== undefined && algorithm !== undefined) {
    return fail(issue('algorithm', 'applies only to a generated key; leave it out when giving publicKeyPem'));
  }
  const given = publicKeyPem === undefined ? undefined : readPublicKey(publicKeyPem, 'publicKeyPem');
  const plan = await planLeaf(issuer, options);
  if (!plan.ok || (given && !given.ok)) return fail(...issuesOf(given, plan));
  if (given) return ok(await signLeaf(plan.value, given.value.spki, given.value.kind));
  const keys = await generateKeyPair(algorithm ?? 'ecdsa-p256');
  const cert = await signLeaf(plan.value, keys.publicKey, KIND_OF[algorithm ?? 'ecdsa-p256']);
  return ok({ ...cert, keyPem: await privateKeyPem(keys.privateKey) });
}

/** The public key of a PKCS#10 CSR whose own signature verifies (proof that the requester holds the key). */
async function csrPublicKey(csrPem: string): Promise<Result<{ spki: ArrayBuffer; kind: KeyKind }>> {
  let spki: ArrayBuffer;
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
    spki = csr.publicKey.rawData;
  } catch {
    return fail(issue('csr', 'is not a PEM certificate signing request (BEGIN CERTIFICATE REQUEST)'));
  }
  const kind = publicKeyKind(spki, 'csr');
  if (!kind.ok) return kind;
  const signed = await csr.verify().catch(() => false);
  if (!signed) return fail(issue('csr', 'signature does not verify: the CSR was altered or not signed by its own key'));
  return ok({ spki, kind: kind.value });
}

/**
 * An X.509-SVID for the key in a PKCS#10 CSR. Of the CSR only the public key is used, after its
 * signature verifies: its subject and any SANs or extensions it asks for are ignored, because the
 * identity is `spiffeId`, decided by the caller from who the workload is, not from what it asks for.
 */
export async function signCsr(issuer: SigningCa, csrPem: string, request: LeafRequest): Promise<Result<WorkloadCertificate>> {
  const key = await csrPublicKey(csrPem);
  const plan = await planLeaf(issuer, request);
  if (!key.ok || !plan.ok) return fail(...issuesOf(key, plan));
  return ok(await signLeaf(plan.value, key.value.spki, key.value.kind));
}

// One import for the whole certificate API; the CA side lives in its own files to keep each small.
export { createIntermediateCa, createRootCa, trustBundlePem, type IntermediateCaOptions, type RootCaOptions } from './authority.ts';
export { importProvidedCa, type ProvidedCa } from './provided-ca.ts';
export type { CaCertificate, SigningCa } from './issuer.ts';
export { spiffeIdOf } from './spiffe.ts';
