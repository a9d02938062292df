/** The CA tables: authorities by state, the certificate inventory, supersession, and one CA for replicas starting together. */
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../test/support/test-db.ts';
import { activeSdsCertificates, inCaTransaction, insertAuthority, listAuthorities, listCertificates, recordCertificate, setAuthorityStatus, type NewAuthority, type NewCertificate } from './ca.ts';
import type { Db } from './db.ts';

const fixture = useTestDatabase(['certificates', 'ca_authorities']);
let db: Db;
beforeAll(() => {
  db = fixture.db;
});

const DAY = 86_400_000;
const authority = (over: Partial<NewAuthority> = {}): NewAuthority => ({
  role: 'root',
  source: 'generated',
  algorithm: 'ecdsa-p256',
  certPem: '-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n',
  sealedKey: 'v1.iv.data',
  notBefore: new Date('2026-01-01T00:00:00Z'),
  notAfter: new Date('2036-01-01T00:00:00Z'),
  ...over,
});
let serial = 0;
const cert = (namespace: string, service: string, over: Partial<NewCertificate> = {}): NewCertificate => ({
  namespace,
  service,
  spiffeId: `spiffe://mesh.local/ns/${namespace}/sa/${service}`,
  serial: (++serial).toString(16).padStart(32, '0'),
  issuerId: '00000000-0000-4000-8000-000000000001',
  channel: 'sds',
  certPem: 'pem',
  sealedKey: 'sealed',
  notBefore: new Date('2026-12-01T00:00:00Z'),
  notAfter: new Date(Date.parse('2026-12-01T00:00:00Z') + DAY),
  ...over,
});

describe('authorities', () => {
  it('lists them oldest first, by state', async () => {
    const root = await insertAuthority(db, authority());
    const inter = await insertAuthority(db, authority({ role: 'intermediate', parentId: root.id }));
    await setAuthorityStatus(db, root.id, 'retiring');
    expect((await listAuthorities(db)).map((a) => [a.role, a.status])).toEqual([['root', 'retiring'], ['intermediate', 'active']]);
    expect((await listAuthorities(db, ['active'])).map((a) => a.id)).toEqual([inter.id]);
    expect((await listAuthorities(db, ['active', 'retiring'])).map((a) => a.id)).toEqual([root.id, inter.id]);
  });

  it('refuses a role or state the CA does not know', async () => {
    await expect(insertAuthority(db, authority({ role: 'leaf' as 'root' }))).rejects.toThrow();
    const root = await insertAuthority(db, authority());
    await expect(setAuthorityStatus(db, root.id, 'gone' as 'retired')).rejects.toThrow();
  });

  it('replicas starting together create one CA: the lock makes the second see the first one\'s', async () => {
    const createIfNone = () =>
      inCaTransaction(db, async (tx) => {
        if ((await listAuthorities(tx, ['active'])).length > 0) return false;
        await new Promise((r) => setTimeout(r, 50));
        await insertAuthority(tx, authority());
        return true;
      });
    // PGlite runs one transaction at a time anyway; on PostgreSQL the advisory lock is what serialises them.
    const created = await Promise.all([createIfNone(), createIfNone(), createIfNone()]);
    expect(created.filter(Boolean)).toHaveLength(1);
    expect(await listAuthorities(db)).toHaveLength(1);
  });
});

describe('certificates', () => {
  it('a new SDS certificate supersedes the identity\'s active one; other identities and channels are left alone', async () => {
    const first = await recordCertificate(db, cert('shop', 'web'));
    const cart = await recordCertificate(db, cert('shop', 'cart'));
    await recordCertificate(db, cert('shop', 'web', { channel: 'csr', sealedKey: null }));
    const second = await recordCertificate(db, cert('shop', 'web'));
    const web = await listCertificates(db, { namespace: 'shop', service: 'web' });
    expect(web.map((c) => [c.serial, c.channel, c.status])).toEqual([
      [second.serial, 'sds', 'active'],
      [expect.any(String), 'csr', 'active'],
      [first.serial, 'sds', 'superseded'],
    ]);
    expect((await activeSdsCertificates(db)).map((c) => `${c.namespace}/${c.service} ${c.serial}`)).toEqual([`shop/cart ${cart.serial}`, `shop/web ${second.serial}`]);
  });

  it('filters by state and by expiry', async () => {
    await recordCertificate(db, cert('a', 'soon', { notAfter: new Date('2026-12-01T06:00:00Z') }));
    await recordCertificate(db, cert('a', 'later', { notAfter: new Date('2026-12-09T00:00:00Z') }));
    expect((await listCertificates(db, { expiringBy: new Date('2026-12-02T00:00:00Z') })).map((c) => c.service)).toEqual(['soon']);
    expect((await listCertificates(db, { status: 'superseded' }))).toEqual([]);
  });

  it('refuses a serial twice', async () => {
    const c = cert('a', 'b');
    await recordCertificate(db, c);
    await expect(recordCertificate(db, { ...c, channel: 'csr' })).rejects.toThrow();
  });
});
