import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createIntermediateCa, createRootCa } from './authority.ts';
import { DEFAULT_TTL_MS, issueWorkloadCertificate, signCsr } from './certificates.ts';
import type { KeyAlgorithm } from './keys.ts';
import { certificateBlocks } from './pem.ts';
import { hasOpenssl, issuesOf, must, opensslMake, opensslText, opensslVerify } from '../../test/support/openssl.ts';
import { subtle, x509 } from './x509.ts';

const NOW = new Date(); // real time: openssl verifies at the current time
const HOUR_MS = 3_600_000;
const TD = 'cluster.local';
const ID = `spiffe://${TD}/ns/default/sa/greeter`;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const second = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);

/** A root and an intermediate of one algorithm, the intermediate made an hour ago. */
async function hierarchy(algorithm: KeyAlgorithm) {
  const root = must(await createRootCa({ commonName: 'Root', trustDomain: TD, algorithm, now: new Date(NOW.getTime() - 2 * HOUR_MS) }));
  const intermediate = must(await createIntermediateCa(root, { commonName: 'Intermediate', algorithm, now: new Date(NOW.getTime() - HOUR_MS) }));
  return { root, intermediate };
}
const cas = { 'ecdsa-p256': await hierarchy('ecdsa-p256'), 'rsa-2048': await hierarchy('rsa-2048') };
const { root, intermediate } = cas['ecdsa-p256'];

/** The DER SPKI of a PEM key, certificate or CSR public key. */
function spki(pem: string): Buffer {
  const key = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : pem.includes('CERTIFICATE') ? new X509Certificate(pem).publicKey : createPublicKey(pem);
  return key.export({ type: 'spki', format: 'der' });
}

