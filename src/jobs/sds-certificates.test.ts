/**
 * The leader's SDS certificate job and the identities built from what it stores: a certificate per
 * service, renewed past half its life, its key opened only with the sealing key, delivered with a
 * chain that verifies against the trust bundle.
 */
import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { openTestCa } from '../../test/support/api.ts';
import { serviceInput } from '../../test/support/registry.ts';
import { useTestDatabase } from '../../test/support/test-db.ts';
import type { MeshCa } from '../ca/mesh-ca.ts';
import { SealingKey } from '../ca/sealed-key.ts';
import { DEVELOPMENT_SEALING_KEY } from '../ca/mesh-ca.ts';
import { activeSdsCertificates, listAuthorities } from '../registry/ca.ts';
import { currentRevision } from '../registry/changes.ts';
import type { Db } from '../registry/db.ts';
import { createService } from '../registry/services.ts';
import { loadRegistry } from '../registry/snapshot.ts';
import { IdentityOpener } from '../xds/identities.ts';
import { dueIdentities, renewalTime, startSdsCertificates } from './sds-certificates.ts';

const HOUR = 3_600_000;
const quiet = { info: () => {}, warn: () => {} };

describe('renewalTime', () => {
  it('falls between 50% and 60% of the lifetime, the same for the same serial, spread across serials', () => {
    const notBefore = new Date('2026-01-01T00:00:00Z');
    const notAfter = new Date(notBefore.getTime() + 24 * HOUR);
    const at = (serial: string) => (renewalTime({ serial, notBefore, notAfter }).getTime() - notBefore.getTime()) / HOUR;
    const times = Array.from({ length: 50 }, (_, i) => at(`serial-${i}`));
    for (const t of times) expect(t >= 12 && t < 14.4, String(t)).toBe(true);
    expect(at('serial-1')).toBe(at('serial-1'));
    expect(new Set(times.map((t) => t.toFixed(2))).size).toBeGreaterThan(40);
  });
});

describe('the SDS certificate job', () => {
  const fixture = useTestDatabase();
  let db: Db;
  let ca: MeshCa;
  let leader = true;
  let now = new Date();
  let job: ReturnType<typeof startSdsCertificates>;

  beforeAll(async () => {
    db = fixture.db;
    ca = await openTestCa(db);
    for (const name of ['orders', 'web']) expect((await createService(db, serviceInput(name, { namespace: 'shop' }))).ok).toBe(true);
    job = startSdsCertificates({ db, ca: () => ca, isLeader: () => leader, intervalMs: 3_600_000, now: () => now, log: quiet });
    return () => job.stop();
  });

  it('does nothing on a replica that does not lead', async () => {
    leader = false;
    expect(await job.runOnce()).toBe(0);
    expect(await activeSdsCertificates(db)).toEqual([]);
    leader = true;
  });

  it('issues one certificate per service that has none, and records one change for the batch', async () => {
    const before = await currentRevision(db);
    expect(await job.runOnce()).toBe(2);
    expect((await activeSdsCertificates(db)).map((c) => `${c.namespace}/${c.service}`)).toEqual(['shop/orders', 'shop/web']);
    expect(await currentRevision(db)).toBe(before + 1);
    expect(await job.runOnce()).toBe(0);
  });

  it('renews a certificate once it is past its renewal time, superseding the old one', async () => {
    const [first] = await activeSdsCertificates(db);
    now = new Date(first!.notBefore.getTime() + 0.61 * (first!.notAfter.getTime() - first!.notBefore.getTime()));
    expect((await dueIdentities(db, now)).map((d) => d.reason)).toEqual(['renewal', 'renewal']);
    expect(await job.runOnce()).toBe(2);
    const renewed = await activeSdsCertificates(db);
    expect(renewed.map((c) => c.serial)).not.toContain(first!.serial);
    now = new Date();
  });

  it('re-keys an identity whose certificate was revoked', async () => {
    const revoked = await ca.revokeIdentity('shop', 'web');
    expect(revoked).toHaveLength(1);
    expect((await dueIdentities(db, now)).map((d) => `${d.namespace}/${d.name} ${d.reason}`)).toEqual(['shop/web missing']);
    expect(await job.runOnce()).toBe(1);
    expect((await activeSdsCertificates(db)).find((c) => c.service === 'web')!.serial).not.toBe(revoked![0]);
  });

  it('follows a rotation made on another replica: the next certificates come from the new intermediate', async () => {
    const other = await openTestCa(db);
    const rotated = await other.rotate('intermediate');
    expect(rotated.ok).toBe(true);
    const newIntermediate = (await listAuthorities(db, ['active'])).find((a) => a.role === 'intermediate')!;
    await ca.revokeIdentity('shop', 'orders');
    expect(await job.runOnce()).toBe(1);
    expect((await activeSdsCertificates(db)).find((c) => c.service === 'orders')!.issuerId).toBe(newIntermediate.id);
  });

  it('its certificates open into identities whose chain verifies against the trust bundle and names the service', async () => {
    const registry = await loadRegistry(db);
    const opened = new IdentityOpener(DEVELOPMENT_SEALING_KEY).open(registry.authorities, registry.certificates);
    expect(opened.problems).toEqual([]);
    expect([...opened.byService.keys()]).toEqual(['shop/orders', 'shop/web']);
    const orders = opened.byService.get('shop/orders')!;
    const [leaf, intermediate] = orders.chainPem.split(/(?<=-----END CERTIFICATE-----\n?)/).filter((b) => b.trim()).map((b) => new X509Certificate(b));
    const root = new X509Certificate(opened.bundlePem);
    expect(leaf!.subjectAltName).toBe('URI:spiffe://mesh.local/ns/shop/sa/orders');
    expect(leaf!.verify(intermediate!.publicKey)).toBe(true);
    expect(intermediate!.verify(root.publicKey)).toBe(true);
    expect(leaf!.checkPrivateKey((await import('node:crypto')).createPrivateKey(orders.keyPem))).toBe(true);
  });

  it('opens each key once, and leaves out, naming them, certificates whose key does not open', async () => {
    const registry = await loadRegistry(db);
    const opener = new IdentityOpener(DEVELOPMENT_SEALING_KEY);
    const first = opener.open(registry.authorities, registry.certificates).byService.get('shop/orders');
    expect(opener.open(registry.authorities, registry.certificates).byService.get('shop/orders')).toBe(first);
    const wrong = new IdentityOpener(new SealingKey(Buffer.alloc(32, 7))).open(registry.authorities, registry.certificates);
    expect(wrong.byService.size).toBe(0);
    expect(wrong.problems).toHaveLength(2);
    expect(wrong.problems[0]).toMatch(/^certificate \S+ of shop\/orders: does not open/);
    expect(wrong.bundlePem).toBe(opener.open(registry.authorities, registry.certificates).bundlePem);
  });
});
