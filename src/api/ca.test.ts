/** The CA over REST: the trust bundle and authorities, issuing a certificate with its key, the inventory, rotation and revocation. */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiHarness, expectProblem, type ApiHarness } from '../../test/support/api.ts';
import { hasOpenssl, opensslVerify } from '../../test/support/openssl.ts';
import { activeSdsCertificates } from '../registry/ca.ts';
import { currentRevision } from '../registry/changes.ts';

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

describe('POST /api/v1/ca/rotate', () => {
  it('answers a dry run with the authorities it would leave in use, rotating nothing', async () => {
    const before = { roots: (await h.call('GET', '/api/v1/ca/roots')).json(), revision: await currentRevision(h.db) };
    const res = await h.call('POST', '/api/v1/ca/rotate?dryRun=true', { kind: 'intermediate' });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ dryRun: true, changes: [], issues: [] });
    expect(body.authorities.map((a: any) => `${a.role}:${a.status}`)).toEqual(['root:active', 'intermediate:retiring', 'intermediate:active']);
    expect({ roots: (await h.call('GET', '/api/v1/ca/roots')).json(), revision: await currentRevision(h.db) }).toEqual(before);
  });

  it('rotates the root: answers both roots in the bundle and the old authorities retiring; new certificates chain to the new intermediate; the revision moves', async () => {
    const old = (await h.call('POST', '/api/v1/certificates', { namespace: 'shop', service: 'web' })).json();
    const rev = await currentRevision(h.db);
    const res = await h.call('POST', '/api/v1/ca/rotate', { kind: 'root' });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.authorities.map((a: any) => `${a.role}:${a.status}`)).toEqual(['root:retiring', 'intermediate:retiring', 'root:active', 'intermediate:active']);
    expect(body.bundlePem).toBe(body.authorities[0].certPem + body.authorities[2].certPem);
    expect((await h.call('GET', '/api/v1/ca/roots')).json()).toEqual(body);
    expect(await currentRevision(h.db)).toBe(rev + 1);

    const fresh = (await h.call('POST', '/api/v1/certificates', { namespace: 'shop', service: 'web' })).json();
    const newInter = new X509Certificate(body.authorities[3].certPem);
    expect(new X509Certificate(fresh.certPem).checkIssued(newInter)).toBe(true);
    if (hasOpenssl) {
      for (const c of [old, fresh]) expect(opensslVerify(body.bundlePem, c.chainPem, c.certPem, 'sslclient')).toMatchObject({ ok: true });
    }
  });

  it('answers 400 naming the field for a bad or missing kind and unknown fields, rotating nothing', async () => {
    const before = (await h.call('GET', '/api/v1/ca/roots')).json();
    expectProblem(await h.call('POST', '/api/v1/ca/rotate', { kind: 'leaf' }), 400, 'validation-failed', ['body.kind']);
    expectProblem(await h.call('POST', '/api/v1/ca/rotate', {}), 400, 'validation-failed', ['body.kind']);
    expectProblem(await h.call('POST', '/api/v1/ca/rotate', { kind: 'root', overlapHours: 2 }), 400, 'validation-failed', ['body.overlapHours']);
    expect((await h.call('GET', '/api/v1/ca/roots')).json()).toEqual(before);
  });
});

describe('POST /api/v1/certificates/revoke', () => {
  it("revokes the identity's active certificates and answers their serials; they leave the SDS set", async () => {
    const issued = (await h.call('POST', '/api/v1/certificates', { namespace: 'shop', service: 'web' })).json();
    const active = (await h.call('GET', '/api/v1/certificates?namespace=shop&service=web&status=active')).json().items.map((c: any) => c.serial);
    expect(active).toContain(issued.certificate.serial);
    const rev = await currentRevision(h.db);
    const res = await h.call('POST', '/api/v1/certificates/revoke', { namespace: 'shop', service: 'web' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ revoked: [...active].sort() });
    expect(await currentRevision(h.db)).toBe(rev + 1);
    expect((await h.call('GET', '/api/v1/certificates?namespace=shop&service=web&status=active')).json().items).toEqual([]);
    expect((await activeSdsCertificates(h.db)).filter((c) => c.service === 'web')).toEqual([]);
    expect((await h.call('POST', '/api/v1/certificates/revoke', { namespace: 'shop', service: 'web' })).json()).toEqual({ revoked: [] });
  });

  it('answers a dry run with the serials it would revoke, revoking nothing', async () => {
    const issued = (await h.call('POST', '/api/v1/certificates', { namespace: 'shop', service: 'web' })).json();
    const rev = await currentRevision(h.db);
    const res = await h.call('POST', '/api/v1/certificates/revoke?dryRun=true', { namespace: 'shop', service: 'web' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ dryRun: true, revoked: [issued.certificate.serial], changes: [], issues: [] });
    expect(await currentRevision(h.db)).toBe(rev);
    expect((await h.call('GET', '/api/v1/certificates?namespace=shop&service=web&status=active')).json().items).toHaveLength(1);
  });

  it('answers 404 for an identity with no certificates and 400 naming the field for a bad body', async () => {
    expectProblem(await h.call('POST', '/api/v1/certificates/revoke', { namespace: 'shop', service: 'ghost' }), 404, 'not-found');
    expectProblem(await h.call('POST', '/api/v1/certificates/revoke', { namespace: 'shop', service: 'Web_1' }), 400, 'validation-failed', ['body.service']);
    expectProblem(await h.call('POST', '/api/v1/certificates/revoke', { service: 'web' }), 400, 'validation-failed', ['body.namespace']);
    expectProblem(await h.call('POST', '/api/v1/certificates/revoke', { namespace: 'shop', service: 'web', serial: 'x' }), 400, 'validation-failed', ['body.serial']);
  });
});
