/**
 * `?dryRun=true` on the service and endpoint writes (routes: routes.test.ts): 200 with what the write
 * would store and the Envoy resources it would change, no ETag or Location, nothing stored, and every
 * refusal (validation, If-Match, missing, conflict) answered exactly as the real write answers it.
 */
import { asc } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpoints, services } from '../registry/schema.ts';
import { apiHarness, dbState, expectProblem, expectRejected, type ApiHarness, type Method, type Response } from '../../test/support/api.ts';

let h: ApiHarness;
/** Endpoints of default/web: `kept` stays at revision 1 for the writes that must fail, `neighbour` is what it may not clash with. */
let kept: Record<string, any>;
let neighbour: Record<string, any>;
beforeAll(async () => {
  h = await apiHarness();
  await h.service({ name: 'web', port: 8080 });
  kept = await h.endpoint('default', 'web', { address: '10.0.0.1', port: 8080 });
  neighbour = await h.endpoint('default', 'web', { address: '10.0.0.3', port: 8080 });
});
afterAll(async () => h?.close());

const SERVICES = '/api/v1/services';
const EPS = `${SERVICES}/default/web/endpoints`;
const dry = (url: string) => `${url}${url.includes('?') ? '&' : '?'}dryRun=true`;
const summary = (changes: { type: string; name: string; change: string }[]) => changes.map((c) => `${c.change} ${c.type} ${c.name}`);
/** An EDS name: the cluster, a hash of its config, and the subset (none here). */
const eds = (change: string, cluster: string) => expect.stringMatching(new RegExp(`^${change} eds ${cluster.replace('.', '\\.')}~[0-9a-f]{8}$`));
/** A view without what a real write stamps anew: its timestamps (and an endpoint's generated id). */
const stable = ({ id: _i, createdAt: _c, updatedAt: _u, lastHeartbeatAt: _l, ...rest }: Record<string, unknown>) => rest;

/** Every service and endpoint row: equal before and after a write that stores nothing. */
const rows = async () => ({
  services: await h.db.select().from(services).orderBy(asc(services.id)),
  endpoints: await h.db.select().from(endpoints).orderBy(asc(endpoints.id)),
});

/**
 * Runs a write as a dry run (against a served config that has caught up with the registry) and checks
 * it answered 200 with the `key` it would store, no ETag or Location, and left every row, the registry
 * revision and the change log as they were.
 */
async function dryRun(key: string, method: Method, url: string, body?: unknown, headers?: Record<string, string>) {
  await h.syncServed();
  const [state, before] = [await dbState(h.db), await rows()];
  const res = await h.call(method, dry(url), body, headers);
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json()).toEqual({ dryRun: true, [key]: expect.any(Object), changes: expect.any(Array), issues: [] });
  expect(res.headers).not.toHaveProperty('etag');
  expect(res.headers).not.toHaveProperty('location');
  expect(await dbState(h.db)).toEqual(state);
  expect(await rows()).toEqual(before);
  return res.json();
}

/** Reads a resource back: its status, ETag and body. */
async function read(url: string) {
  const res = await h.call('GET', url);
  return { status: res.statusCode, etag: res.headers.etag, body: res.json() };
}

