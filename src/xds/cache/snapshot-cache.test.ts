import { describe, expect, it, vi } from 'vitest';
import type { Role } from '../../model/proxy.ts';
import { PUSH_ORDER, TYPE_URLS, type TypeUrl } from '../../protos/type-urls.ts';
import type { CachedResource } from './resource.ts';
import { diffSnapshots, emptySnapshot, SnapshotCache, type ChangedNames, type Snapshot } from './snapshot-cache.ts';

const C = TYPE_URLS.cluster;
const E = TYPE_URLS.endpoint;
const L = TYPE_URLS.listener;
const ALL: Role[] = ['grpc', 'gateway', 'sidecar'];

/** A cached resource whose content is stood for by `version`. */
function res(typeUrl: TypeUrl, name: string, version = 'v1', roles: Role[] = ALL): CachedResource {
  return { name, typeUrl, version, encoded: new Uint8Array(), any: new Uint8Array(), sotwEntry: new Uint8Array(), deltaHead: new Uint8Array(), roles: new Set(roles) };
}
/** A cached resource that only proxies of the service `owner` (`<namespace>/<name>`) may see, sidecars unless `roles` says otherwise. */
function owned(typeUrl: TypeUrl, name: string, owner: string, version = 'v1', roles: Role[] = ['sidecar']): CachedResource {
  return { ...res(typeUrl, name, version, roles), owner };
}
/** A snapshot holding the given resources (types not listed are empty). */
function snap(resources: CachedResource[], revision = 1): Snapshot {
  const byType = new Map<TypeUrl, Map<string, CachedResource>>(PUSH_ORDER.map((t) => [t, new Map()]));
  for (const r of resources) byType.get(r.typeUrl)!.set(r.name, r);
  return { revision, resources: byType };
}
/** ChangedNames as a plain object, for readable comparisons. */
function plain(changed: ChangedNames): Record<string, string[]> {
  return Object.fromEntries([...changed].map(([t, names]) => [t, [...names].sort()]));
}

describe('emptySnapshot', () => {
  it('has every type, in push order, with no resources', () => {
    const s = emptySnapshot(3);
    expect(s.revision).toBe(3);
    expect([...s.resources.keys()]).toEqual([C, E, L, TYPE_URLS.route, TYPE_URLS.secret]);
    for (const m of s.resources.values()) expect(m.size).toBe(0);
  });
});

describe('diffSnapshots', () => {
  const a = res(C, 'a');
  const cases: { name: string; prev: CachedResource[]; next: CachedResource[]; want: Record<string, string[]> }[] = [
    { name: 'nothing to nothing', prev: [], next: [], want: {} },
    { name: 'the same objects', prev: [a, res(E, 'a')], next: [a, res(E, 'a')], want: {} },
    { name: 'other objects, same version and roles', prev: [res(C, 'a')], next: [res(C, 'a')], want: {} },
    { name: 'roles in another order', prev: [res(C, 'a', 'v1', ['grpc', 'gateway'])], next: [res(C, 'a', 'v1', ['gateway', 'grpc'])], want: {} },
    { name: 'added', prev: [], next: [res(C, 'a'), res(C, 'b')], want: { [C]: ['a', 'b'] } },
    { name: 'changed', prev: [res(C, 'a'), res(C, 'b')], next: [res(C, 'a', 'v2'), res(C, 'b')], want: { [C]: ['a'] } },
    { name: 'removed', prev: [res(C, 'a'), res(C, 'b')], next: [res(C, 'b')], want: { [C]: ['a'] } },
    { name: 'visibility narrowed', prev: [res(L, 'l')], next: [res(L, 'l', 'v1', ['grpc'])], want: { [L]: ['l'] } },
    { name: 'visibility swapped, same count', prev: [res(L, 'l', 'v1', ['grpc'])], next: [res(L, 'l', 'v1', ['gateway'])], want: { [L]: ['l'] } },
    { name: 'same owner, other objects', prev: [owned(L, 'in', 'shop/web')], next: [owned(L, 'in', 'shop/web')], want: {} },
    { name: 'owner given (same version and roles)', prev: [res(L, 'in', 'v1', ['sidecar'])], next: [owned(L, 'in', 'shop/web')], want: { [L]: ['in'] } },
    { name: 'owner changed (same version and roles)', prev: [owned(C, 'in', 'shop/web')], next: [owned(C, 'in', 'shop/db')], want: { [C]: ['in'] } },
    { name: 'owner dropped (same version and roles)', prev: [owned(C, 'in', 'shop/web')], next: [res(C, 'in', 'v1', ['sidecar'])], want: { [C]: ['in'] } },
    {
      name: 'per type: a name is only reported under its own type',
      prev: [res(C, 'x'), res(E, 'x')],
      next: [res(C, 'x'), res(E, 'x', 'v2'), res(L, 'x')],
      want: { [E]: ['x'], [L]: ['x'] },
    },
  ];
  it.each(cases)('$name', ({ prev, next, want }) => {
    expect(plain(diffSnapshots(snap(prev), snap(next)))).toEqual(want);
  });

  it('treats a type missing from a snapshot as empty', () => {
    const partial: Snapshot = { revision: 2, resources: new Map([[C, new Map([['a', res(C, 'a')]])]]) };
    expect(plain(diffSnapshots(snap([res(E, 'e')]), partial))).toEqual({ [C]: ['a'], [E]: ['e'] });
  });
});