describe.each([
  { caAlg: 'ecdsa-p256', algorithm: 'ecdsa-p256' },
  { caAlg: 'ecdsa-p256', algorithm: 'rsa-2048' },
  { caAlg: 'rsa-2048', algorithm: 'ecdsa-p256' },
  { caAlg: 'rsa-2048', algorithm: 'rsa-2048' },
] as const)('issueWorkloadCertificate: $algorithm leaf from a $caAlg CA', async ({ caAlg, algorithm }) => {
  const ca = cas[caAlg];
  const leaf = must(await issueWorkloadCertificate(ca.intermediate, { spiffeId: ID, algorithm, now: NOW }));
  const cert = new X509Certificate(leaf.certPem);
  const issuer = new X509Certificate(ca.intermediate.certPem);

  it('is an X.509-SVID that the intermediate signed', () => {
    expect(cert.checkIssued(issuer)).toBe(true);
    expect(cert.verify(issuer.publicKey)).toBe(true);
    expect(cert.verify(new X509Certificate(ca.root.certPem).publicKey)).toBe(false);
    expect(cert.ca).toBe(false);
    expect(cert.subjectAltName).toBe(`URI:${ID}`);
    expect(cert.subject).toBe(`O=${TD}`);
    expect(cert.keyUsage).toEqual([SERVER_AUTH, CLIENT_AUTH]);
  });

  it('has the SVID extensions, critical where the spec says', () => {
    const parsed = new x509.X509Certificate(leaf.certPem);
    const constraints = parsed.getExtension(x509.BasicConstraintsExtension)!;
    expect([constraints.critical, constraints.ca]).toEqual([true, false]);
    const usage = parsed.getExtension(x509.KeyUsagesExtension)!;
    const rsaOnly = algorithm === 'rsa-2048' ? x509.KeyUsageFlags.keyEncipherment : 0;
    expect([usage.critical, usage.usages]).toEqual([true, x509.KeyUsageFlags.digitalSignature | rsaOnly]);
    const intermediateKeyId = new x509.X509Certificate(ca.intermediate.certPem).getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
    expect(parsed.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(intermediateKeyId);
    expect(parsed.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId).toMatch(/^[0-9a-f]{40}$/);
    expect(parsed.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([{ type: 'url', value: ID }]);
  });

  it('returns the PKCS#8 key, the chain, a random positive serial and the validity', () => {
    expect(leaf.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(spki(leaf.keyPem!).equals(spki(leaf.certPem))).toBe(true);
    expect(certificateBlocks(leaf.chainPem)).toEqual([leaf.certPem, ca.intermediate.certPem]);
    expect(leaf.serial).toMatch(/^[4-7][0-9a-f]{31}$/);
    expect(leaf.serial).toBe(cert.serialNumber.toLowerCase());
    expect(leaf.notBefore).toEqual(second(NOW.getTime() - 60_000));
    expect(leaf.notAfter).toEqual(second(NOW.getTime() + DEFAULT_TTL_MS));
    expect([new Date(cert.validFrom), new Date(cert.validTo)]).toEqual([leaf.notBefore, leaf.notAfter]);
  });

  it.skipIf(!hasOpenssl)('verifies with openssl as a TLS server and client certificate', () => {
    const chain = opensslVerify(ca.root.certPem, ca.intermediate.certPem, leaf.certPem, 'sslserver');
    expect(chain.output).toContain('leaf.pem: OK');
    expect(opensslVerify(ca.root.certPem, ca.intermediate.certPem, leaf.certPem, 'sslclient').ok).toBe(true);
    // Without the intermediate the chain is incomplete, which shows the check can fail.
    expect(opensslVerify(ca.root.certPem, '', leaf.certPem).ok).toBe(false);
  });

  it.skipIf(!hasOpenssl)('reads right in openssl x509 -text', () => {
    const text = opensslText(leaf.certPem);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE\n/);
    const usages = algorithm === 'rsa-2048' ? 'Digital Signature, Key Encipherment' : 'Digital Signature';
    expect(text).toMatch(new RegExp(`Key Usage: critical\\s+${usages}\\n`));
    expect(text).toMatch(/Extended Key Usage:\s*\n\s+TLS Web Server Authentication, TLS Web Client Authentication\n/);
    expect(text.match(/URI:/g)).toEqual(['URI:']);
    expect(text).toContain(`URI:${ID}\n`);
    expect(text).toContain(`Subject: O = ${TD}\n`);
  });
});

describe('issueWorkloadCertificate validity', () => {
  it('is backdated a minute, but not before the issuer', async () => {
    const atIssuerStart = new Date(intermediate.notBefore.getTime() + 10_000);
    const leaf = must(await issueWorkloadCertificate(intermediate, { spiffeId: ID, now: atIssuerStart }));
    expect(leaf.notBefore).toEqual(intermediate.notBefore);
  });

  it('lives ttlMs', async () => {
    const leaf = must(await issueWorkloadCertificate(intermediate, { spiffeId: ID, ttlMs: 2 * HOUR_MS, now: NOW }));
    expect(leaf.notAfter).toEqual(second(NOW.getTime() + 2 * HOUR_MS));
  });

  it('ends no later than the issuer, and still verifies', async () => {
    // Made 23 hours ago for a day: an hour left, less than the leaf's 24 hours.
    const older = must(await createRootCa({ commonName: 'Older', trustDomain: TD, algorithm: 'ecdsa-p256', now: new Date(NOW.getTime() - 48 * HOUR_MS) }));
    const ending = must(await createIntermediateCa(older, { commonName: 'Ending', algorithm: 'ecdsa-p256', validityDays: 1, now: new Date(NOW.getTime() - 23 * HOUR_MS) }));
    const leaf = must(await issueWorkloadCertificate(ending, { spiffeId: ID, now: NOW }));
    expect(leaf.notAfter).toEqual(ending.notAfter);
    expect(ending.notAfter.getTime() - NOW.getTime()).toBeLessThan(HOUR_MS + 1000);
    if (hasOpenssl) expect(opensslVerify(older.certPem, ending.certPem, leaf.certPem).ok).toBe(true);
  });

  it('refuses an issuer outside its validity', async () => {
    const after = new Date(intermediate.notAfter.getTime() + 1000);
    expect(issuesOf(await issueWorkloadCertificate(intermediate, { spiffeId: ID, now: after }))).toEqual([
      { path: 'issuer', message: `expired at ${intermediate.notAfter.toISOString()}` },
    ]);
    const before = new Date(intermediate.notBefore.getTime() - 1000);
    expect(issuesOf(await issueWorkloadCertificate(intermediate, { spiffeId: ID, now: before }))).toEqual([
      { path: 'issuer', message: `is not valid until ${intermediate.notBefore.toISOString()}` },
    ]);
  });
});

describe('issueWorkloadCertificate', () => {
  it('from a root directly chains to nothing more', async () => {
    const leaf = must(await issueWorkloadCertificate(root, { spiffeId: ID }));
    expect(leaf.chainPem).toBe(leaf.certPem);
    if (hasOpenssl) expect(opensslVerify(root.certPem, '', leaf.certPem).ok).toBe(true);
  });

  it('draws a new serial every time', async () => {
    const serials = new Set<string>();
    for (let i = 0; i < 5; i++) serials.add(must(await issueWorkloadCertificate(intermediate, { spiffeId: ID })).serial);
    expect(serials.size).toBe(5);
  });

  it.each([
    { name: 'P-256 SPKI', pem: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString() },
    { name: 'P-384 SPKI', pem: generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }).toString() },
    { name: 'PKCS#1 RSA', pem: generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'pkcs1', format: 'pem' }).toString() },
  ])('certifies a given $name public key and returns no private key', async ({ pem }) => {
    const leaf = must(await issueWorkloadCertificate(intermediate, { spiffeId: ID, publicKeyPem: pem }));
    expect(leaf.keyPem).toBeUndefined();
    expect(spki(leaf.certPem).equals(spki(pem))).toBe(true);
    expect(new X509Certificate(leaf.certPem).verify(new X509Certificate(intermediate.certPem).publicKey)).toBe(true);
  });

  it.each([
    { name: 'another trust domain', options: { spiffeId: 'spiffe://other.org/ns/a/sa/b' }, issue: { path: 'spiffeId', message: `is in trust domain other.org; this CA issues for ${TD}` } },
    { name: 'a trust-domain-only ID', options: { spiffeId: `spiffe://${TD}` }, issue: { path: 'spiffeId', message: 'must have a path after the trust domain (a workload ID)' } },
    { name: 'a TTL under a minute', options: { spiffeId: ID, ttlMs: 1000 }, issue: { path: 'ttlMs', message: 'must be a whole number of milliseconds from 60000 to 31536000000' } },
    { name: 'a fractional TTL', options: { spiffeId: ID, ttlMs: 90_000.5 }, issue: { path: 'ttlMs', message: 'must be a whole number of milliseconds from 60000 to 31536000000' } },
    {
      name: 'an algorithm beside a public key',
      options: { spiffeId: ID, algorithm: 'rsa-2048' as const, publicKeyPem: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString() },
      issue: { path: 'algorithm', message: 'applies only to a generated key; leave it out when giving publicKeyPem' },
    },
    { name: 'a private key as public key', options: { spiffeId: ID, publicKeyPem: root.keyPem }, issue: { path: 'publicKeyPem', message: 'must be a PEM public key (BEGIN PUBLIC KEY)' } },
    {
      name: 'an RSA-1024 key',
      options: { spiffeId: ID, publicKeyPem: generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString() },
      issue: { path: 'publicKeyPem', message: 'is RSA-1024; at least 2048 bits are required' },
    },
    {
      name: 'an Ed25519 key',
      options: { spiffeId: ID, publicKeyPem: generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString() },
      issue: { path: 'publicKeyPem', message: 'is a ed25519 key; only ECDSA (P-256, P-384) and RSA keys are supported' },
    },
  ])('refuses $name', async ({ options, issue }) => {
    expect(issuesOf(await issueWorkloadCertificate(intermediate, options))).toEqual([issue]);
  });

  it('refuses an issuer whose key is not its own', async () => {
    const mixed = { certPem: intermediate.certPem, keyPem: root.keyPem, chainPem: intermediate.chainPem };
    expect(issuesOf(await issueWorkloadCertificate(mixed, { spiffeId: ID }))).toEqual([{ path: 'issuer.keyPem', message: 'does not belong to the certificate' }]);
  });
});