describe('service writes', () => {
  it('previews registering a service as its clusters, endpoints and listeners added; the real write stores what it showed', async () => {
    const body = { name: 'draft', port: 8080, protocol: 'grpc', labels: { app: 'draft' } };
    const preview = await dryRun('service', 'POST', SERVICES, body);
    expect(preview.service).toMatchObject({ namespace: 'default', name: 'draft', protocol: 'grpc', revision: 1, endpointCount: 0 });
    expect(summary(preview.changes)).toEqual([
      'added cds draft.default',
      'added cds inbound:draft.default',
      eds('added', 'draft.default'),
      'added lds draft.default',
      'added lds draft.default:8080',
      'added lds inbound:draft.default',
      'modified rds gateway',
      'modified rds outbound:8080',
    ]);
    expect(preview.changes[0].resource).toMatchObject({ name: 'draft.default' });
    expectProblem(await h.call('GET', `${SERVICES}/default/draft`), 404, 'not-found');
    const real = await h.call('POST', SERVICES, body);
    expect(real.statusCode, real.body).toBe(201);
    expect(stable(preview.service)).toEqual(stable(real.json()));
  });

  it('previews replacing a service, honouring If-Match, and leaves it at its revision', async () => {
    await h.service({ name: 'moving', port: 8080 });
    const before = await read(`${SERVICES}/default/moving`);
    const preview = await dryRun('service', 'PUT', `${SERVICES}/default/moving`, { port: 9090 }, { 'if-match': '"1"' });
    expect(preview.service).toMatchObject({ name: 'moving', port: 9090, revision: 2 });
    expect(summary(preview.changes)).toEqual(expect.arrayContaining(['removed lds moving.default:8080', 'added lds moving.default:9090']));
    expect(await read(`${SERVICES}/default/moving`)).toEqual(before);
    // The dry run took no revision: the same If-Match still holds for the real write.
    const real = await h.call('PUT', `${SERVICES}/default/moving`, { port: 9090 }, { 'if-match': '"1"' });
    expect(real.statusCode, real.body).toBe(200);
    expect(stable(preview.service)).toEqual(stable(real.json()));
  });

  it('previews a replacement that changes no Envoy resource as no changes', async () => {
    await h.service({ name: 'labelled', port: 8080 });
    const preview = await dryRun('service', 'PUT', `${SERVICES}/default/labelled`, { port: 8080, labels: { team: 'a' } });
    expect(preview.service).toMatchObject({ labels: { team: 'a' }, revision: 2 });
    expect(preview.changes).toEqual([]);
  });

  it('previews deleting a service as the service with its endpoints, and its resources removed', async () => {
    await h.service({ name: 'doomed', port: 9191 });
    await h.endpoint('default', 'doomed', { address: '10.0.9.1', port: 9191 });
    const before = await read(`${SERVICES}/default/doomed`);
    const preview = await dryRun('service', 'DELETE', `${SERVICES}/default/doomed`, undefined, { 'if-match': '"1"' });
    expect(preview.service).toEqual(before.body);
    expect(summary(preview.changes)).toEqual(expect.arrayContaining(['removed cds doomed.default', eds('removed', 'doomed.default'), 'removed lds doomed.default:9191']));
    expect(preview.changes.filter((c: { change: string }) => c.change === 'removed').every((c: object) => !('resource' in c))).toBe(true);
    expect(await read(`${SERVICES}/default/doomed`)).toEqual(before);
    expect((await read(`${SERVICES}/default/doomed/endpoints`)).body.items).toHaveLength(1);
    expect((await h.call('DELETE', `${SERVICES}/default/doomed`, undefined, { 'if-match': '"1"' })).statusCode).toBe(204);
  });
});

describe('endpoint writes', () => {
  it('previews registering an endpoint as its cluster’s endpoints modified; the real write stores what it showed', async () => {
    const body = { address: '10.0.0.2', port: 8080, zone: 'z1', labels: { version: 'v2' } };
    const preview = await dryRun('endpoint', 'POST', EPS, body);
    expect(preview.endpoint).toMatchObject({ ...body, health: 'healthy', revision: 1 });
    expect(summary(preview.changes)).toEqual([eds('modified', 'web.default')]);
    const lbEndpoints = preview.changes[0].resource.endpoints.flatMap((l: { lbEndpoints: unknown[] }) => l.lbEndpoints);
    expect(lbEndpoints).toHaveLength(3);
    expect((await read(EPS)).body.items.map((e: { id: string }) => e.id)).toEqual([kept.id, neighbour.id]);
    const real = await h.call('POST', EPS, body);
    expect(real.statusCode, real.body).toBe(201);
    expect(stable(preview.endpoint)).toEqual(stable(real.json()));
  });

  const current = { 'if-match': '"1"' };
  describe.each<[string, Method, string, unknown, Record<string, string> | undefined, Record<string, unknown>]>([
    ['replacing it (draining)', 'PUT', '', { address: '10.0.1.1', port: 8080, health: 'draining' }, current, { health: 'draining', revision: 2 }],
    ['a heartbeat that turns it unhealthy', 'PUT', '/heartbeat', { health: 'unhealthy' }, undefined, { health: 'unhealthy', revision: 2 }],
    ['deleting it', 'DELETE', '', undefined, current, { health: 'healthy', revision: 1 }],
  ])('previews %s', (_what, method, suffix, body, headers, expected) => {
    it('as its cluster’s endpoints modified, leaving the endpoint as it was', async () => {
      const ep = await h.endpoint('default', 'web', { address: '10.0.1.1', port: 8080 });
      const url = `${EPS}/${ep.id}`;
      const before = await read(url);
      const preview = await dryRun('endpoint', method, `${url}${suffix}`, body, headers);
      expect(preview.endpoint).toMatchObject({ id: ep.id, address: '10.0.1.1', ...expected });
      expect(summary(preview.changes)).toEqual([eds('modified', 'web.default')]);
      expect(await read(url)).toEqual(before);
      expect((await h.call('DELETE', url, undefined, current)).statusCode).toBe(204);
    });
  });

  it('previews a heartbeat that changes no health as no changes', async () => {
    const preview = await dryRun('endpoint', 'PUT', `${EPS}/${kept.id}/heartbeat`, {});
    expect(preview.endpoint).toMatchObject({ id: kept.id, health: 'healthy', revision: 1 });
    expect(preview.changes).toEqual([]);
  });
});