describe('SnapshotCache.publish', () => {
  it('is not ready until the first publish, even of an empty snapshot', () => {
    const cache = new SnapshotCache();
    expect(cache.ready).toBe(false);
    cache.publish(emptySnapshot(1));
    expect(cache.ready).toBe(true);
  });

  it('tells watchers what changed, per type, and returns the same', () => {
    const cache = new SnapshotCache();
    const watcher = vi.fn();
    cache.watch(watcher);
    const first = snap([res(C, 'a'), res(E, 'a'), res(L, 'l', 'v1', ['grpc'])], 1);
    expect(plain(cache.publish(first))).toEqual({ [C]: ['a'], [E]: ['a'], [L]: ['l'] });
    expect(watcher).toHaveBeenCalledTimes(1);
    expect(watcher.mock.calls[0]![0]).toBe(first);
    expect(plain(watcher.mock.calls[0]![1] as ChangedNames)).toEqual({ [C]: ['a'], [E]: ['a'], [L]: ['l'] });

    // added b, changed a's endpoints, removed nothing, l now visible to gateways too
    const second = snap([res(C, 'a'), res(C, 'b'), res(E, 'a', 'v2'), res(L, 'l', 'v1', ['grpc', 'gateway'])], 2);
    cache.publish(second);
    expect(watcher).toHaveBeenCalledTimes(2);
    expect(plain(watcher.mock.calls[1]![1] as ChangedNames)).toEqual({ [C]: ['b'], [E]: ['a'], [L]: ['l'] });
    expect(cache.current).toBe(second);
  });

  it('does not tell watchers when nothing changed, but still takes the new snapshot', () => {
    const cache = new SnapshotCache();
    cache.publish(snap([res(C, 'a')], 1));
    const watcher = vi.fn();
    cache.watch(watcher);
    const same = snap([res(C, 'a')], 2);
    expect(cache.publish(same).size).toBe(0);
    expect(watcher).not.toHaveBeenCalled();
    expect(cache.current.revision).toBe(2);
  });

  it('reports removals', () => {
    const cache = new SnapshotCache();
    cache.publish(snap([res(C, 'a'), res(C, 'b')]));
    const watcher = vi.fn();
    cache.watch(watcher);
    cache.publish(snap([res(C, 'b')]));
    expect(plain(watcher.mock.calls[0]![1] as ChangedNames)).toEqual({ [C]: ['a'] });
  });

  it('tells every watcher, and stops telling one that was removed', () => {
    const cache = new SnapshotCache();
    const kept = vi.fn();
    const removed = vi.fn();
    cache.watch(kept);
    const unwatch = cache.watch(removed);
    cache.publish(snap([res(C, 'a')]));
    unwatch();
    cache.publish(snap([res(C, 'a', 'v2')]));
    expect(kept).toHaveBeenCalledTimes(2);
    expect(removed).toHaveBeenCalledTimes(1);
  });
});

