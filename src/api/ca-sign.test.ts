/** `POST /api/v1/ca/sign`: a join token's holder has its CSR signed for the token's identity, whatever the CSR asks for. */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiHarness, expectProblem, type ApiHarness } from '../../test/support/api.ts';
import { hasOpenssl, opensslVerify } from '../../test/support/openssl.ts';
import { subtle, x509 } from '../ca/x509.ts';
import { listCertificates } from '../registry/ca.ts';

let h: ApiHarness;
let token: string;
let tokenId: string;
beforeAll(async () => {
  h = await apiHarness();
  await h.service({ namespace: 'shop', name: 'web', port: 8080 });
  ({ token, id: tokenId } = (await h.call('POST', '/api/v1/join-tokens', { namespace: 'shop', service: 'web' })).json());
});
afterAll(async () => h?.close());

/** A CSR for a fresh P-256 key asking for the identity of an admin (which it must not get). */
async function csrAsking(uri = 'spiffe://mesh.local/ns/kube-system/sa/admin'): Promise<string> {
  const keys = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=admin',
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }, { type: 'dns', value: 'admin.example' }])],
  });
  return csr.toString('pem');
}

/** Calls the route with `auth` as the authorization header (null: none), by default the token's. */
const sign = (body: unknown, auth: string | null = `Bearer ${token}`, query = '') =>
  h.call('POST', `/api/v1/ca/sign${query}`, body, auth === null ? {} : { authorization: auth });

describe('POST /api/v1/ca/sign', () => {
  it("signs the CSR's key for the token's identity, not the SAN the CSR asks for; the chain verifies against the bundle", async () => {
    const csr = await csrAsking();
    const res = await sign({ csr });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toEqual({ spiffeId: 'spiffe://mesh.local/ns/shop/sa/web', certificate: expect.any(String), bundle: expect.any(String), serial: expect.any(String), notAfter: expect.any(String) });

    const [leafPem, ...intermediates] = body.certificate.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g);
    const leaf = new X509Certificate(leafPem);
    expect(leaf.subjectAltName).toBe('URI:spiffe://mesh.local/ns/shop/sa/web');
    expect(leaf.subject).not.toContain('admin');
    expect(leaf.serialNumber.toLowerCase()).toBe(body.serial);
    expect(new Date(leaf.validTo).toISOString()).toBe(body.notAfter);
    expect(Buffer.from(leaf.publicKey.export({ type: 'spki', format: 'der' }))).toEqual(Buffer.from(new x509.Pkcs10CertificateRequest(csr).publicKey.rawData));
    const intermediate = new X509Certificate(intermediates[0]);
    const root = new X509Certificate(body.bundle);
    expect(leaf.checkIssued(intermediate) && leaf.verify(intermediate.publicKey)).toBe(true);
    expect(intermediate.checkIssued(root) && intermediate.verify(root.publicKey)).toBe(true);
    if (hasOpenssl) expect(opensslVerify(body.bundle, intermediates.join(''), leafPem, 'sslclient')).toMatchObject({ ok: true });

    const recorded = await listCertificates(h.db, { namespace: 'shop', service: 'web' });
    expect(recorded.find((c) => c.serial === body.serial)).toMatchObject({ channel: 'csr', status: 'active', sealedKey: null });
  });

  it('answers a dry run with the identity it would sign for, recording nothing', async () => {
    const before = (await listCertificates(h.db)).length;
    const res = await sign({ csr: await csrAsking() }, undefined, '?dryRun=true');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ dryRun: true, certificate: { namespace: 'shop', service: 'web', spiffeId: 'spiffe://mesh.local/ns/shop/sa/web', channel: 'csr' }, changes: [], issues: [] });
    expect(await listCertificates(h.db)).toHaveLength(before);
  });

  it('answers 401 without a valid bearer token, before looking at the body', async () => {
    const csr = await csrAsking();
    for (const auth of [null, 'Bearer apg_unknown', `Basic ${token}`, 'Bearer']) {
      const res = await sign({ csr }, auth);
      const body = expectProblem(res, 401, 'unauthenticated');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(body.detail).toMatch(/join token/);
    }
    expectProblem(await sign({}, null), 401, 'unauthenticated');
  });

  it('answers 401 for a revoked token', async () => {
    const other = (await h.call('POST', '/api/v1/join-tokens', { namespace: 'shop', service: 'web' })).json();
    expect((await h.call('DELETE', `/api/v1/join-tokens/${other.id}`)).statusCode).toBe(204);
    expectProblem(await sign({ csr: await csrAsking() }, `Bearer ${other.token}`), 401, 'unauthenticated');
    expect(tokenId).not.toBe(other.id);
  });

  it('answers 400 naming body.csr for a missing, unreadable or forged CSR, signing nothing', async () => {
    const before = (await listCertificates(h.db)).length;
    expectProblem(await sign({}), 400, 'validation-failed', ['body.csr']);
    expectProblem(await sign({ csr: 'hello' }), 400, 'validation-failed', ['body.csr']);
    const der = Buffer.from(new x509.Pkcs10CertificateRequest(await csrAsking()).rawData);
    der[der.length - 5]! ^= 0xff; // break the signature
    const forged = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    expectProblem(await sign({ csr: forged }), 400, 'validation-failed', ['body.csr']);
    expectProblem(await sign({ csr: await csrAsking(), spiffeId: 'spiffe://mesh.local/ns/x/sa/y' }), 400, 'validation-failed', ['body.spiffeId']);
    expect(await listCertificates(h.db)).toHaveLength(before);
  });
});