/** A CSR from `@peculiar/x509` asking for a different identity than the one it will get. */
async function peculiarCsr(): Promise<string> {
  const keys = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=admin',
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${TD}/ns/kube-system/sa/admin` }, { type: 'dns', value: 'admin.example' }])],
  });
  return csr.toString('pem');
}

describe('signCsr', async () => {
  const csrPem = await peculiarCsr();

  it('certifies the CSR key for the given SPIFFE ID, ignoring the names the CSR asks for', async () => {
    const leaf = must(await signCsr(intermediate, csrPem, { spiffeId: ID, now: NOW }));
    const cert = new X509Certificate(leaf.certPem);
    expect(cert.subjectAltName).toBe(`URI:${ID}`);
    expect(cert.subject).toBe(`O=${TD}`);
    expect(leaf.keyPem).toBeUndefined();
    expect(spki(leaf.certPem).equals(Buffer.from(new x509.Pkcs10CertificateRequest(csrPem).publicKey.rawData))).toBe(true);
    if (hasOpenssl) expect(opensslVerify(root.certPem, intermediate.certPem, leaf.certPem).ok).toBe(true);
  });

  it.skipIf(!hasOpenssl)('signs an RSA CSR made by openssl the same way', async () => {
    const { 'req.pem': req } = opensslMake(
      (dir) => ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/key.pem`, '-out', `${dir}/req.pem`, '-subj', '/CN=evil', '-addext', 'subjectAltName=URI:spiffe://evil.org/x,DNS:evil.example'],
      ['req.pem'],
    );
    const leaf = must(await signCsr(intermediate, req!, { spiffeId: ID }));
    const text = opensslText(leaf.certPem);
    expect(text.match(/URI:|DNS:/g)).toEqual(['URI:']);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
    expect(opensslVerify(root.certPem, intermediate.certPem, leaf.certPem, 'sslclient').ok).toBe(true);
  });

  it('refuses a CSR whose signature does not verify', async () => {
    // Change what the CSR asks for after it was signed: "admin" becomes "admiN" in the subject.
    const der = Buffer.from(new x509.Pkcs10CertificateRequest(csrPem).rawData);
    const at = der.indexOf('admin');
    der[at + 4] = 'N'.charCodeAt(0);
    const altered = x509.PemConverter.encode(der, 'CERTIFICATE REQUEST');
    expect(issuesOf(await signCsr(intermediate, altered, { spiffeId: ID }))).toEqual([
      { path: 'csr', message: 'signature does not verify: the CSR was altered or not signed by its own key' },
    ]);
  });

  it('refuses what is not a CSR, and a weak key', async () => {
    expect(issuesOf(await signCsr(intermediate, 'hello', { spiffeId: ID }))).toEqual([
      { path: 'csr', message: 'is not a PEM certificate signing request (BEGIN CERTIFICATE REQUEST)' },
    ]);
    if (!hasOpenssl) return;
    const { 'req.pem': weak } = opensslMake(
      (dir) => ['req', '-new', '-newkey', 'rsa:1024', '-nodes', '-keyout', `${dir}/key.pem`, '-out', `${dir}/req.pem`, '-subj', '/CN=weak'],
      ['req.pem'],
    );
    expect(issuesOf(await signCsr(intermediate, weak!, { spiffeId: ID }))).toEqual([{ path: 'csr', message: 'is RSA-1024; at least 2048 bits are required' }]);
  });

  it('names every problem at once', async () => {
    expect(issuesOf(await signCsr(intermediate, 'hello', { spiffeId: 'spiffe://cluster.local', ttlMs: 5 }))).toEqual([
      { path: 'csr', message: 'is not a PEM certificate signing request (BEGIN CERTIFICATE REQUEST)' },
      { path: 'spiffeId', message: 'must have a path after the trust domain (a workload ID)' },
      { path: 'ttlMs', message: 'must be a whole number of milliseconds from 60000 to 31536000000' },
    ]);
    expect(issuesOf(await issueWorkloadCertificate(intermediate, { spiffeId: 'x', publicKeyPem: 'y' }))).toEqual([
      { path: 'publicKeyPem', message: 'must be a PEM public key (BEGIN PUBLIC KEY)' },
      { path: 'spiffeId', message: 'must start with spiffe://' },
    ]);
  });

  it('applies the same identity checks as issuing', async () => {
    expect(issuesOf(await signCsr(intermediate, csrPem, { spiffeId: 'spiffe://other.org/ns/a/sa/b' }))).toEqual([
      { path: 'spiffeId', message: `is in trust domain other.org; this CA issues for ${TD}` },
    ]);
  });
});