describe('SnapshotCache visibility', () => {
  const cache = new SnapshotCache();
  cache.publish(
    snap([
      res(C, 'a'),
      res(C, 'b'),
      res(L, 'api', 'v1', ['grpc']),
      res(L, 'gateway', 'v1', ['gateway']),
      res(TYPE_URLS.route, 'gateway', 'v1', ['gateway']),
    ]),
  );
  const names = (rs: readonly CachedResource[]) => rs.map((r) => r.name);

  const cases: { role: Role; clusters: string[]; listeners: string[]; routes: string[] }[] = [
    { role: 'grpc', clusters: ['a', 'b'], listeners: ['api'], routes: [] },
    { role: 'gateway', clusters: ['a', 'b'], listeners: ['gateway'], routes: ['gateway'] },
    { role: 'sidecar', clusters: ['a', 'b'], listeners: [], routes: [] },
  ];
  it.each(cases)('visible() to $role', ({ role, clusters, listeners, routes }) => {
    expect(names(cache.visible(C, role))).toEqual(clusters);
    expect(names(cache.visible(L, role))).toEqual(listeners);
    expect(names(cache.visible(TYPE_URLS.route, role))).toEqual(routes);
    expect(cache.visible(TYPE_URLS.secret, role)).toEqual([]);
  });

  const gets: [TypeUrl, string, Role, boolean][] = [
    [L, 'api', 'grpc', true],
    [L, 'api', 'gateway', false],
    [L, 'api', 'sidecar', false],
    [L, 'gateway', 'gateway', true],
    [L, 'gateway', 'grpc', false],
    [C, 'a', 'sidecar', true],
    [C, 'missing', 'grpc', false],
    [E, 'a', 'grpc', false],
  ];
  it.each(gets)('get(%s, %s) as %s → %s', (typeUrl, name, role, found) => {
    const got = cache.get(typeUrl, name, role);
    if (found) expect(got).toBe(cache.current.resources.get(typeUrl)!.get(name));
    else expect(got).toBeUndefined();
  });

  it('returns the cached objects themselves, not copies', () => {
    expect(cache.visible(C, 'grpc')[0]).toBe(cache.current.resources.get(C)!.get('a'));
  });
});

