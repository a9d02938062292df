/**
 * The mesh's own CAs: a self-signed root and the intermediate under it that signs workload
 * certificates, so the root key can stay sealed and unused, and the trust bundle peers check against.
 *
 * Both carry the URI SAN `spiffe://<trust domain>`: X509-SVID §3.2 says a signing certificate SHOULD
 * itself be an SVID, with no path, in the trust domain of the leaves it issues. It also lets a CA
 * read back from storage (or provided by a user) say which trust domain it may issue for.
 */
import { X509Certificate as NodeCertificate } from 'node:crypto';
import { fail, issue, ok, type Issue, type Result } from '../lib/result.ts';
import {
  caCertificateOf,
  distinguishedName,
  loadIssuer,
  randomSerial,
  validityWithin,
  type CaCertificate,
  type Issuer,
  type SigningCa,
} from './issuer.ts';
import { generateKeyPair, KIND_OF, privateKeyPem, type KeyAlgorithm } from './keys.ts';
import { certificateBlocks, joinPem } from './pem.ts';
import { validateTrustDomain } from './spiffe.ts';
import { x509 } from './x509.ts';

const DAY_MS = 86_400_000;
/** X.520's upper bound for a common name. */
const MAX_COMMON_NAME = 64;

/** How to create a root CA. */
export interface RootCaOptions {
  commonName: string;
  trustDomain: string;
  algorithm: KeyAlgorithm;
  /** Default 3650 (ten years). */
  validityDays?: number;
  /** Default: the current time. */
  now?: Date;
}

/** How to create an intermediate CA under a parent. */
export interface IntermediateCaOptions {
  commonName: string;
  algorithm: KeyAlgorithm;
  /** Default: the parent's. Must equal the parent's when the parent names one. */
  trustDomain?: string;
  /** Default 365; never beyond the parent's notAfter. */
  validityDays?: number;
  now?: Date;
}

const SIGNING_OF: Record<KeyAlgorithm, Algorithm | EcdsaParams> = {
  'ecdsa-p256': { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
  'rsa-2048': { name: 'RSASSA-PKCS1-v1_5' },
};

/** Issues with the options every CA has: a usable common name and a whole, positive number of days. */
function optionIssues(commonName: string, validityDays: number, maxDays: number): Issue[] {
  const issues: Issue[] = [];
  if (commonName.trim() === '' || commonName.length > MAX_COMMON_NAME || /[\u0000-\u001f]/.test(commonName)) {
    issues.push(issue('commonName', `must be 1 to ${MAX_COMMON_NAME} printable characters`));
  }
  if (!Number.isInteger(validityDays) || validityDays < 1 || validityDays > maxDays) {
    issues.push(issue('validityDays', `must be a whole number of days from 1 to ${maxDays}`));
  }
  return issues;
}

/** Extensions of every CA this module makes: CA:TRUE (critical), keyCertSign+cRLSign (critical), SKI, SAN. */
async function caExtensions(publicKey: CryptoKey, trustDomain: string, pathLength?: number): Promise<x509.Extension[]> {
  return [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
    new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${trustDomain}` }]),
  ];
}

/**
 * A new self-signed root CA. Without a pathLen limit, so an intermediate per cluster or region can be
 * added under it later; the intermediates this module makes carry pathLen 0.
 */
export async function createRootCa(options: RootCaOptions): Promise<Result<CaCertificate>> {
  const { commonName, trustDomain, algorithm, validityDays = 3650, now = new Date() } = options;
  const td = validateTrustDomain(trustDomain);
  const issues = [...(td.ok ? [] : td.issues), ...optionIssues(commonName, validityDays, 36_500)];
  if (issues.length > 0) return fail(...issues);
  const validity = validityWithin(undefined, now, validityDays * DAY_MS, 'now');
  if (!validity.ok) return validity;
  const keys = await generateKeyPair(algorithm);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: distinguishedName(trustDomain, commonName),
    ...validity.value,
    keys,
    signingAlgorithm: SIGNING_OF[algorithm],
    extensions: await caExtensions(keys.publicKey, trustDomain),
  });
  return ok(caCertificateOf(cert, await privateKeyPem(keys.privateKey), '', KIND_OF[algorithm], trustDomain));
}

/** The trust domain of a new intermediate: the parent's, or the one asked for when the parent names none. */
function intermediateTrustDomain(parent: Issuer, asked: string | undefined): Result<string> {
  if (asked !== undefined) {
    const td = validateTrustDomain(asked);
    if (!td.ok) return td;
    if (parent.trustDomain !== undefined && parent.trustDomain !== asked) {
      return fail(issue('trustDomain', `must be the parent's trust domain, ${parent.trustDomain}`));
    }
    return td;
  }
  return parent.trustDomain !== undefined
    ? ok(parent.trustDomain)
    : fail(issue('trustDomain', 'is required: the parent CA names no spiffe:// trust domain'));
}

