import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createIntermediateCa, createRootCa } from './authority.ts';
import { issueWorkloadCertificate } from './certificates.ts';
import { importProvidedCa } from './provided-ca.ts';
import { hasOpenssl, issuesOf, must, opensslMake, opensslVerify } from '../../test/support/openssl.ts';

const TD = 'cluster.local';
const ID = `spiffe://${TD}/ns/default/sa/greeter`;
const root = must(await createRootCa({ commonName: 'Root', trustDomain: TD, algorithm: 'ecdsa-p256' }));
const intermediate = must(await createIntermediateCa(root, { commonName: 'Intermediate', algorithm: 'ecdsa-p256' }));
const otherRoot = must(await createRootCa({ commonName: 'Other', trustDomain: TD, algorithm: 'ecdsa-p256' }));

/** True when a PEM private key and a PEM certificate are one pair. */
function samePair(keyPem: string, certPem: string): boolean {
  const der = (k: ReturnType<typeof createPublicKey>) => k.export({ type: 'spki', format: 'der' });
  return der(createPublicKey(createPrivateKey(keyPem))).equals(der(new X509Certificate(certPem).publicKey));
}

/**
 * A self-signed CA made by openssl itself, the way an organisation's PKI would hand one over:
 * `newkey` as for `openssl req`, `extensions` as `-addext` values, the key rewritten with `pkeyArgs`.
 */
function opensslCa(newkey: string[], extensions: string[], pkeyArgs: string[] = []): { cert: string; key: string } {
  const made = opensslMake(
    (dir) => [
      'req', '-x509', ...newkey, '-nodes', '-days', '30', '-subj', '/O=Corp/CN=Corp CA',
      '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`, ...extensions.flatMap((e) => ['-addext', e]),
    ],
    ['cert.pem', 'key.pem'],
  );
  if (pkeyArgs.length === 0) return { cert: made['cert.pem']!, key: made['key.pem']! };
  const converted = opensslMake((dir) => ['pkey', '-in', `${dir}/in.pem`, '-out', `${dir}/out.pem`, ...pkeyArgs], ['out.pem'], { 'in.pem': made['key.pem']! });
  return { cert: made['cert.pem']!, key: converted['out.pem']! };
}

const CA_EXTENSIONS = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];

