/** Rotating the mesh CA with an overlap, retiring what nothing live needs any more, refusing a provided CA, and revoking an identity. */
import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { activeSdsCertificates, insertAuthority, listAuthorities, listCertificates } from '../registry/ca.ts';
import { changesSince, currentRevision } from '../registry/changes.ts';
import type { Db } from '../registry/db.ts';
import { useTestDatabase } from '../../test/support/test-db.ts';
import { hasOpenssl, must, opensslVerify } from '../../test/support/openssl.ts';
import { createIntermediateCa, createRootCa } from './authority.ts';
import { DEVELOPMENT_SEALING_KEY, MeshCa, type IssuedCertificate, type MeshCaOptions } from './mesh-ca.ts';
import { certificateBlocks } from './pem.ts';

const fixture = useTestDatabase(['certificates', 'ca_authorities']);
let db: Db;
beforeAll(() => {
  db = fixture.db;
});

const open = async (over: Partial<MeshCaOptions> = {}) =>
  must(await MeshCa.open({ db, trustDomain: 'mesh.local', algorithm: 'ecdsa-p256', certTtlMs: 3_600_000, sealingKey: DEVELOPMENT_SEALING_KEY, ...over }));
const issue = async (ca: MeshCa, service = 'web', channel: 'sds' | 'cli' = 'sds') => must(await ca.issue('shop', service, channel));

/** Whether a leaf's chain (leaf + intermediate) verifies against a bundle of roots: Node's checks, and openssl's when present. */
function verifies(bundlePem: string, { chainPem, row }: IssuedCertificate): boolean {
  const [leaf, inter] = certificateBlocks(chainPem).map((pem) => new X509Certificate(pem));
  const roots = certificateBlocks(bundlePem).map((pem) => new X509Certificate(pem));
  const node = leaf!.checkIssued(inter!) && leaf!.verify(inter!.publicKey) && roots.some((r) => inter!.checkIssued(r) && inter!.verify(r.publicKey));
  if (hasOpenssl) expect(opensslVerify(bundlePem, chainPem, row.certPem, 'sslclient').ok, 'openssl agrees with node').toBe(node);
  return node;
}

/** Role and status of each authority in use, oldest first. */
const shape = (ca: MeshCa) => ca.inUse.map((a) => `${a.role}:${a.status}`);
const signerOf = (issued: IssuedCertificate) => issued.row.issuerId;
const after = (issued: IssuedCertificate) => new Date(issued.row.notAfter.getTime() + 1000);

describe('MeshCa.rotate("intermediate")', () => {
  it('signs new leaves with a new intermediate under the same root; old leaves stay valid; the old intermediate retires when its leaves expire', async () => {
    const ca = await open();
    const bundle = ca.bundlePem();
    const old = await issue(ca);
    const rotated = must(await ca.rotate('intermediate'));
    expect(rotated.map((a) => `${a.role}:${a.status}`)).toEqual(['root:active', 'intermediate:retiring', 'intermediate:active']);
    expect(ca.bundlePem()).toBe(bundle);
    const fresh = await issue(ca, 'api');
    expect(signerOf(fresh)).toBe(rotated[2]!.id);
    expect(rotated[2]!.parentId).toBe(rotated[0]!.id);
    expect([verifies(ca.bundlePem(), old), verifies(ca.bundlePem(), fresh)]).toEqual([true, true]);

    expect(must(await ca.retireExpired())).toEqual([]);
    const retired = must(await ca.retireExpired(after(old)));
    expect(retired.map((a) => a.id)).toEqual([rotated[1]!.id]);
    expect(shape(ca)).toEqual(['root:active', 'intermediate:active']);
  });
});