describe('SnapshotCache visibility by owner (per-service sidecar views)', () => {
  const cache = new SnapshotCache();
  cache.publish(
    snap([
      res(C, 'a'),
      owned(C, 'inbound:web.shop', 'shop/web'),
      owned(C, 'inbound:db.shop', 'shop/db'),
      res(L, 'virtualOutbound', 'v1', ['sidecar']),
      owned(L, 'inbound:web.shop', 'shop/web'),
      owned(L, 'inbound:db.shop', 'shop/db'),
      // owned, but for grpc clients: the role must match as well as the owner
      owned(L, 'api:web.shop', 'shop/web', 'v1', ['grpc']),
    ]),
  );
  const names = (rs: readonly CachedResource[]) => rs.map((r) => r.name);

  const cases: { role: Role; service?: string; clusters: string[]; listeners: string[] }[] = [
    { role: 'sidecar', clusters: ['a'], listeners: ['virtualOutbound'] },
    { role: 'sidecar', service: 'shop/web', clusters: ['a', 'inbound:web.shop'], listeners: ['inbound:web.shop', 'virtualOutbound'] },
    { role: 'sidecar', service: 'shop/db', clusters: ['a', 'inbound:db.shop'], listeners: ['inbound:db.shop', 'virtualOutbound'] },
    { role: 'sidecar', service: 'other/web', clusters: ['a'], listeners: ['virtualOutbound'] },
    { role: 'grpc', clusters: ['a'], listeners: [] },
    { role: 'grpc', service: 'shop/web', clusters: ['a'], listeners: ['api:web.shop'] },
    { role: 'gateway', service: 'shop/web', clusters: ['a'], listeners: [] },
  ];
  it.each(cases.map((c) => [`${c.role}${c.service ? ` of ${c.service}` : ''}`, c] as const))('visible() to %s', (_, { role, service, clusters, listeners }) => {
    expect(names(cache.visible(C, role, service))).toEqual(clusters);
    expect(names(cache.visible(L, role, service))).toEqual(listeners);
  });

  const gets: [TypeUrl, string, Role, string | undefined, boolean][] = [
    [L, 'inbound:web.shop', 'sidecar', 'shop/web', true],
    [L, 'inbound:web.shop', 'sidecar', 'shop/db', false],
    [L, 'inbound:web.shop', 'sidecar', undefined, false],
    [L, 'inbound:web.shop', 'grpc', 'shop/web', false],
    [C, 'inbound:db.shop', 'sidecar', 'shop/db', true],
    [C, 'inbound:db.shop', 'sidecar', 'shop/web', false],
    [L, 'api:web.shop', 'grpc', 'shop/web', true],
    [L, 'api:web.shop', 'sidecar', 'shop/web', false],
    [L, 'virtualOutbound', 'sidecar', 'shop/web', true],
    [L, 'virtualOutbound', 'sidecar', undefined, true],
    [C, 'a', 'gateway', 'shop/db', true],
  ];
  it.each(gets)('get(%s, %s) as %s of %s → %s', (typeUrl, name, role, service, found) => {
    const got = cache.get(typeUrl, name, role, service);
    if (found) expect(got).toBe(cache.current.resources.get(typeUrl)!.get(name));
    else expect(got).toBeUndefined();
  });

  it('builds one shared list per role and service, and new ones after a publish', () => {
    const c = new SnapshotCache();
    c.publish(snap([res(L, 'virtualOutbound', 'v1', ['sidecar']), owned(L, 'inbound:web.shop', 'shop/web'), owned(L, 'inbound:db.shop', 'shop/db')], 1));
    const web = c.visible(L, 'sidecar', 'shop/web');
    expect(c.visible(L, 'sidecar', 'shop/web')).toBe(web);
    expect(names(c.visible(L, 'sidecar', 'shop/db'))).toEqual(['inbound:db.shop', 'virtualOutbound']);
    expect(names(c.visible(L, 'sidecar'))).toEqual(['virtualOutbound']);
    // the owner moves: the watchers hear of it and the views follow
    const watcher = vi.fn();
    c.watch(watcher);
    c.publish(snap([res(L, 'virtualOutbound', 'v1', ['sidecar']), owned(L, 'inbound:web.shop', 'shop/db'), owned(L, 'inbound:db.shop', 'shop/db')], 2));
    expect(plain(watcher.mock.calls[0]![1] as ChangedNames)).toEqual({ [L]: ['inbound:web.shop'] });
    expect(names(c.visible(L, 'sidecar', 'shop/web'))).toEqual(['virtualOutbound']);
    expect(names(c.visible(L, 'sidecar', 'shop/db'))).toEqual(['inbound:db.shop', 'inbound:web.shop', 'virtualOutbound']);
  });
});