/**
 * A new intermediate CA signed by `parent` (a root, or a provided CA), with pathLen 0: it signs
 * workload certificates only. Its validity ends no later than the parent's.
 */
export async function createIntermediateCa(parent: SigningCa, options: IntermediateCaOptions): Promise<Result<CaCertificate>> {
  const { commonName, algorithm, validityDays = 365, now = new Date() } = options;
  const optionProblems = optionIssues(commonName, validityDays, 3650);
  if (optionProblems.length > 0) return fail(...optionProblems);
  const loaded = await loadIssuer(parent, 'parent');
  if (!loaded.ok) return loaded;
  const signer = loaded.value;
  if (signer.pathLength === 0) return fail(issue('parent', 'has pathLen 0: it may sign workload certificates but no further CA'));
  const td = intermediateTrustDomain(signer, options.trustDomain);
  if (!td.ok) return td;
  const validity = validityWithin(signer.cert, now, validityDays * DAY_MS, 'parent');
  if (!validity.ok) return validity;
  const keys = await generateKeyPair(algorithm);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: distinguishedName(td.value, commonName),
    issuer: signer.cert.subjectName,
    ...validity.value,
    publicKey: keys.publicKey,
    signingKey: signer.signingKey,
    signingAlgorithm: signer.signingAlgorithm,
    extensions: [
      ...(await caExtensions(keys.publicKey, td.value, 0)),
      signer.authorityKeyIdentifier,
    ],
  });
  const chainPem = joinPem([cert.toString('pem'), ...certificateBlocks(signer.chainPem)]);
  return ok(caCertificateOf(cert, await privateKeyPem(keys.privateKey), chainPem, KIND_OF[algorithm], td.value));
}

/**
 * The CA certificates peers trust, as one PEM bundle: during a rotation the old and the new root
 * both, so certificates from either verify until the old ones expire. Accepts PEM text (one or more
 * certificates each) or CAs; duplicates are dropped, order kept; anything but a CA certificate is an issue.
 */
export function trustBundlePem(cas: readonly (string | { readonly certPem: string })[]): Result<string> {
  const issues: Issue[] = [];
  const seen = new Set<string>();
  const blocks: string[] = [];
  cas.forEach((ca, i) => {
    const found = certificateBlocks(typeof ca === 'string' ? ca : ca.certPem);
    if (found.length === 0) issues.push(issue(`cas[${i}]`, 'holds no PEM certificate'));
    for (const block of found) {
      let cert: NodeCertificate;
      try {
        cert = new NodeCertificate(block);
      } catch {
        issues.push(issue(`cas[${i}]`, 'holds a certificate that cannot be read'));
        continue;
      }
      if (!cert.ca) issues.push(issue(`cas[${i}]`, `holds ${cert.subject.replace(/\n/g, ', ')}, which is not a CA certificate`));
      else if (!seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256);
        blocks.push(block);
      }
    }
  });
  return issues.length > 0 ? fail(...issues) : ok(joinPem(blocks));
}
