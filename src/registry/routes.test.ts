/**
 * Route repository: every write runs its check against the registry as the write's own transaction
 * sees it (services with endpoint labels, the other routes), stores nothing when the check objects,
 * and serialises route writes so that two conflicting routes cannot both be stored.
 */
import { asc, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Issue } from '../lib/result.ts';
import type { Db } from './db.ts';
import { createEndpoint } from './endpoints.ts';
import { createRoute, deleteRoute, getRoute, listRoutes, routeSpecOf, updateRoute, type RouteCheck, type RouteContext, type RouteInput, type RouteWriteResult } from './routes.ts';
import { routes, type RouteRow } from './schema.ts';
import { createService } from './services.ts';
import { onPostgres, testDatabase, type TestDatabase } from '../../test/support/test-db.ts';
import { endpointInput, expectNoChange, expectOneChange, okValue, serviceInput } from '../../test/support/registry.ts';

let t: TestDatabase;
let db: Db;
beforeAll(async () => {
  t = await testDatabase();
  db = t.database.db;
  okValue(await createService(db, serviceInput('cart', { namespace: 'shop', port: 8080 })));
  okValue(await createService(db, serviceInput('billing', { namespace: 'shop', protocol: 'grpc', port: 50051 })));
  okValue(await createEndpoint(db, 'shop', 'cart', endpointInput('10.0.0.1', { labels: { version: 'v1' } })));
  okValue(await createEndpoint(db, 'shop', 'cart', endpointInput('10.0.0.2', { labels: { version: 'v2', zone: 'a' } })));
});
afterAll(async () => t?.drop());

/** A route input to shop/cart unless overridden. */
function routeInput(name: string, over: Partial<RouteInput> = {}): RouteInput {
  return { namespace: 'shop', name, hosts: [], priority: 0, spec: { match: {}, destinations: [{ namespace: 'shop', name: 'cart', weight: 100 }] }, ...over };
}

/** A check that passes (or returns `verdict`) and keeps every context it was given. */
function recording(verdict: { issues: Issue[]; conflict?: string } = { issues: [] }) {
  const seen: RouteContext[] = [];
  const check: RouteCheck = (ctx) => {
    seen.push(ctx);
    return verdict;
  };
  return { check, seen };
}

/** Unwraps a successful route write. */
function ok(result: RouteWriteResult): RouteRow {
  if (!result.ok) throw new Error(`expected the write to succeed: ${JSON.stringify(result)}`);
  return result.value;
}

const pass: RouteCheck = () => ({ issues: [] });
const names = (rows: RouteRow[]) => rows.map((r) => `${r.namespace}/${r.name}`);
const allRows = () => db.select().from(routes).orderBy(asc(routes.namespace), asc(routes.name));
const invalid = { issues: [{ path: 'body.destinations', message: 'weights must add up to 100' }] };
const conflict = { issues: [], conflict: 'route shop/x and route shop/y both claim host cart.shop' };

describe('createRoute', () => {
  it('stores the route at revision 1 and records one route change', async () => {
    const row = ok(await expectOneChange(db, () => createRoute(db, routeInput('first', { hosts: ['cart.example.com'], priority: 5 }), pass), { kind: 'route', op: 'create', namespace: 'shop', name: 'first' }));
    expect(row).toMatchObject({ namespace: 'shop', name: 'first', hosts: ['cart.example.com'], priority: 5, revision: 1, spec: routeInput('first').spec });
    expect(await getRoute(db, 'shop', 'first')).toEqual(row);
  });

  it('gives the check every service with its port, protocol and endpoint labels, and every stored route', async () => {
    const { check, seen } = recording();
    ok(await createRoute(db, routeInput('second'), check));
    expect(seen).toHaveLength(1);
    expect(seen[0]!.services).toEqual(
      new Map([
        ['shop/billing', { port: 50051, protocol: 'grpc', endpointLabels: [] }],
        ['shop/cart', { port: 8080, protocol: 'http', endpointLabels: expect.arrayContaining([{ version: 'v1' }, { version: 'v2', zone: 'a' }]) }],
      ]),
    );
    expect(seen[0]!.services.get('shop/cart')!.endpointLabels).toHaveLength(2);
    expect(names(seen[0]!.routes)).toEqual(['shop/first']);
  });

  it.each([
    ['issues', invalid, { ok: false, reason: 'invalid', issues: invalid.issues }],
    ['a conflict', conflict, { ok: false, reason: 'conflict', detail: conflict.conflict }],
  ])('writes nothing when the check returns %s', async (_what, verdict, expected) => {
    const before = await allRows();
    expect(await expectNoChange(db, () => createRoute(db, routeInput('refused'), () => verdict))).toEqual(expected);
    expect(await allRows()).toEqual(before);
  });

  it('answers conflict for a namespace/name that exists', async () => {
    const before = await allRows();
    expect(await expectNoChange(db, () => createRoute(db, routeInput('first'), pass))).toEqual({ ok: false, reason: 'conflict', detail: 'route shop/first already exists' });
    expect(await allRows()).toEqual(before);
  });
});

