/**
 * "Bring your own CA": a root, or an intermediate from the organisation's PKI, given as PEM with its
 * private key. Everything that would later make every workload certificate fail is refused here,
 * at the door, with an issue naming `cert` or `key`.
 */
import { X509Certificate as NodeCertificate } from 'node:crypto';
import { fail, issue, ok, type Issue, type Result } from '../lib/result.ts';
import { caCertificateOf, readCaCertificate, type CaCertificate } from './issuer.ts';
import { keyKind, keysMatch, readPrivateKey } from './keys.ts';
import { certificateBlocks, joinPem } from './pem.ts';

/** A provided CA, ready to sign (its key normalised to PKCS#8), and the root above it if one was given. */
export interface ProvidedCa extends CaCertificate {
  /** The self-signed certificate at the top of what was given (the CA itself when it is a root). */
  rootPem: string | undefined;
}

/** Issues when `at` lies outside a certificate's validity. */
function validityIssues(cert: NodeCertificate, at: Date, what: string): Issue[] {
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (at >= notAfter) return [issue('cert', `${what} expired at ${notAfter.toISOString()}`)];
  if (at < notBefore) return [issue('cert', `${what} is not valid until ${notBefore.toISOString()}`)];
  return [];
}

/** Checks that each certificate after the first issued the one before it, and is valid at `now`. */
function chainIssues(blocks: readonly string[], now: Date): Issue[] {
  const issues: Issue[] = [];
  let child: NodeCertificate | undefined;
  for (const [i, block] of blocks.entries()) {
    let cert: NodeCertificate;
    try {
      cert = new NodeCertificate(block);
    } catch {
      issues.push(issue('cert', `certificate ${i + 1} cannot be read`));
      break;
    }
    if (i > 0) issues.push(...validityIssues(cert, now, `certificate ${i + 1}`));
    if (child && !(child.checkIssued(cert) && child.verify(cert.publicKey))) {
      issues.push(issue('cert', `certificate ${i + 1} did not issue certificate ${i}: give the CA first, then its issuers in order`));
    }
    child = cert;
  }
  return issues;
}

/** True for a self-signed certificate (a root). */
function isSelfSigned(block: string): boolean {
  const cert = new NodeCertificate(block);
  return cert.checkIssued(cert) && cert.verify(cert.publicKey);
}

/**
 * Imports a provided CA. `certPem` holds the CA certificate, optionally followed by its issuers up
 * to the root; `keyPem` the CA's private key (PKCS#8, SEC1 or PKCS#1, unencrypted). Checks: it is a
 * CA (CA:TRUE, keyCertSign), valid now, the chain links, and the key is the certificate's (a
 * signature made with it verifies with the certificate's public key).
 */
export async function importProvidedCa(certPem: string, keyPem: string, options: { now?: Date } = {}): Promise<Result<ProvidedCa>> {
  const now = options.now ?? new Date();
  const blocks = certificateBlocks(certPem);
  const facts = blocks[0] === undefined ? fail(issue('cert', 'holds no PEM certificate (BEGIN CERTIFICATE)')) : readCaCertificate(blocks[0], 'cert');
  const key = readPrivateKey(keyPem, 'key');
  const kind = key.ok ? keyKind(key.value, 'key') : key;
  const issues = [
    ...(facts.ok ? validityIssues(facts.value.node, now, 'the CA certificate') : facts.issues),
    ...chainIssues(blocks, now),
    ...(kind.ok ? [] : kind.issues),
  ];
  if (facts.ok && key.ok && kind.ok && !keysMatch(key.value, facts.value.node.publicKey)) {
    issues.push(issue('key', "does not match the certificate's public key"));
  }
  if (issues.length > 0 || !facts.ok || !key.ok || !kind.ok) return fail(...issues);
  const pkcs8 = key.value.export({ type: 'pkcs8', format: 'pem' }).toString();
  const chainPem = joinPem(blocks.filter((b) => !isSelfSigned(b)));
  const last = blocks[blocks.length - 1]!;
  const ca = caCertificateOf(facts.value.cert, pkcs8, chainPem, kind.value, facts.value.trustDomain);
  return ok({ ...ca, rootPem: isSelfSigned(last) ? last : undefined });
}
