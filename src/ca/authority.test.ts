import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createIntermediateCa, createRootCa, trustBundlePem } from './authority.ts';
import { issueWorkloadCertificate } from './certificates.ts';
import { certificateBlocks } from './pem.ts';
import { hasOpenssl, issuesOf, must, opensslText, opensslWith } from '../../test/support/openssl.ts';
import { x509 } from './x509.ts';

// The real time, so that openssl (which verifies at the current time) sees the same validity.
const NOW = new Date();
const DAY_MS = 86_400_000;
const TD = 'cluster.local';
const second = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);

const roots = {
  'ecdsa-p256': must(await createRootCa({ commonName: 'APG Root', trustDomain: TD, algorithm: 'ecdsa-p256', now: NOW })),
  'rsa-2048': must(await createRootCa({ commonName: 'APG Root', trustDomain: TD, algorithm: 'rsa-2048', now: NOW })),
};

/** The SPKI of a PEM key or certificate, to compare key pairs. */
function spki(pem: string): Buffer {
  const key = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : new X509Certificate(pem).publicKey;
  return key.export({ type: 'spki', format: 'der' });
}

/** `openssl verify -x509_strict` of a CA certificate against a root. */
function opensslVerifyCa(rootPem: string, certPem: string): boolean {
  return opensslWith({ 'root.pem': rootPem, 'cert.pem': certPem }, (p) => ['verify', '-x509_strict', '-CAfile', p['root.pem']!, p['cert.pem']!]).ok;
}

describe.each(Object.entries(roots))('createRootCa (%s)', (algorithm, root) => {
  const cert = new X509Certificate(root.certPem);
  const parsed = new x509.X509Certificate(root.certPem);

  it('is a self-signed CA for the trust domain', () => {
    expect(cert.ca).toBe(true);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.subject).toBe(`O=${TD}\nCN=APG Root`);
    expect(cert.subjectAltName).toBe(`URI:spiffe://${TD}`);
    expect(root).toMatchObject({ algorithm, chainPem: '', trustDomain: TD, serial: cert.serialNumber.toLowerCase() });
  });

  it('is valid for ten years from a minute ago', () => {
    expect(new Date(cert.validFrom)).toEqual(second(NOW.getTime() - 60_000));
    expect(new Date(cert.validTo)).toEqual(second(NOW.getTime() + 3650 * DAY_MS));
    expect(root.notBefore).toEqual(new Date(cert.validFrom));
    expect(root.notAfter).toEqual(new Date(cert.validTo));
  });

  it('carries critical CA:TRUE without pathLen and critical keyCertSign+cRLSign only', () => {
    const constraints = parsed.getExtension(x509.BasicConstraintsExtension)!;
    expect([constraints.critical, constraints.ca, constraints.pathLength]).toEqual([true, true, undefined]);
    const usage = parsed.getExtension(x509.KeyUsagesExtension)!;
    expect([usage.critical, usage.usages]).toEqual([true, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign]);
    expect(parsed.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId).toMatch(/^[0-9a-f]{40}$/);
  });

  it('hands back its PKCS#8 private key', () => {
    expect(root.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(spki(root.keyPem).equals(spki(root.certPem))).toBe(true);
  });

  it.skipIf(!hasOpenssl)('is a CA to openssl', () => {
    const text = opensslText(root.certPem);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE\n/);
    expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
    expect(text).toContain(`URI:spiffe://${TD}`);
    expect(opensslVerifyCa(root.certPem, root.certPem)).toBe(true);
  });
});

describe('createRootCa options', () => {
  it('names every bad option', async () => {
    const result = await createRootCa({ commonName: ' ', trustDomain: 'Cluster.Local', algorithm: 'ecdsa-p256', validityDays: 0 });
    expect(issuesOf(result)).toEqual([
      { path: 'trustDomain', message: 'must be lower case (cluster.local)' },
      { path: 'commonName', message: 'must be 1 to 64 printable characters' },
      { path: 'validityDays', message: 'must be a whole number of days from 1 to 36500' },
    ]);
  });

  it('keeps a common name with commas and quotes as it is', async () => {
    const root = must(await createRootCa({ commonName: 'Mesh, "prod" CA', trustDomain: TD, algorithm: 'ecdsa-p256' }));
    expect(new x509.X509Certificate(root.certPem).subjectName.toJSON()).toEqual([{ O: [TD] }, { CN: ['Mesh, "prod" CA'] }]);
  });
});

