/** Service repository: filters (tags, label selectors, health), aggregate health, replace and cascade delete. */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchesSelector, parseSelector, type Requirement } from '../model/selector.ts';
import type { Db } from './db.ts';
import { createEndpoint } from './endpoints.ts';
import { endpoints } from './schema.ts';
import { createService, deleteService, getService, listServices, serviceHealth, updateService, type ServiceFilter } from './services.ts';
import { testDatabase, type TestDatabase } from '../../test/support/test-db.ts';
import { endpointInput, okValue, serviceInput } from '../../test/support/registry.ts';

let t: TestDatabase;
let db: Db;
beforeAll(async () => {
  t = await testDatabase();
  db = t.database.db;
  const svc = (namespace: string, name: string, tags: string[], labels: Record<string, string>) => createService(db, serviceInput(name, { namespace, tags, labels }));
  okValue(await svc('shop', 'cart', ['public', 'v2'], { app: 'cart', tier: 'frontend', 'example.com/team': 'checkout' }));
  okValue(await svc('shop', 'cart-canary', ['public'], { app: 'cart', tier: 'frontend', canary: '' }));
  okValue(await svc('shop', 'billing', ['internal'], { app: 'billing', tier: 'backend', legacy: 'true' }));
  okValue(await svc('shop', 'search', [], {}));
  okValue(await svc('ops', 'cart', ['public'], { app: 'cart' }));
  const ep = (ns: string, name: string, address: string, health: string) => createEndpoint(db, ns, name, endpointInput(address, { health }));
  okValue(await ep('shop', 'cart', '10.0.0.1', 'healthy'));
  okValue(await ep('shop', 'cart', '10.0.0.2', 'healthy'));
  okValue(await ep('shop', 'cart-canary', '10.0.1.1', 'healthy'));
  okValue(await ep('shop', 'cart-canary', '10.0.1.2', 'draining'));
  okValue(await ep('shop', 'billing', '10.0.2.1', 'unhealthy'));
  okValue(await ep('shop', 'billing', '10.0.2.2', 'unknown'));
});
afterAll(async () => t?.drop());

const names = async (filter: ServiceFilter) => (await listServices(db, filter)).map((s) => `${s.namespace}/${s.name}`);
const selector = (text: string): Requirement[] => {
  const parsed = parseSelector(text, 'label');
  if (!parsed.ok) throw new Error(parsed.issues[0]!.message);
  return parsed.value;
};

describe('listServices', () => {
  it('lists everything sorted by namespace then name', async () => {
    expect(await names({})).toEqual(['ops/cart', 'shop/billing', 'shop/cart', 'shop/cart-canary', 'shop/search']);
  });

  it.each<[string, ServiceFilter, string[]]>([
    ['a namespace', { namespace: 'ops' }, ['ops/cart']],
    ['one tag', { tags: ['public'] }, ['ops/cart', 'shop/cart', 'shop/cart-canary']],
    ['every tag must match', { tags: ['public', 'v2'] }, ['shop/cart']],
    ['an unknown tag', { tags: ['nope'] }, []],
    ['healthy', { health: 'healthy' }, ['shop/cart']],
    ['degraded', { health: 'degraded' }, ['shop/cart-canary']],
    ['unhealthy', { health: 'unhealthy' }, ['shop/billing']],
    ['unknown (no endpoints)', { health: 'unknown' }, ['ops/cart', 'shop/search']],
    ['everything at once', { namespace: 'shop', tags: ['public'], labels: selector('app=cart'), health: 'degraded' }, ['shop/cart-canary']],
  ])('filters by %s', async (_what, filter, expected) => {
    expect(await names(filter)).toEqual(expected);
  });

  it.each([
    ['app=cart', ['ops/cart', 'shop/cart', 'shop/cart-canary']],
    ['app==billing', ['shop/billing']],
    ['tier!=frontend', ['ops/cart', 'shop/billing', 'shop/search']],
    ['canary', ['shop/cart-canary']],
    ['canary=', ['shop/cart-canary']],
    ['!canary', ['ops/cart', 'shop/billing', 'shop/cart', 'shop/search']],
    ['example.com/team=checkout', ['shop/cart']],
    ['app=cart,tier=frontend,!canary', ['shop/cart']],
    ['app, !legacy, tier != backend', ['ops/cart', 'shop/cart', 'shop/cart-canary']],
    ['app=nothing', []],
  ])('selects labels with %s exactly as matchesSelector does', async (text, expected) => {
    const reqs = selector(text);
    expect(await names({ labels: reqs })).toEqual(expected);
    const all = await listServices(db);
    expect(all.filter((s) => matchesSelector(s.labels, reqs)).map((s) => `${s.namespace}/${s.name}`)).toEqual(expected);
  });

  it('does not treat selector text as SQL or JSON syntax', async () => {
    expect(await names({ labels: [{ op: 'eq', key: 'app', value: `cart"}, "x": "` }] })).toEqual([]);
    expect(await names({ labels: [{ op: 'exists', key: `app') or ('1'='1` }] })).toEqual([]);
  });
});

describe('aggregate health', () => {
  it.each([
    [0, 0, 'unknown'],
    [3, 3, 'healthy'],
    [3, 1, 'degraded'],
    [3, 0, 'unhealthy'],
  ] as const)('%i endpoints, %i healthy → %s', (total, healthy, expected) => {
    expect(serviceHealth(total, healthy)).toBe(expected);
  });

  it('counts each service’s own endpoints', async () => {
    expect(await getService(db, 'shop', 'cart-canary')).toMatchObject({ endpointCount: 2, healthyCount: 1, health: 'degraded' });
    expect(await getService(db, 'shop', 'billing')).toMatchObject({ endpointCount: 2, healthyCount: 0, health: 'unhealthy' });
    expect(await getService(db, 'ops', 'cart')).toMatchObject({ endpointCount: 0, healthyCount: 0, health: 'unknown' });
    expect(await getService(db, 'ops', 'nothing')).toBeUndefined();
  });
});

describe('writes', () => {
  it('replaces a service, keeping its creation time and counts, with If-Match semantics', async () => {
    const created = okValue(await createService(db, serviceInput('edit', { namespace: 'w', tags: ['a'] })));
    okValue(await createEndpoint(db, 'w', 'edit', endpointInput('10.1.0.1')));
    const { namespace: _n, name: _m, ...spec } = serviceInput('edit');
    const updated = okValue(await updateService(db, 'w', 'edit', { ...spec, port: 90, labels: { app: 'edit' } }, 1));
    expect(updated).toMatchObject({ port: 90, tags: [], labels: { app: 'edit' }, revision: 2, createdAt: created.createdAt, endpointCount: 1, health: 'healthy' });
    expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(created.updatedAt.getTime());
    expect(await updateService(db, 'w', 'edit', spec, 1)).toMatchObject({ ok: false, reason: 'precondition-failed' });
  });

  it('deletes a service together with its endpoints', async () => {
    const svc = okValue(await createService(db, serviceInput('gone', { namespace: 'w' })));
    okValue(await createEndpoint(db, 'w', 'gone', endpointInput('10.2.0.1')));
    okValue(await createEndpoint(db, 'w', 'gone', endpointInput('10.2.0.2')));
    expect(await deleteService(db, 'w', 'gone', 1)).toMatchObject({ ok: true, value: { namespace: 'w', name: 'gone', endpointCount: 2 } });
    expect(await db.select().from(endpoints).where(eq(endpoints.serviceId, svc.id))).toEqual([]);
    expect(await getService(db, 'w', 'gone')).toBeUndefined();
  });
});
