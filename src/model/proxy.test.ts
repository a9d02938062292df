import { describe, expect, it } from 'vitest';
import type { Result } from '../lib/result.ts';
import { localityKeys, proxyFromNode, ROLES, variantKeys, type NodeLike, type ProxyIdentity } from './proxy.ts';

const ROLE_ISSUE = { ok: false, issues: [{ path: 'node.metadata.role', message: `must be one of ${ROLES.join(', ')}` }] };

/** The identity of a node with id `n1`, with defaults; each case lists only what differs. */
const identity = (extra: Partial<ProxyIdentity> = {}): Result<ProxyIdentity> => ({
  ok: true,
  value: { id: 'n1', cluster: '', role: 'grpc', service: undefined, namespace: undefined, zone: undefined, userAgent: undefined, ...extra },
});

describe('proxyFromNode', () => {
  it.each<[string, NodeLike, Result<ProxyIdentity> | typeof ROLE_ISSUE]>([
    ['a bare node is a proxyless gRPC client', { id: 'n1' }, identity()],
    ['null metadata', { id: 'n1', metadata: null }, identity()],
    ['null role takes the default', { id: 'n1', metadata: { role: null } }, identity()],
    ['role gateway', { id: 'n1', metadata: { role: 'gateway' } }, identity({ role: 'gateway' })],
    ['role sidecar', { id: 'n1', metadata: { role: 'sidecar' } }, identity({ role: 'sidecar' })],
    ['role grpc', { id: 'n1', metadata: { role: 'grpc' } }, identity({ role: 'grpc' })],
    ['an unknown role', { id: 'n1', metadata: { role: 'router' } }, ROLE_ISSUE],
    ['roles are case-sensitive', { id: 'n1', metadata: { role: 'Gateway' } }, ROLE_ISSUE],
    ['an empty role', { id: 'n1', metadata: { role: '' } }, ROLE_ISSUE],
    ['a non-string role', { id: 'n1', metadata: { role: 1 } }, ROLE_ISSUE],
    ['a list role', { id: 'n1', metadata: { role: ['gateway'] } }, ROLE_ISSUE],
    ['a missing id', { metadata: { role: 'gateway' } }, { ok: false, issues: [{ path: 'node.id', message: 'is required' }] }],
    ['an empty id', { id: '', metadata: { role: 'nope' } }, { ok: false, issues: [{ path: 'node.id', message: 'is required' }] }],
    [
      'reads service, namespace, zone, cluster and user agent',
      {
        id: 'n1',
        cluster: 'cart',
        metadata: { role: 'sidecar', service: 'cart', namespace: 'shop' },
        locality: { zone: 'eu-1a' },
        userAgentName: 'envoy',
      },
      identity({ role: 'sidecar', cluster: 'cart', service: 'cart', namespace: 'shop', zone: 'eu-1a', userAgent: 'envoy' }),
    ],
    [
      'ignores non-string and empty metadata values',
      { id: 'n1', metadata: { service: 42, namespace: { name: 'shop' }, zone: 'metadata-is-not-locality', other: true } },
      identity(),
    ],
    ['ignores empty strings', { id: 'n1', metadata: { service: '', namespace: '' }, locality: { zone: '' }, userAgentName: '' }, identity()],
    ['a null locality', { id: 'n1', locality: null }, identity()],
  ])('%s', (_name, node, want) => {
    expect(proxyFromNode(node)).toEqual(want);
  });
});

describe('localityKeys', () => {
  it('zone first, then region; none without a locality', () => {
    expect(localityKeys({ region: 'eu', zone: 'eu-a' })).toEqual(['zone:eu/eu-a', 'region:eu']);
    expect(localityKeys({ zone: 'z1' })).toEqual(['zone:/z1', 'region:']);
    expect(localityKeys({})).toEqual([]);
  });

  it('reads region and zone from the node', () => {
    const got = proxyFromNode({ id: 'a', locality: { region: 'eu', zone: 'eu-a' } });
    expect(got.ok && [got.value.region, got.value.zone]).toEqual(['eu', 'eu-a']);
    const none = proxyFromNode({ id: 'a', locality: { region: '', zone: '' } });
    expect(none.ok && [none.value.region, none.value.zone]).toEqual([undefined, undefined]);
  });
});

describe('variantKeys', () => {
  const proxy = (over: Partial<ProxyIdentity>): ProxyIdentity => ({ id: 'p', cluster: '', role: 'sidecar', ...over });

  it('orders a proxy\'s keys from the most specific: identity with TLS, identity, TLS, then localities', () => {
    expect(variantKeys(proxy({ service: 'orders', namespace: 'shop', region: 'eu', zone: 'eu-a' }))).toEqual([
      'service:shop/orders+tls:sds',
      'service:shop/orders',
      'tls:sds',
      'zone:eu/eu-a',
      'region:eu',
    ]);
  });

  it('Envoy proxies do mTLS over SDS only with an identity; proxyless clients only when they announce the certificate provider', () => {
    expect(variantKeys(proxy({ role: 'gateway' }))).toEqual([]);
    expect(variantKeys(proxy({ role: 'grpc', service: 'web' }))).toEqual(['service:default/web']);
    expect(variantKeys(proxy({ role: 'grpc', service: 'web', mtls: true }))).toEqual(['service:default/web+tls:a29', 'service:default/web', 'tls:a29']);
    expect(variantKeys(proxy({ role: 'grpc', mtls: true }))).toEqual(['tls:a29']);
  });
});

describe('proxyFromNode: metadata.mtls', () => {
  it('reads true or "true" as a proxyless client with the mesh certificate provider', () => {
    for (const mtls of [true, 'true']) expect(proxyFromNode({ id: 'a', metadata: { mtls } })).toMatchObject({ ok: true, value: { mtls: true } });
    for (const mtls of [false, 'false', undefined]) expect(proxyFromNode({ id: 'a', metadata: { mtls } })).toMatchObject({ ok: true, value: { role: 'grpc' } });
    expect(proxyFromNode({ id: 'a', metadata: { mtls: false } })).not.toMatchObject({ value: { mtls: true } });
  });

  it('refuses anything else, naming the field', () => {
    expect(proxyFromNode({ id: 'a', metadata: { mtls: 'yes' } })).toEqual({ ok: false, issues: [{ path: 'node.metadata.mtls', message: 'must be true or false' }] });
  });
});