describe('SnapshotCache locality variants (locality failover)', () => {
  const NEAR_A = ['zone:eu/eu-a', 'region:eu'];
  const NEAR_B = ['zone:eu/eu-b', 'region:eu'];
  const ELSEWHERE = ['zone:us/us-a', 'region:us'];
  /** A snapshot whose load assignment `greeter` has variants for zone eu-a and region eu. */
  function withVariants(revision: number, versions: { base: string; a?: string; region?: string }): Snapshot {
    const s = snap([res(E, 'greeter', versions.base), res(E, 'other', 'v1'), res(C, 'greeter')], revision);
    const byLocality = new Map<string, CachedResource>();
    if (versions.a) byLocality.set('zone:eu/eu-a', res(E, 'greeter', versions.a));
    if (versions.region) byLocality.set('region:eu', res(E, 'greeter', versions.region));
    return { ...s, variants: new Map([[E, new Map([['greeter', byLocality]])]]) };
  }
  const versionsOf = (rs: readonly CachedResource[]) => rs.map((r) => `${r.name}@${r.version}`);

  it('a proxy sees the variant of its zone, else of its region, else the resource everyone sees', () => {
    const cache = new SnapshotCache();
    cache.publish(withVariants(1, { base: 'all', a: 'near-a', region: 'near-eu' }));
    expect(versionsOf(cache.visible(E, 'grpc', undefined, NEAR_A))).toEqual(['greeter@near-a', 'other@v1']);
    expect(versionsOf(cache.visible(E, 'grpc', undefined, NEAR_B))).toEqual(['greeter@near-eu', 'other@v1']);
    expect(versionsOf(cache.visible(E, 'grpc', undefined, ELSEWHERE))).toEqual(['greeter@all', 'other@v1']);
    expect(versionsOf(cache.visible(E, 'grpc'))).toEqual(['greeter@all', 'other@v1']);
    expect(cache.get(E, 'greeter', 'grpc', undefined, NEAR_A)?.version).toBe('near-a');
    expect(cache.get(E, 'greeter', 'grpc', undefined, NEAR_B)?.version).toBe('near-eu');
    expect(cache.get(E, 'greeter', 'grpc', undefined, ELSEWHERE)?.version).toBe('all');
    expect(cache.get(E, 'other', 'grpc', undefined, NEAR_A)?.version).toBe('v1');
  });

  it('proxies whose locality changes nothing share the role\'s list; those of one locality share theirs', () => {
    const cache = new SnapshotCache();
    cache.publish(withVariants(1, { base: 'all', a: 'near-a' }));
    expect(cache.visible(E, 'grpc', undefined, ELSEWHERE)).toBe(cache.visible(E, 'grpc'));
    expect(cache.visible(C, 'grpc', undefined, NEAR_A)).toBe(cache.visible(C, 'grpc'));
    expect(cache.visible(E, 'grpc', undefined, NEAR_A)).toBe(cache.visible(E, 'grpc', undefined, NEAR_A));
    expect(cache.visible(E, 'grpc', undefined, NEAR_A)).not.toBe(cache.visible(E, 'grpc'));
  });

  it('a change of one variant alone is a change of that name, and of the type version', () => {
    const cache = new SnapshotCache();
    cache.publish(withVariants(1, { base: 'all', a: 'near-a' }));
    const before = cache.typeVersion(E);
    const changed = cache.publish(withVariants(2, { base: 'all', a: 'near-a-2' }));
    expect(plain(changed)).toEqual({ [E]: ['greeter'] });
    expect(cache.typeVersion(E)).not.toBe(before);
    expect(cache.get(E, 'greeter', 'grpc', undefined, NEAR_A)?.version).toBe('near-a-2');
  });

  it('a variant that appears or goes away is a change too; equal variants are none', () => {
    expect(plain(diffSnapshots(withVariants(1, { base: 'all' }), withVariants(2, { base: 'all', region: 'eu' })))).toEqual({ [E]: ['greeter'] });
    expect(plain(diffSnapshots(withVariants(1, { base: 'all', region: 'eu' }), withVariants(2, { base: 'all' })))).toEqual({ [E]: ['greeter'] });
    expect(plain(diffSnapshots(withVariants(1, { base: 'all', a: 'x' }), withVariants(2, { base: 'all', a: 'x' })))).toEqual({});
  });
});

