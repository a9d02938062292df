/** The mesh CA over the registry: made once, loaded by every replica, issuing verifiable SVIDs into the inventory. */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { listAuthorities, listCertificates } from '../registry/ca.ts';
import type { Db } from '../registry/db.ts';
import { useTestDatabase } from '../../test/support/test-db.ts';
import { hasOpenssl, opensslVerify } from '../../test/support/openssl.ts';
import { DEVELOPMENT_SEALING_KEY, MeshCa, sealingKeyOf, type MeshCaOptions } from './mesh-ca.ts';
import { SealingKey } from './sealed-key.ts';

const fixture = useTestDatabase(['certificates', 'ca_authorities']);
let db: Db;
beforeAll(() => {
  db = fixture.db;
});

const options = (over: Partial<MeshCaOptions> = {}): MeshCaOptions => ({
  db,
  trustDomain: 'mesh.local',
  algorithm: 'ecdsa-p256',
  certTtlMs: 3_600_000,
  sealingKey: DEVELOPMENT_SEALING_KEY,
  ...over,
});
const open = async (over: Partial<MeshCaOptions> = {}) => {
  const ca = await MeshCa.open(options(over));
  if (!ca.ok) throw new Error(JSON.stringify(ca.issues));
  return ca.value;
};

describe('MeshCa.open', () => {
  it('creates a root and an intermediate on first start; later starts (other replicas) load the same', async () => {
    const first = await open();
    expect(first.inUse.map((a) => [a.role, a.source, a.status, a.algorithm])).toEqual([
      ['root', 'generated', 'active', 'ecdsa-p256'],
      ['intermediate', 'generated', 'active', 'ecdsa-p256'],
    ]);
    const [root, inter] = first.inUse;
    expect(inter!.parentId).toBe(root!.id);
    expect(new X509Certificate(inter!.certPem).checkIssued(new X509Certificate(root!.certPem))).toBe(true);
    const second = await open();
    expect(second.inUse.map((a) => a.id)).toEqual(first.inUse.map((a) => a.id));
    expect(await listAuthorities(db)).toHaveLength(2);
    expect(second.bundlePem()).toBe(root!.certPem.trim() + '\n');
  });

  it('replicas starting together make one CA', async () => {
    const cas = await Promise.all([open(), open(), open()]);
    expect(new Set(cas.map((c) => c.inUse[0]!.id)).size).toBe(1);
    expect(await listAuthorities(db)).toHaveLength(2);
  });

  it('keeps private keys sealed: no PEM key in the table, and another sealing key cannot open them', async () => {
    await open();
    for (const a of await listAuthorities(db)) expect(a.sealedKey).toMatch(/^v1\.[\w-]+\.[\w-]+$/);
    const other = await MeshCa.open(options({ sealingKey: new SealingKey(Buffer.alloc(32, 7).map((b, i) => b + i)) }));
    expect(other).toEqual({ ok: false, issues: [{ path: 'CA_KEY', message: expect.stringContaining('does not open') }] });
  });
});

describe('MeshCa.issue', () => {
  it('issues an X.509-SVID that chains to the trust bundle and records it', async () => {
    const ca = await open();
    const issued = await ca.issue('shop', 'web', 'cli');
    if (!issued.ok) throw new Error(JSON.stringify(issued.issues));
    const { row, keyPem, chainPem, bundlePem } = issued.value;
    const leaf = new X509Certificate(row.certPem);
    expect(leaf.subjectAltName).toBe('URI:spiffe://mesh.local/ns/shop/sa/web');
    expect(leaf.ca).toBe(false);
    expect(leaf.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    expect(Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)).toBeLessThanOrEqual(3_600_000 + 60_000);
    expect(chainPem.startsWith(row.certPem.trim())).toBe(true);
    if (hasOpenssl) expect(opensslVerify(bundlePem, chainPem, row.certPem)).toMatchObject({ ok: true });
    expect((await listCertificates(db)).map((c) => [c.namespace, c.service, c.channel, c.status, c.sealedKey])).toEqual([['shop', 'web', 'cli', 'active', null]]);
  });

  it('keeps the key of a certificate it serves itself (SDS) sealed with the certificate\'s serial', async () => {
    const ca = await open();
    const issued = await ca.issue('shop', 'web', 'sds');
    if (!issued.ok) throw new Error('not issued');
    const stored = issued.value.row.sealedKey!;
    expect(DEVELOPMENT_SEALING_KEY.open(stored, issued.value.row.serial)).toEqual({ ok: true, value: issued.value.keyPem });
    expect(DEVELOPMENT_SEALING_KEY.open(stored, 'another serial').ok).toBe(false);
  });

  it('refuses an identity that is no valid SPIFFE path', async () => {
    const ca = await open();
    const bad = await ca.issue('shop', 'we b', 'cli');
    expect(bad.ok).toBe(false);
    expect(await listCertificates(db)).toEqual([]);
  });
});

describe('sealingKeyOf', () => {
  it('production mode without a key is refused, naming the settings', () => {
    expect(sealingKeyOf({ mode: 'production' })).toEqual({ ok: false, issues: [{ path: 'CA_KEY', message: expect.stringContaining('CA_KEY_FILE') }] });
  });

  it('development mode without a key uses the built-in one, with a warning', () => {
    const got = sealingKeyOf({ mode: 'development' });
    expect(got).toEqual({ ok: true, value: { key: DEVELOPMENT_SEALING_KEY, warning: expect.stringContaining('no secret') } });
  });

  it('a given key wins in either mode; a bad one is an issue naming CA_KEY', () => {
    const hex = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 1)).toString('hex');
    const got = sealingKeyOf({ mode: 'production', caKey: hex });
    expect(got.ok && got.value.warning).toBeUndefined();
    expect(got.ok && got.value.key).toBeInstanceOf(SealingKey);
    expect(sealingKeyOf({ mode: 'development', caKey: 'short' })).toMatchObject({ ok: false, issues: [{ path: 'CA_KEY' }] });
  });
});
