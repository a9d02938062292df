/**
 * What every signing step shares: reading a CA (certificate + key) and checking that it may sign,
 * the validity window of what it signs, serial numbers and names.
 */
import { X509Certificate as NodeCertificate, randomBytes } from 'node:crypto';
import { fail, issue, ok, type Issue, type Result } from '../lib/result.ts';
import { keyKind, keyKindName, keysMatch, readPrivateKey, signingKeyOf, type KeyKind } from './keys.ts';
import { certificateBlocks, joinPem } from './pem.ts';
import { parseSpiffeId } from './spiffe.ts';
import { x509 } from './x509.ts';

/** A CA that can sign: its certificate, its private key, and the chain its certificates travel with. */
export interface SigningCa {
  readonly certPem: string;
  /** PEM private key: PKCS#8, SEC1 or PKCS#1. */
  readonly keyPem: string;
  /**
   * What a workload sends after its own certificate: this CA and any CA above it except the
   * self-signed root, which peers already hold in their trust bundle. Unset: this CA's certificate,
   * or nothing when it is a root.
   */
  readonly chainPem?: string;
}

/** A CA certificate as this module creates or imports it, with the facts storage keeps beside it. */
export interface CaCertificate extends SigningCa {
  readonly chainPem: string;
  /** `ecdsa-p256`, `ecdsa-p384`, `rsa-2048`, … */
  readonly algorithm: string;
  /** Lower-case hex. */
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** From the CA's `spiffe://<trust domain>` URI SAN; undefined for a provided CA without one. */
  readonly trustDomain: string | undefined;
}

/** A CA read, checked and ready to sign; kept per `SigningCa` object so repeated issuing reads it once. */
export interface Issuer {
  readonly cert: x509.X509Certificate;
  readonly signingKey: CryptoKey;
  readonly signingAlgorithm: Algorithm | EcdsaParams;
  /** Hex key identifier that certificates it signs name in authorityKeyIdentifier. */
  readonly keyIdentifier: string;
  /** That extension, encoded once per issuer. */
  readonly authorityKeyIdentifier: x509.AuthorityKeyIdentifierExtension;
  readonly trustDomain: string | undefined;
  readonly pathLength: number | undefined;
  readonly chainPem: string;
}

/** A parsed CA certificate that passed the checks every signing certificate must pass. */
export interface CaFacts {
  cert: x509.X509Certificate;
  node: NodeCertificate;
  trustDomain: string | undefined;
  pathLength: number | undefined;
  selfSigned: boolean;
}

/** How far back a new certificate's notBefore goes, so a peer whose clock is a little behind accepts it. */
export const CLOCK_SKEW_MS = 60_000;

/** The trust domain a CA certificate names as `spiffe://<td>` (X509-SVID §3.2: a CA's SPIFFE ID has no path). */
function caTrustDomain(cert: x509.X509Certificate, path: string): Result<string | undefined> {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const ids = (san?.names.items ?? []).filter((n) => n.type === 'url' && n.value.startsWith('spiffe:')).map((n) => n.value);
  if (ids.length === 0) return ok(undefined);
  if (ids.length > 1) return fail(issue(path, `names ${ids.length} SPIFFE IDs; a CA may name one trust domain`));
  const parsed = parseSpiffeId(ids[0]!, { path });
  if (!parsed.ok) return parsed;
  if (parsed.value.path !== '') return fail(issue(path, `names ${ids[0]}; a CA's SPIFFE ID must be the bare trust domain`));
  return ok(parsed.value.trustDomain);
}

/** Parses one PEM certificate and checks that it is a CA allowed to sign certificates (issues at `path`). */
export function readCaCertificate(pem: string, path: string): Result<CaFacts> {
  let cert: x509.X509Certificate;
  let node: NodeCertificate;
  try {
    cert = new x509.X509Certificate(pem);
    node = new NodeCertificate(pem);
    void cert.extensions; // parses them now, so a malformed extension is this issue rather than a throw later
  } catch {
    return fail(issue(path, 'is not a readable PEM certificate'));
  }
  const issues: Issue[] = [];
  const constraints = cert.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca) issues.push(issue(path, 'is not a CA certificate: basicConstraints does not say CA:TRUE'));
  const usage = cert.getExtension(x509.KeyUsagesExtension);
  if (!usage || (usage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    issues.push(issue(path, 'may not sign certificates: its keyUsage lacks keyCertSign'));
  }
  const trustDomain = caTrustDomain(cert, path);
  if (!trustDomain.ok) issues.push(...trustDomain.issues);
  if (issues.length > 0 || !trustDomain.ok) return fail(...issues);
  const selfSigned = node.checkIssued(node) && node.verify(node.publicKey);
  return ok({ cert, node, trustDomain: trustDomain.value, pathLength: constraints?.pathLength, selfSigned });
}