describe.each([
  { rootAlg: 'ecdsa-p256', algorithm: 'ecdsa-p256' },
  { rootAlg: 'ecdsa-p256', algorithm: 'rsa-2048' },
  { rootAlg: 'rsa-2048', algorithm: 'ecdsa-p256' },
] as const)('createIntermediateCa ($algorithm under $rootAlg)', async ({ rootAlg, algorithm }) => {
  const root = roots[rootAlg];
  const intermediate = must(await createIntermediateCa(root, { commonName: 'APG Intermediate', algorithm, now: NOW }));
  const cert = new X509Certificate(intermediate.certPem);
  const parsed = new x509.X509Certificate(intermediate.certPem);

  it('is a CA signed by the root, in the same trust domain', () => {
    const rootCert = new X509Certificate(root.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.checkIssued(rootCert)).toBe(true);
    expect(cert.verify(rootCert.publicKey)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(false);
    expect(cert.subjectAltName).toBe(`URI:spiffe://${TD}`);
    expect(intermediate).toMatchObject({ algorithm, trustDomain: TD, chainPem: intermediate.certPem });
    expect(spki(intermediate.keyPem).equals(spki(intermediate.certPem))).toBe(true);
  });

  it('has pathLen 0, keyCertSign+cRLSign and names the root key', () => {
    const constraints = parsed.getExtension(x509.BasicConstraintsExtension)!;
    expect([constraints.critical, constraints.ca, constraints.pathLength]).toEqual([true, true, 0]);
    const usage = parsed.getExtension(x509.KeyUsagesExtension)!;
    expect([usage.critical, usage.usages]).toEqual([true, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign]);
    const rootKeyId = new x509.X509Certificate(root.certPem).getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
    expect(parsed.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(rootKeyId);
  });

  it('is valid for a year by default', () => {
    expect(intermediate.notAfter).toEqual(second(NOW.getTime() + 365 * DAY_MS));
    expect(intermediate.notBefore).toEqual(root.notBefore);
  });

  it.skipIf(!hasOpenssl)('verifies with openssl against the root', () => {
    expect(opensslVerifyCa(root.certPem, intermediate.certPem)).toBe(true);
    expect(opensslText(intermediate.certPem)).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0\n/);
  });
});

describe('createIntermediateCa refusals', () => {
  const root = roots['ecdsa-p256'];

  it('ends no later than its parent', async () => {
    const shortRoot = must(await createRootCa({ commonName: 'Short', trustDomain: TD, algorithm: 'ecdsa-p256', validityDays: 10 }));
    const intermediate = must(await createIntermediateCa(shortRoot, { commonName: 'I', algorithm: 'ecdsa-p256' }));
    expect(intermediate.notAfter).toEqual(shortRoot.notAfter);
  });

  it('refuses a parent with pathLen 0', async () => {
    const intermediate = must(await createIntermediateCa(root, { commonName: 'I', algorithm: 'ecdsa-p256' }));
    expect(issuesOf(await createIntermediateCa(intermediate, { commonName: 'II', algorithm: 'ecdsa-p256' }))).toEqual([
      { path: 'parent', message: 'has pathLen 0: it may sign workload certificates but no further CA' },
    ]);
  });

  it('stays in the parent trust domain', async () => {
    expect(issuesOf(await createIntermediateCa(root, { commonName: 'I', algorithm: 'ecdsa-p256', trustDomain: 'other.org' }))).toEqual([
      { path: 'trustDomain', message: `must be the parent's trust domain, ${TD}` },
    ]);
    expect((await createIntermediateCa(root, { commonName: 'I', algorithm: 'ecdsa-p256', trustDomain: TD })).ok).toBe(true);
  });

  it('refuses a parent whose key is not its own, or that has expired', async () => {
    const mixed = { certPem: root.certPem, keyPem: roots['rsa-2048'].keyPem };
    expect(issuesOf(await createIntermediateCa(mixed, { commonName: 'I', algorithm: 'ecdsa-p256' }))).toEqual([
      { path: 'parent.keyPem', message: 'does not belong to the certificate' },
    ]);
    const later = new Date(root.notAfter.getTime() + 1000);
    expect(issuesOf(await createIntermediateCa(root, { commonName: 'I', algorithm: 'ecdsa-p256', now: later }))).toEqual([
      { path: 'parent', message: `expired at ${root.notAfter.toISOString()}` },
    ]);
  });

  it('refuses a leaf as parent', async () => {
    const leaf = must(await issueWorkloadCertificate(root, { spiffeId: `spiffe://${TD}/ns/a/sa/b` }));
    const result = await createIntermediateCa({ certPem: leaf.certPem, keyPem: leaf.keyPem! }, { commonName: 'I', algorithm: 'ecdsa-p256' });
    expect(issuesOf(result)).toEqual([
      { path: 'parent.certPem', message: 'is not a CA certificate: basicConstraints does not say CA:TRUE' },
      { path: 'parent.certPem', message: 'may not sign certificates: its keyUsage lacks keyCertSign' },
      { path: 'parent.certPem', message: `names spiffe://${TD}/ns/a/sa/b; a CA's SPIFFE ID must be the bare trust domain` },
    ]);
  });
});

describe('trustBundlePem', () => {
  const [a, b] = [roots['ecdsa-p256'], roots['rsa-2048']];

  it('joins CA certificates in order, once each', () => {
    const bundle = must(trustBundlePem([a, b.certPem, a.certPem, `${b.certPem}${a.certPem}`]));
    expect(certificateBlocks(bundle)).toEqual([a.certPem, b.certPem]);
    expect(bundle).toBe(`${a.certPem}${b.certPem}`);
  });

  it('refuses what is not a CA certificate', async () => {
    const leaf = must(await issueWorkloadCertificate(a, { spiffeId: `spiffe://${TD}/ns/a/sa/b` }));
    expect(issuesOf(trustBundlePem([a, leaf.certPem, 'nothing']))).toEqual([
      { path: 'cas[1]', message: `holds O=${TD}, which is not a CA certificate` },
      { path: 'cas[2]', message: 'holds no PEM certificate' },
    ]);
  });
});