describe('refused writes', () => {
  /** A write whose URL may name `{id}`, the endpoint kept at revision 1. */
  type Refusal = [string, Method, string, unknown, Record<string, string> | undefined, number, string, string[]?];
  const stale = { 'if-match': '"7"' };
  const refusals: Refusal[] = [
    ['a service with a port out of range (schema)', 'POST', SERVICES, { name: 'x', port: 0 }, undefined, 400, 'validation-failed', ['body.port']],
    ['a service with a name that is not a DNS label', 'POST', SERVICES, { name: 'Bad_Name', port: 80 }, undefined, 400, 'validation-failed', ['body.name']],
    ['a service that exists', 'POST', SERVICES, { name: 'web', port: 80 }, undefined, 409, 'conflict'],
    ['a replacement with a stale If-Match', 'PUT', `${SERVICES}/default/web`, { port: 80 }, stale, 412, 'precondition-failed'],
    ['a replacement with a malformed If-Match', 'PUT', `${SERVICES}/default/web`, { port: 80 }, { 'if-match': 'seven' }, 400, 'validation-failed', ['header.if-match']],
    ['a replacement whose URL names no valid namespace', 'PUT', `${SERVICES}/Bad_NS/web`, { port: 80 }, undefined, 400, 'validation-failed', ['params.namespace']],
    ['a replacement of a missing service', 'PUT', `${SERVICES}/default/nobody`, { port: 80 }, undefined, 404, 'not-found'],
    ['a service delete with a stale If-Match', 'DELETE', `${SERVICES}/default/web`, undefined, stale, 412, 'precondition-failed'],
    ['a delete of a missing service', 'DELETE', `${SERVICES}/default/nobody`, undefined, undefined, 404, 'not-found'],
    ['an endpoint with a bad address', 'POST', EPS, { address: 'not an address', port: 80 }, undefined, 400, 'validation-failed', ['body.address']],
    ['an endpoint of a missing service', 'POST', `${SERVICES}/default/nobody/endpoints`, { address: '10.0.0.9', port: 80 }, undefined, 404, 'not-found'],
    ['an endpoint the service has', 'POST', EPS, { address: '10.0.0.1', port: 8080 }, undefined, 409, 'conflict'],
    ['an endpoint replacement with a stale If-Match', 'PUT', `${EPS}/{id}`, { address: '10.0.0.1', port: 8080 }, stale, 412, 'precondition-failed'],
    ['an endpoint replacement that clashes with another', 'PUT', `${EPS}/{id}`, { address: '10.0.0.3', port: 8080 }, undefined, 409, 'conflict'],
    ['an endpoint delete with a stale If-Match', 'DELETE', `${EPS}/{id}`, undefined, stale, 412, 'precondition-failed'],
    ['a delete of a missing endpoint', 'DELETE', `${EPS}/00000000-0000-4000-8000-000000000000`, undefined, undefined, 404, 'not-found'],
    ['a heartbeat with an unknown health (schema)', 'PUT', `${EPS}/{id}/heartbeat`, { health: 'sick' }, undefined, 400, 'validation-failed', ['body.health']],
    ['a heartbeat of a missing endpoint', 'PUT', `${EPS}/00000000-0000-4000-8000-000000000000/heartbeat`, {}, undefined, 404, 'not-found'],
  ];
  it.each(refusals)('answers %s as the real write does, storing nothing', async (_what, method, template, body, headers, status, code, paths) => {
    const url = template.replace('{id}', kept.id);
    const rejected = async (call: () => Promise<Response>) => {
      const before = await rows();
      const problem = await expectRejected(h, call, status, code, paths);
      expect(await rows()).toEqual(before);
      return problem;
    };
    const asDryRun = await rejected(() => h.call(method, dry(url), body, headers));
    const real = await rejected(() => h.call(method, url, body, headers));
    expect({ ...asDryRun, instance: undefined }).toEqual({ ...real, instance: undefined });
  });

  it('rejects a dryRun that is not true or false, naming it', async () => {
    await expectRejected(h, () => h.call('POST', `${SERVICES}?dryRun=yes`, { name: 'x', port: 80 }), 400, 'validation-failed', ['query.dryRun']);
    await expectRejected(h, () => h.call('DELETE', `${EPS}/${kept.id}?dryRun=1`), 400, 'validation-failed', ['query.dryRun']);
  });
});

describe('a dry run of turning on locality failover', () => {
  it('shows the load assignment variants each locality would get, named by locality', async () => {
    await h.service({ name: 'geo', port: 8080 });
    await h.endpoint('default', 'geo', { address: '10.9.0.1', port: 8080, region: 'eu', zone: 'eu-a' });
    await h.endpoint('default', 'geo', { address: '10.9.0.2', port: 8080, region: 'eu', zone: 'eu-b' });
    const preview = await dryRun('service', 'PUT', `${SERVICES}/default/geo`, { protocol: 'http', port: 8080, trafficPolicy: { localityFailover: true } });
    expect(preview.changes.map((c: { change: string; type: string; variant?: string }) => `${c.change} ${c.type} ${c.variant}`)).toEqual([
      'added eds region:eu',
      'added eds zone:eu/eu-a',
      'added eds zone:eu/eu-b',
    ]);
  });
});