/** The key identifier of a CA: its own subjectKeyIdentifier, else the RFC 5280 SHA-1 of its key. */
async function keyIdentifierOf(cert: x509.X509Certificate): Promise<string> {
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  return ski?.keyId ?? Buffer.from(await cert.publicKey.getKeyIdentifier()).toString('hex');
}

/** Reads a CA's certificate and key and proves they are one pair; issue paths are `certPem` / `keyPem`. */
async function readIssuer(ca: SigningCa): Promise<Result<Issuer>> {
  const [certPem] = certificateBlocks(ca.certPem);
  if (certPem === undefined) return fail(issue('certPem', 'holds no PEM certificate'));
  const facts = readCaCertificate(certPem, 'certPem');
  if (!facts.ok) return facts;
  const key = readPrivateKey(ca.keyPem, 'keyPem');
  if (!key.ok) return key;
  const kind = keyKind(key.value, 'keyPem');
  if (!kind.ok) return kind;
  if (!keysMatch(key.value, facts.value.node.publicKey)) return fail(issue('keyPem', 'does not belong to the certificate'));
  const { cert, trustDomain, pathLength, selfSigned } = facts.value;
  const signing = await signingKeyOf(key.value, kind.value);
  const keyIdentifier = await keyIdentifierOf(cert);
  return ok({
    cert,
    signingKey: signing.key,
    signingAlgorithm: signing.algorithm,
    keyIdentifier,
    authorityKeyIdentifier: new x509.AuthorityKeyIdentifierExtension(keyIdentifier),
    trustDomain,
    pathLength,
    chainPem: ca.chainPem ?? (selfSigned ? '' : certPem),
  });
}

const issuers = new WeakMap<SigningCa, Promise<Result<Issuer>>>();

/**
 * The ready-to-sign form of `ca`, read once per object: parsing PEM, importing the key and the
 * key-pair probe cost more than signing a leaf. Issue paths start with `path`.
 */
export async function loadIssuer(ca: SigningCa, path = 'issuer'): Promise<Result<Issuer>> {
  let loading = issuers.get(ca);
  if (loading === undefined) {
    loading = readIssuer(ca);
    issuers.set(ca, loading);
  }
  const loaded = await loading;
  return loaded.ok ? loaded : fail(...loaded.issues.map((i) => issue(`${path}.${i.path}`, i.message)));
}

/**
 * The validity of a certificate signed at `now` for `lifetimeMs`: notBefore backdated by
 * CLOCK_SKEW_MS, and both ends kept inside the issuer's own validity, because a certificate that
 * outlives its issuer fails verification from that moment on. Whole seconds, as X.509 stores them.
 */
export function validityWithin(
  issuer: { notBefore: Date; notAfter: Date } | undefined,
  now: Date,
  lifetimeMs: number,
  path: string,
): Result<{ notBefore: Date; notAfter: Date }> {
  const t = now.getTime();
  if (issuer && t >= issuer.notAfter.getTime()) return fail(issue(path, `expired at ${issuer.notAfter.toISOString()}`));
  if (issuer && t < issuer.notBefore.getTime()) return fail(issue(path, `is not valid until ${issuer.notBefore.toISOString()}`));
  const start = Math.max(t - CLOCK_SKEW_MS, issuer?.notBefore.getTime() ?? -Infinity);
  const end = Math.min(t + lifetimeMs, issuer?.notAfter.getTime() ?? Infinity);
  const second = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
  return ok({ notBefore: second(start), notAfter: second(end) });
}

/**
 * A random positive 16-byte serial: the top bit cleared keeps the DER INTEGER positive, the next
 * bit set keeps it exactly 16 bytes long; 126 random bits, well over the 64 that RFC 5280 and the
 * CA/Browser Forum ask for, so serials never collide and cannot be predicted.
 */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x3f) | 0x40;
  return bytes.toString('hex');
}

/**
 * A distinguished name of O=<organization> and CN=<common name>. Values go in as UTF8String
 * objects: `@peculiar/x509` reads plain strings as RFC 4514 text and would mangle a `,` or `\`.
 */
export function distinguishedName(organization: string | undefined, commonName?: string): x509.Name {
  const parts: x509.JsonNameParams = [];
  if (organization !== undefined) parts.push({ '2.5.4.10': [{ utf8String: organization }] });
  if (commonName !== undefined) parts.push({ '2.5.4.3': [{ utf8String: commonName }] });
  return new x509.Name(parts);
}

/** The facts storage keeps beside a CA certificate it created or imported. */
export function caCertificateOf(
  cert: x509.X509Certificate,
  keyPem: string,
  chainPem: string,
  kind: KeyKind,
  trustDomain: string | undefined,
): CaCertificate {
  return {
    certPem: joinPem([cert.toString('pem')]),
    keyPem,
    chainPem,
    algorithm: keyKindName(kind),
    serial: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    trustDomain,
  };
}