describe('updateRoute', () => {
  it('gives the check the other routes, not the one being replaced', async () => {
    const { check, seen } = recording();
    ok(await updateRoute(db, routeInput('second', { priority: 2 }), check));
    expect(names(seen[0]!.routes)).toEqual(['shop/first']);
    expect(seen[0]!.services.has('shop/cart')).toBe(true);
  });

  it('replaces hosts, priority and spec, bumps the revision and records one route change', async () => {
    const before = (await getRoute(db, 'shop', 'first'))!;
    const input = routeInput('first', { hosts: [], priority: -3, spec: { match: { path: { prefix: '/v2' } }, directResponse: { status: 204 } } });
    const row = ok(await expectOneChange(db, () => updateRoute(db, input, pass, { ifRevision: before.revision }), { kind: 'route', op: 'update', namespace: 'shop', name: 'first' }));
    expect(row).toMatchObject({ hosts: [], priority: -3, spec: input.spec, revision: before.revision + 1, createdAt: before.createdAt });
    expect(row.updatedAt.getTime()).toBeGreaterThanOrEqual(before.updatedAt.getTime());
  });

  it.each<[string, RouteInput, number | undefined, string]>([
    ['a missing route', routeInput('missing'), undefined, 'not-found'],
    ['a stale revision', routeInput('first'), 1, 'precondition-failed'],
  ])('answers %s without calling the check or writing', async (_what, input, ifRevision, reason) => {
    const { check, seen } = recording();
    const before = await allRows();
    expect(await expectNoChange(db, () => updateRoute(db, input, check, { ifRevision }))).toMatchObject({ ok: false, reason });
    expect(seen).toEqual([]);
    expect(await allRows()).toEqual(before);
  });

  it.each([
    ['issues', invalid, 'invalid'],
    ['a conflict', conflict, 'conflict'],
  ])('keeps the stored route when the check returns %s', async (_what, verdict, reason) => {
    const before = await allRows();
    expect(await expectNoChange(db, () => updateRoute(db, routeInput('first'), () => verdict))).toMatchObject({ ok: false, reason });
    expect(await allRows()).toEqual(before);
  });
});

describe('listRoutes and routeSpecOf', () => {
  beforeAll(async () => {
    ok(await createRoute(db, routeInput('to-billing', { namespace: 'ops', spec: { match: {}, destinations: [{ namespace: 'shop', name: 'billing', weight: 100 }] } }), pass));
    ok(await createRoute(db, routeInput('redirect', { namespace: 'ops', hosts: ['old.example.com'], spec: { match: {}, redirect: { host: 'new.example.com' } } }), pass));
  });

  it.each([
    [{}, ['ops/redirect', 'ops/to-billing', 'shop/first', 'shop/second']],
    [{ namespace: 'ops' }, ['ops/redirect', 'ops/to-billing']],
    [{ service: 'shop/cart' }, ['shop/second']],
    [{ service: 'shop/billing' }, ['ops/to-billing']],
    [{ namespace: 'shop', service: 'shop/billing' }, []],
  ])('lists %j sorted by namespace then name', async (filter, expected) => {
    expect(names(await listRoutes(db, filter))).toEqual(expected);
  });

  it('turns a row into the domain spec', async () => {
    const row = (await getRoute(db, 'ops', 'redirect'))!;
    expect(routeSpecOf(row)).toEqual({ namespace: 'ops', name: 'redirect', hosts: ['old.example.com'], priority: 0, match: {}, redirect: { host: 'new.example.com' } });
  });
});

describe('deleteRoute', () => {
  it('deletes the route, answers its last row and records one route change', async () => {
    const row = ok(await createRoute(db, routeInput('doomed', { hosts: ['doomed.example.com'] }), pass));
    expect(ok(await expectOneChange(db, () => deleteRoute(db, 'shop', 'doomed', { ifRevision: 1 }), { kind: 'route', op: 'delete', name: 'doomed' }))).toEqual(row);
    expect(await getRoute(db, 'shop', 'doomed')).toBeUndefined();
  });

  it.each<[string, string, number | undefined, string]>([
    ['a missing route', 'doomed', undefined, 'not-found'],
    ['a stale revision', 'second', 7, 'precondition-failed'],
  ])('answers %s and deletes nothing', async (_what, name, ifRevision, reason) => {
    const before = await allRows();
    expect(await expectNoChange(db, () => deleteRoute(db, 'shop', name, { ifRevision }))).toMatchObject({ ok: false, reason });
    expect(await allRows()).toEqual(before);
  });
});

describe('concurrent writes', () => {
  // Without the route lock both transactions would read the registry before either inserted, and both pass.
  it.skipIf(!onPostgres())('lets only one of two conflicting creates through (PostgreSQL)', async () => {
    const racers = ['race-a', 'race-b'];
    const clashes: RouteCheck = (ctx) => {
      const other = ctx.routes.find((r) => racers.includes(r.name));
      return other ? { issues: [], conflict: `conflicts with ${other.name}` } : { issues: [] };
    };
    // Open pooled connections first, so that the two transactions really run side by side.
    await Promise.all([1, 2, 3].map(() => db.execute(sql`select pg_sleep(0.05)`)));
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all(racers.map((name) => createRoute(db, routeInput(name, { namespace: `race-${round}` }), clashes)));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.find((r) => !r.ok)).toMatchObject({ ok: false, reason: 'conflict', detail: expect.stringMatching(/^conflicts with race-[ab]$/) });
      expect(await listRoutes(db, { namespace: `race-${round}` })).toHaveLength(1);
      for (const r of await listRoutes(db, { namespace: `race-${round}` })) ok(await deleteRoute(db, r.namespace, r.name));
    }
  });
});