describe('SnapshotCache identity and TLS variants (SDS certificates, mTLS clusters)', () => {
  const S = TYPE_URLS.secret;
  const ORDERS = ['service:shop/orders+tls:sds', 'service:shop/orders', 'tls:sds'];
  const WEB = ['service:shop/web+tls:sds', 'service:shop/web', 'tls:sds'];
  const ENVOY: Role[] = ['sidecar', 'gateway'];
  /** `default` seen by no role itself, a variant per service owned by it; ROOTCA shared; cluster `orders` plain with an SDS variant. */
  function withIdentities(revision: number, ordersCert = 'o1'): Snapshot {
    const s = snap([res(S, 'ROOTCA', 'r1', ENVOY), res(S, 'default', 'none', []), res(C, 'orders', 'plain')], revision);
    const secrets = new Map([
      ['service:shop/orders', owned(S, 'default', 'shop/orders', ordersCert, ENVOY)],
      ['service:shop/web', owned(S, 'default', 'shop/web', 'w1', ENVOY)],
    ]);
    const clusters = new Map([['tls:sds', res(C, 'orders', 'mtls', ENVOY)]]);
    return { ...s, variants: new Map([[S, new Map([['default', secrets]])], [C, new Map([['orders', clusters]])]]) };
  }
  const versionsOf = (rs: readonly CachedResource[]) => rs.map((r) => `${r.name}@${r.version}`);

  it('each proxy sees its own service\'s certificate under the shared name, and no other', () => {
    const cache = new SnapshotCache();
    cache.publish(withIdentities(1));
    expect(versionsOf(cache.visible(S, 'sidecar', 'shop/orders', ORDERS))).toEqual(['ROOTCA@r1', 'default@o1']);
    expect(versionsOf(cache.visible(S, 'sidecar', 'shop/web', WEB))).toEqual(['ROOTCA@r1', 'default@w1']);
    expect(cache.get(S, 'default', 'sidecar', 'shop/orders', ORDERS)?.version).toBe('o1');
    expect(cache.get(S, 'default', 'gateway', 'shop/web', WEB)?.version).toBe('w1');
  });

  it('a proxy without an identity, or claiming a key it does not own, gets no certificate at all', () => {
    const cache = new SnapshotCache();
    cache.publish(withIdentities(1));
    expect(versionsOf(cache.visible(S, 'gateway'))).toEqual(['ROOTCA@r1']);
    expect(cache.get(S, 'default', 'gateway')).toBeUndefined();
    // The variant belongs to shop/orders: a proxy of shop/web that somehow had its key still may not see it.
    expect(cache.get(S, 'default', 'sidecar', 'shop/web', ['service:shop/orders'])).toBeUndefined();
    expect(versionsOf(cache.visible(S, 'sidecar', 'shop/web', ['service:shop/orders']))).toEqual(['ROOTCA@r1']);
    // Proxyless clients get no SDS secrets (their certificates come from files).
    expect(versionsOf(cache.visible(S, 'grpc', 'shop/orders', ORDERS))).toEqual([]);
  });

  it('a proxy that does mTLS over SDS gets the cluster\'s mTLS variant; others, and roles it is not for, the plain one', () => {
    const cache = new SnapshotCache();
    cache.publish(withIdentities(1));
    expect(versionsOf(cache.visible(C, 'sidecar', 'shop/orders', ORDERS))).toEqual(['orders@mtls']);
    expect(versionsOf(cache.visible(C, 'gateway'))).toEqual(['orders@plain']);
    expect(versionsOf(cache.visible(C, 'grpc', undefined, ['tls:sds']))).toEqual(['orders@plain']);
    expect(cache.get(C, 'orders', 'grpc', undefined, ['tls:sds'])?.version).toBe('plain');
  });

  it('a renewed certificate is a change of `default` for its service\'s proxies only', () => {
    const cache = new SnapshotCache();
    cache.publish(withIdentities(1, 'o1'));
    const web = cache.visible(S, 'sidecar', 'shop/web', WEB);
    expect(plain(cache.publish(withIdentities(2, 'o2')))).toEqual({ [S]: ['default'] });
    expect(cache.get(S, 'default', 'sidecar', 'shop/orders', ORDERS)?.version).toBe('o2');
    expect(versionsOf(cache.visible(S, 'sidecar', 'shop/web', WEB))).toEqual(versionsOf(web));
  });
});
