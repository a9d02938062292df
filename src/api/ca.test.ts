/** The CA over REST: the trust bundle and authorities, issuing a certificate with its key, the inventory. */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiHarness, expectProblem, type ApiHarness } from '../../test/support/api.ts';
import { hasOpenssl, opensslVerify } from '../../test/support/openssl.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await apiHarness();
  await h.service({ namespace: 'shop', name: 'web', port: 8080 });
});
afterAll(async () => h?.close());

describe('GET /api/v1/ca/roots', () => {
  it('answers the trust domain, the bundle of roots and every CA certificate in use', async () => {
    const res = await h.call('GET', '/api/v1/ca/roots');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.trustDomain).toBe('mesh.local');
    expect(body.authorities.map((a: any) => [a.role, a.source, a.status, a.algorithm])).toEqual([
      ['root', 'generated', 'active', 'ecdsa-p256'],
      ['intermediate', 'generated', 'active', 'ecdsa-p256'],
    ]);
    const [root, inter] = body.authorities.map((a: any) => new X509Certificate(a.certPem));
    expect(new X509Certificate(body.bundlePem).fingerprint256).toBe(root.fingerprint256);
    expect(body.authorities[0].fingerprintSha256).toBe(root.fingerprint256.replaceAll(':', '').toLowerCase());
    expect(inter.checkIssued(root)).toBe(true);
    expect(JSON.stringify(body)).not.toMatch(/PRIVATE KEY|sealed/i);
  });
});

describe('POST /api/v1/certificates', () => {
  it('issues an SVID with its key, chain and bundle for an existing service, and lists it without its key', async () => {
    const res = await h.call('POST', '/api/v1/certificates', { namespace: 'shop', service: 'web' });
    expect(res.statusCode, res.body).toBe(201);
    const { certificate, certPem, keyPem, chainPem, bundlePem } = res.json();
    const leaf = new X509Certificate(certPem);
    expect(leaf.subjectAltName).toBe('URI:spiffe://mesh.local/ns/shop/sa/web');
    expect(leaf.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    if (hasOpenssl) expect(opensslVerify(bundlePem, chainPem, certPem, 'sslclient')).toMatchObject({ ok: true });
    expect(certificate).toMatchObject({ namespace: 'shop', service: 'web', spiffeId: 'spiffe://mesh.local/ns/shop/sa/web', channel: 'cli', status: 'active' });
    expect(certificate.serial).toBe(leaf.serialNumber.toLowerCase());

    const listed = (await h.call('GET', '/api/v1/certificates?namespace=shop&service=web')).json();
    expect(listed).toEqual({ items: [certificate], truncated: false });
    expect((await h.call('GET', '/api/v1/certificates?expiringWithinHours=25')).json().items).toHaveLength(1);
    expect((await h.call('GET', '/api/v1/certificates?expiringWithinHours=0')).json().items).toEqual([]);
    expect((await h.call('GET', '/api/v1/certificates?status=revoked')).json().items).toEqual([]);
  });

  it('cuts the list at the limit and says so', async () => {
    for (let i = 0; i < 2; i++) expect((await h.call('POST', '/api/v1/certificates', { namespace: 'shop', service: 'web' })).statusCode).toBe(201);
    const one = (await h.call('GET', '/api/v1/certificates?limit=1')).json();
    expect(one.items).toHaveLength(1);
    expect(one.truncated).toBe(true);
    expect((await h.call('GET', '/api/v1/certificates?limit=1000')).json().truncated).toBe(false);
    expectProblem(await h.call('GET', '/api/v1/certificates?limit=0'), 400, 'validation-failed', ['query.limit']);
    expectProblem(await h.call('GET', '/api/v1/certificates?limit=1001'), 400, 'validation-failed', ['query.limit']);
  });

  it('answers a dry run with the identity it would issue for, issuing nothing', async () => {
    const before = (await h.call('GET', '/api/v1/certificates')).json().items.length;
    const res = await h.call('POST', '/api/v1/certificates?dryRun=true', { namespace: 'shop', service: 'web' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      dryRun: true,
      certificate: { namespace: 'shop', service: 'web', spiffeId: 'spiffe://mesh.local/ns/shop/sa/web', channel: 'cli' },
      changes: [],
      issues: [],
    });
    expectProblem(await h.call('POST', '/api/v1/certificates?dryRun=true', { namespace: 'shop', service: 'ghost' }), 404, 'not-found');
    expect((await h.call('GET', '/api/v1/certificates')).json().items).toHaveLength(before);
  });

  it('refuses a service that does not exist (404), a bad name (400 naming it) and unknown fields, issuing nothing', async () => {
    const before = (await h.call('GET', '/api/v1/certificates')).json().items.length;
    expectProblem(await h.call('POST', '/api/v1/certificates', { namespace: 'shop', service: 'ghost' }), 404, 'not-found');
    expectProblem(await h.call('POST', '/api/v1/certificates', { namespace: 'shop', service: 'Web_1' }), 400, 'validation-failed', ['body.service']);
    expectProblem(await h.call('POST', '/api/v1/certificates', { service: 'web', spiffeId: 'spiffe://evil/x' }), 400, 'validation-failed', ['body.spiffeId']);
    expectProblem(await h.call('GET', '/api/v1/certificates?expiringWithinHours=-1'), 400, 'validation-failed', ['query.expiringWithinHours']);
    expect((await h.call('GET', '/api/v1/certificates')).json().items).toHaveLength(before);
  });
});