describe('MeshCa.rotate("root")', () => {
  it('puts both roots in the bundle during the overlap, so leaves of either side verify; the old root leaves when its last leaf expires', async () => {
    const ca = await open();
    const [oldRoot, oldInter] = ca.inUse;
    const old = await issue(ca);
    const rev = await currentRevision(db);
    must(await ca.rotate('root'));
    expect(shape(ca)).toEqual(['root:retiring', 'intermediate:retiring', 'root:active', 'intermediate:active']);
    expect(await changesSince(db, rev)).toEqual([expect.objectContaining({ kind: 'ca', op: 'update', name: 'root' })]);
    const [newRoot, newInter] = ca.inUse.slice(2);
    expect(certificateBlocks(ca.bundlePem())).toEqual([oldRoot!.certPem, newRoot!.certPem]);

    const fresh = await issue(ca, 'api');
    expect(signerOf(fresh)).toBe(newInter!.id);
    expect(new X509Certificate(certificateBlocks(fresh.chainPem)[1]!).checkIssued(new X509Certificate(newRoot!.certPem))).toBe(true);
    expect(fresh.bundlePem).toBe(ca.bundlePem());
    expect([verifies(ca.bundlePem(), old), verifies(ca.bundlePem(), fresh)]).toEqual([true, true]);

    // Through the overlap nothing retires; after the old side's last leaf expired, the old root and intermediate go.
    expect(must(await ca.retireExpired(new Date(old.row.notAfter.getTime() - 1000)))).toEqual([]);
    const rev2 = await currentRevision(db);
    expect(must(await ca.retireExpired(after(old))).map((a) => a.role)).toEqual(['root', 'intermediate']);
    expect(await changesSince(db, rev2)).toEqual([expect.objectContaining({ kind: 'ca', name: 'retire' })]);
    expect(shape(ca)).toEqual(['root:active', 'intermediate:active']);
    expect(ca.bundlePem()).toBe(newRoot!.certPem);
    expect([verifies(ca.bundlePem(), old), verifies(ca.bundlePem(), fresh)]).toEqual([false, true]);
    expect((await listAuthorities(db, ['retired'])).map((a) => a.id)).toEqual([oldRoot!.id, oldInter!.id]);
  });

  it('retires an old root at once when its only leaves were revoked', async () => {
    const ca = await open();
    await issue(ca);
    must(await ca.rotate('root'));
    await ca.revokeIdentity('shop', 'web');
    expect(must(await ca.retireExpired()).map((a) => a.role)).toEqual(['root', 'intermediate']);
    expect(certificateBlocks(ca.bundlePem())).toHaveLength(1);
  });

  it('another replica sees the rotation after reload(), and issues under the new intermediate', async () => {
    const a = await open();
    const b = await open();
    must(await a.rotate('root'));
    expect(certificateBlocks(b.bundlePem())).toHaveLength(1);
    expect(must(await b.reload())).toBe(b);
    expect(b.inUse).toEqual(a.inUse);
    expect(b.bundlePem()).toBe(a.bundlePem());
    expect(signerOf(await issue(b))).toBe(a.inUse[3]!.id);
  });

  it('replicas rotating at once take turns under the CA lock: one active root and one active intermediate remain', async () => {
    const [a, b] = [await open(), await open()];
    const results = await Promise.all([a.rotate('root'), b.rotate('root')]);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    const active = await listAuthorities(db, ['active']);
    expect(active.map((x) => x.role)).toEqual(['root', 'intermediate']);
    expect(active[1]!.parentId).toBe(active[0]!.id);
    expect(await listAuthorities(db, ['retiring'])).toHaveLength(4);
  });
});

describe('rotating a provided CA', () => {
  /** A provided root whose key stays with its owner, and an intermediate it signed (provided too, or made by the mesh earlier). */
  async function providedRoot(interSource: 'provided' | 'generated') {
    const root = must(await createRootCa({ commonName: 'Corp Root', trustDomain: 'mesh.local', algorithm: 'ecdsa-p256' }));
    const inter = must(await createIntermediateCa(root, { commonName: 'Mesh', algorithm: 'ecdsa-p256' }));
    const fields = (ca: typeof root) => ({ algorithm: ca.algorithm, certPem: ca.certPem, notBefore: ca.notBefore, notAfter: ca.notAfter });
    const rootRow = await insertAuthority(db, { role: 'root', source: 'provided', sealedKey: null, ...fields(root) });
    await insertAuthority(db, { role: 'intermediate', source: interSource, sealedKey: DEVELOPMENT_SEALING_KEY.seal(inter.keyPem, inter.serial), parentId: rootRow.id, ...fields(inter) });
  }

  it.each(['provided', 'generated'] as const)('is refused (intermediate %s) with an issue saying to import the new CA, and changes nothing', async (interSource) => {
    await providedRoot(interSource);
    const ca = await open();
    const before = { authorities: await listAuthorities(db), revision: await currentRevision(db) };
    const refused = (pattern: RegExp) => ({ ok: false, issues: [{ path: 'kind', message: expect.stringMatching(pattern) }] });
    expect(await ca.rotate('root')).toEqual(refused(/root is a provided .*import the new CA/));
    expect(await ca.rotate('intermediate')).toEqual(refused(interSource === 'provided' ? /intermediate is a provided .*import/ : /root's key is not stored.*import/));
    expect({ authorities: await listAuthorities(db), revision: await currentRevision(db) }).toEqual(before);
  });
});

describe('MeshCa.revokeIdentity', () => {
  it("revokes every active certificate of the identity, hides it from activeSdsCertificates and records a change", async () => {
    const ca = await open();
    const sds = await issue(ca, 'web', 'sds');
    const cli = await issue(ca, 'web', 'cli');
    const other = await issue(ca, 'api', 'sds');
    const rev = await currentRevision(db);
    expect(await ca.revokeIdentity('shop', 'web')).toEqual([sds.row.serial, cli.row.serial].sort());
    expect((await activeSdsCertificates(db)).map((c) => c.serial)).toEqual([other.row.serial]);
    expect((await listCertificates(db, { service: 'web' })).map((c) => c.status)).toEqual(['revoked', 'revoked']);
    expect(await changesSince(db, rev)).toEqual([expect.objectContaining({ kind: 'certificate', op: 'update', namespace: 'shop', name: 'web' })]);

    expect(await ca.revokeIdentity('shop', 'web')).toEqual([]);
    expect(await currentRevision(db)).toBe(rev + 1);
    expect(await ca.revokeIdentity('shop', 'ghost')).toBeUndefined();
  });
});