describe('importProvidedCa', () => {
  it('imports a root with its key', async () => {
    const ca = must(await importProvidedCa(root.certPem, root.keyPem));
    expect(ca).toMatchObject({ certPem: root.certPem, chainPem: '', rootPem: root.certPem, trustDomain: TD, algorithm: 'ecdsa-p256', serial: root.serial });
    expect(samePair(ca.keyPem, ca.certPem)).toBe(true);
  });

  it('imports an intermediate given with its root, and signs leaves that chain to that root', async () => {
    const ca = must(await importProvidedCa(`${intermediate.certPem}${root.certPem}`, intermediate.keyPem));
    expect(ca).toMatchObject({ certPem: intermediate.certPem, chainPem: intermediate.certPem, rootPem: root.certPem });
    const leaf = must(await issueWorkloadCertificate(ca, { spiffeId: ID }));
    expect(leaf.chainPem).toBe(`${leaf.certPem}${intermediate.certPem}`);
    if (hasOpenssl) expect(opensslVerify(root.certPem, intermediate.certPem, leaf.certPem).ok).toBe(true);
  });

  it.skipIf(!hasOpenssl)('imports an OpenSSL-made EC root with a SEC1 key, and a trust domain must then be named', async () => {
    const corp = opensslCa(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], CA_EXTENSIONS, ['-traditional']);
    expect(corp.key).toContain('BEGIN EC PRIVATE KEY');
    const ca = must(await importProvidedCa(corp.cert, corp.key));
    expect(ca).toMatchObject({ trustDomain: undefined, algorithm: 'ecdsa-p256', rootPem: corp.cert.replace(/\r\n/g, '\n') });
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(issuesOf(await createIntermediateCa(ca, { commonName: 'Mesh', algorithm: 'ecdsa-p256' }))).toEqual([
      { path: 'trustDomain', message: 'is required: the parent CA names no spiffe:// trust domain' },
    ]);
    const mesh = must(await createIntermediateCa(ca, { commonName: 'Mesh', algorithm: 'ecdsa-p256', trustDomain: TD }));
    const leaf = must(await issueWorkloadCertificate(mesh, { spiffeId: ID, algorithm: 'rsa-2048' }));
    expect(opensslVerify(corp.cert, mesh.chainPem, leaf.certPem).output).toContain('leaf.pem: OK');
  });

  it.skipIf(!hasOpenssl)('imports an OpenSSL-made RSA root with a PKCS#1 key', async () => {
    const corp = opensslCa(['-newkey', 'rsa:2048'], CA_EXTENSIONS, ['-traditional']);
    expect(corp.key).toContain('BEGIN RSA PRIVATE KEY');
    const ca = must(await importProvidedCa(corp.cert, corp.key));
    expect(ca.algorithm).toBe('rsa-2048');
    const leaf = must(await issueWorkloadCertificate(ca, { spiffeId: ID }));
    expect(opensslVerify(corp.cert, '', leaf.certPem).ok).toBe(true);
  });

  it('refuses a key that is not the certificate’s', async () => {
    expect(issuesOf(await importProvidedCa(root.certPem, otherRoot.keyPem))).toEqual([
      { path: 'key', message: "does not match the certificate's public key" },
    ]);
    expect(issuesOf(await importProvidedCa(root.certPem, intermediate.keyPem))).toEqual([
      { path: 'key', message: "does not match the certificate's public key" },
    ]);
  });

  it('refuses a workload certificate', async () => {
    const leaf = must(await issueWorkloadCertificate(intermediate, { spiffeId: ID }));
    expect(issuesOf(await importProvidedCa(leaf.certPem, leaf.keyPem!))).toEqual([
      { path: 'cert', message: 'is not a CA certificate: basicConstraints does not say CA:TRUE' },
      { path: 'cert', message: 'may not sign certificates: its keyUsage lacks keyCertSign' },
      { path: 'cert', message: `names ${ID}; a CA's SPIFFE ID must be the bare trust domain` },
    ]);
  });

  it.skipIf(!hasOpenssl)('refuses a CA certificate without keyCertSign', async () => {
    const corp = opensslCa(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,digitalSignature']);
    expect(issuesOf(await importProvidedCa(corp.cert, corp.key))).toEqual([
      { path: 'cert', message: 'may not sign certificates: its keyUsage lacks keyCertSign' },
    ]);
  });

  it.skipIf(!hasOpenssl)('refuses an Ed25519 CA and an encrypted key', async () => {
    const ed = opensslCa(['-newkey', 'ed25519'], CA_EXTENSIONS);
    expect(issuesOf(await importProvidedCa(ed.cert, ed.key))).toEqual([
      { path: 'key', message: 'is a ed25519 key; only ECDSA (P-256, P-384) and RSA keys are supported' },
    ]);
    const locked = opensslCa(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], CA_EXTENSIONS, ['-aes256', '-passout', 'pass:secret']);
    expect(issuesOf(await importProvidedCa(locked.cert, locked.key))).toEqual([
      { path: 'key', message: 'is encrypted; give the key unencrypted (it is sealed at rest with the CA key)' },
    ]);
  });

  it('refuses an expired or not yet valid CA', async () => {
    const later = new Date(root.notAfter.getTime() + 1000);
    expect(issuesOf(await importProvidedCa(root.certPem, root.keyPem, { now: later }))).toEqual([
      { path: 'cert', message: `the CA certificate expired at ${root.notAfter.toISOString()}` },
    ]);
    const earlier = new Date(root.notBefore.getTime() - 1000);
    expect(issuesOf(await importProvidedCa(root.certPem, root.keyPem, { now: earlier }))).toEqual([
      { path: 'cert', message: `the CA certificate is not valid until ${root.notBefore.toISOString()}` },
    ]);
  });

  it('refuses a chain in the wrong order', async () => {
    expect(issuesOf(await importProvidedCa(`${intermediate.certPem}${otherRoot.certPem}`, intermediate.keyPem))).toEqual([
      { path: 'cert', message: 'certificate 2 did not issue certificate 1: give the CA first, then its issuers in order' },
    ]);
  });

  it('names both inputs when neither can be read', async () => {
    expect(issuesOf(await importProvidedCa('not a certificate', 'not a key'))).toEqual([
      { path: 'cert', message: 'holds no PEM certificate (BEGIN CERTIFICATE)' },
      { path: 'key', message: 'is not a readable PEM private key' },
    ]);
  });
});
