/** The pure parts of xDS authentication: loopback peers, SPIFFE IDs, and which identity a credential lets a node claim. */
import { describe, expect, it } from 'vitest';
import type { ProxyIdentity } from '../../model/proxy.ts';
import { credentialRefusal, identityOfSpiffeId, isLoopback, meshAuthenticator, type PeerInfo } from './auth.ts';

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1:5000', true],
    ['127.10.0.3:1', true],
    ['::1:5000', true],
    ['[::1]:5000', true],
    ['::ffff:127.0.0.1:5000', true],
    ['10.0.0.1:5000', false],
    ['::ffff:10.0.0.1:5000', false],
    ['1270.0.0.1:5000', false],
    ['fe80::1:5000', false],
    ['unix:/tmp/s', false],
  ])('%s → %s', (address, want) => {
    expect(isLoopback(address)).toBe(want);
  });
});

describe('identityOfSpiffeId', () => {
  it.each([
    ['spiffe://mesh.local/ns/shop/sa/web', { namespace: 'shop', service: 'web' }],
    ['spiffe://other.org/ns/shop/sa/web', undefined],
    ['spiffe://mesh.local/ns/shop/sa/web/extra', undefined],
    ['spiffe://mesh.local/ns/shop', undefined],
    ['https://mesh.local/ns/shop/sa/web', undefined],
  ])('%s', (uri, want) => {
    expect(identityOfSpiffeId(uri, 'mesh.local')).toEqual(want);
  });
});

describe('credentialRefusal', () => {
  const proxy = (over: Partial<ProxyIdentity>): ProxyIdentity => ({ id: 'p-1', cluster: '', role: 'sidecar', ...over });
  const shopWeb = { namespace: 'shop', service: 'web', source: 'token t1', tokenId: 't1' };

  it.each<[string, Partial<ProxyIdentity>, Parameters<typeof credentialRefusal>[1], string | undefined]>([
    ['no credential: no check', { service: 'x' }, undefined, undefined],
    ['loopback: no check', {}, 'loopback', undefined],
    ['the same identity', { namespace: 'shop', service: 'web' }, shopWeb, undefined],
    ['the default namespace when the node names none', { service: 'web' }, { ...shopWeb, namespace: 'default' }, undefined],
    ['another service', { namespace: 'shop', service: 'db' }, shopWeb, 'node p-1 claims shop/db but its credential (token t1) is for shop/web'],
    ['another namespace', { service: 'web' }, shopWeb, 'node p-1 claims default/web but its credential (token t1) is for shop/web'],
    ['no service at all', { role: 'gateway' }, shopWeb, 'node p-1 claims no service but its credential (token t1) is for shop/web'],
  ])('%s', (_name, over, credential, want) => {
    expect(credentialRefusal(proxy(over), credential)).toBe(want);
  });
});

describe('meshAuthenticator', () => {
  const auth = (mode: 'required' | 'loopback-plaintext') =>
    meshAuthenticator({
      mode,
      trustDomain: 'mesh.local',
      verifyToken: async (token) => (token === 'apg_good' ? { tokenId: 't1', namespace: 'shop', service: 'web' } : undefined),
      stillValid: async () => new Set(),
    });
  const peer = (over: Partial<PeerInfo>): PeerInfo => ({ address: '10.0.0.5:4000', ...over });

  it.each<[string, 'required' | 'loopback-plaintext', Partial<PeerInfo>, unknown]>([
    ['a valid token', 'required', { authorization: 'Bearer apg_good' }, { ok: true, credential: { namespace: 'shop', service: 'web', source: 'token t1', tokenId: 't1' } }],
    ['the scheme in any case', 'required', { authorization: 'bearer apg_good' }, { ok: true }],
    ['an unknown token', 'required', { authorization: 'Bearer apg_bad' }, { ok: false, code: 16 }],
    ['another scheme', 'required', { authorization: 'Basic apg_good' }, { ok: false, code: 16 }],
    ['a verified certificate', 'required', { certificateUri: 'spiffe://mesh.local/ns/a/sa/b' }, { ok: true, credential: { namespace: 'a', service: 'b', source: 'certificate spiffe://mesh.local/ns/a/sa/b' } }],
    ['a certificate of another trust domain', 'required', { certificateUri: 'spiffe://x.org/ns/a/sa/b' }, { ok: false, code: 16 }],
    ['nothing, remote', 'required', {}, { ok: false, code: 16 }],
    ['nothing, loopback, required', 'required', { address: '127.0.0.1:1' }, { ok: false, code: 16 }],
    ['nothing, loopback, loopback-plaintext', 'loopback-plaintext', { address: '127.0.0.1:1' }, { ok: true, credential: 'loopback' }],
    ['nothing, remote, loopback-plaintext', 'loopback-plaintext', {}, { ok: false, code: 16 }],
    ['a bad token from loopback', 'loopback-plaintext', { address: '::1:1', authorization: 'Bearer apg_bad' }, { ok: false, code: 16 }],
  ])('%s (%s)', async (_name, mode, over, want) => {
    expect(await auth(mode).authenticate(peer(over))).toMatchObject(want as object);
  });
});
