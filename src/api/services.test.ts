/** `/api/v1/services`: create, read, list with filters, replace with If-Match, delete with cascade. */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changesSince, currentRevision } from '../registry/changes.ts';
import { endpoints } from '../registry/schema.ts';
import { apiHarness, dbState, expectProblem, expectRejected, type ApiHarness } from '../../test/support/api.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await apiHarness();
});
afterAll(async () => h?.close());

const SERVICES = '/api/v1/services';
const post = (body: unknown, headers?: Record<string, string>) => h.call('POST', SERVICES, body, headers);
const put = (path: string, body: unknown, headers?: Record<string, string>) => h.call('PUT', `${SERVICES}/${path}`, body, headers);
const json = { 'content-type': 'application/json' };

describe('POST /api/v1/services', () => {
  it('creates a service with defaults, a Location, an ETag and one change record', async () => {
    const rev = await currentRevision(h.db);
    const res = await post({ name: 'create-me', port: 8080 });
    expect(res.statusCode).toBe(201);
    expect(res.headers.location).toBe('/api/v1/services/default/create-me');
    expect(res.headers.etag).toBe('"1"');
    expect(res.json()).toEqual({
      namespace: 'default',
      name: 'create-me',
      protocol: 'http',
      port: 8080,
      tags: [],
      labels: {},
      version: null,
      metadata: {},
      trafficPolicy: null,
      mtls: null,
      revision: 1,
      health: 'unknown',
      endpointCount: 0,
      healthyEndpointCount: 0,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const logged = await changesSince(h.db, rev);
    expect(logged).toEqual([expect.objectContaining({ revision: rev + 1, kind: 'service', op: 'create', namespace: 'default', name: 'create-me' })]);
  });

  it('stores every field and reads it back through GET with the same ETag', async () => {
    const spec = {
      namespace: 'payments',
      name: 'ledger',
      protocol: 'grpc',
      port: 50051,
      tags: ['pci', 'core'],
      labels: { app: 'ledger', 'example.com/tier': 'gold' },
      version: 'v2.1.0',
      metadata: { owner: 'team-a', limits: { rps: 100 }, flags: [true, null] },
    };
    const created = await post(spec);
    expect(created.statusCode).toBe(201);
    expect(created.headers.location).toBe('/api/v1/services/payments/ledger');
    const got = await h.call('GET', `${SERVICES}/payments/ledger`);
    expect(got.statusCode).toBe(200);
    expect(got.headers.etag).toBe('"1"');
    expect(got.json()).toMatchObject(spec);
    expect(got.json()).toEqual(created.json());
  });

  it('answers 409 for a duplicate namespace/name and writes nothing', async () => {
    await h.service({ name: 'dup', port: 80 });
    await expectRejected(h, () => post({ name: 'dup', port: 81 }), 409, 'conflict');
  });

  it('allows the same name in another namespace', async () => {
    await h.service({ name: 'twin', port: 80 });
    await h.service({ namespace: 'other', name: 'twin', port: 80 });
  });

  const bad: [string, unknown, string[]][] = [
    ['an unknown field', { name: 'x', port: 80, colour: 'red' }, ['body.colour']],
    ['a port given as a string', { name: 'x', port: '80' }, ['body.port']],
    ['port 0', { name: 'x', port: 0 }, ['body.port']],
    ['port 65536', { name: 'x', port: 65536 }, ['body.port']],
    ['a fractional port', { name: 'x', port: 80.5 }, ['body.port']],
    ['a missing port', { name: 'x' }, ['body.port']],
    ['a missing name', { port: 80 }, ['body.name']],
    ['an unknown protocol', { name: 'x', port: 80, protocol: 'udp' }, ['body.protocol']],
    ['an unknown mTLS mode', { name: 'x', port: 80, mtls: 'on' }, ['body.mtls']],
    ['a name with upper case and _', { name: 'Web_1', port: 80 }, ['body.name']],
    ['a name starting with -', { name: '-web', port: 80 }, ['body.name']],
    ['a name of 64 characters', { name: 'a'.repeat(64), port: 80 }, ['body.name']],
    ['an empty name', { name: '', port: 80 }, ['body.name']],
    ['a namespace that is not a DNS label', { namespace: 'Team.A', name: 'x', port: 80 }, ['body.namespace']],
    ['tags that are not an array', { name: 'x', port: 80, tags: 'a' }, ['body.tags']],
    ['duplicate tags', { name: 'x', port: 80, tags: ['a', 'a'] }, ['body.tags']],
    ['an empty tag', { name: 'x', port: 80, tags: ['ok', ''] }, ['body.tags[1]']],
    ['a label value that is not a string', { name: 'x', port: 80, labels: { app: 1 } }, ['body.labels.app']],
    ['an invalid label key', { name: 'x', port: 80, labels: { 'bad key': 'v' } }, ['body.labels.bad key']],
    ['an invalid label value', { name: 'x', port: 80, labels: { app: 'no spaces' } }, ['body.labels.app']],
    ['metadata that is not an object', { name: 'x', port: 80, metadata: [1] }, ['body.metadata']],
    ['a numeric version', { name: 'x', port: 80, version: 3 }, ['body.version']],
    ['an array body', [{ name: 'x', port: 80 }], ['body']],
    ['several faults at once', { name: 'x', port: 0, protocol: 'udp', extra: 1 }, ['body.port', 'body.protocol', 'body.extra']],
  ];
  it.each(bad)('rejects %s with 400 naming the field', async (_what, body, paths) => {
    await expectRejected(h, () => post(body), 400, 'validation-failed', paths);
  });

  it('says which values a bad enum allows', async () => {
    const body = expectProblem(await post({ name: 'x', port: 80, protocol: 'udp' }), 400, 'validation-failed', ['body.protocol']);
    expect(body.errors[0].message).toBe('must be one of http, http2, grpc, tcp');
  });

  it('rejects malformed and empty JSON with 400 malformed-json', async () => {
    await expectRejected(h, () => post('{"name": "x", "port": ', json), 400, 'malformed-json', ['body']);
    await expectRejected(h, () => post('', json), 400, 'malformed-json', ['body']);
  });

  it('rejects a body that is not JSON with 415', async () => {
    await expectRejected(h, () => post('name=x&port=80', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported-media-type');
    await expectRejected(h, () => post('{"name":"x","port":80}', { 'content-type': 'text/plain' }), 415, 'unsupported-media-type');
  });

  it('rejects a body over the limit with 413', async () => {
    const huge = JSON.stringify({ name: 'huge', port: 80, metadata: { blob: 'x'.repeat(1024 * 1024) } });
    await expectRejected(h, () => post(huge, json), 413, 'payload-too-large');
  });
});

describe('GET /api/v1/services', () => {
  const names = async (query: string) => {
    const res = await h.call('GET', `${SERVICES}?${query}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json().items.map((s: { namespace: string; name: string }) => `${s.namespace}/${s.name}`);
  };

  beforeAll(async () => {
    const flt = (name: string, extra: Record<string, unknown>) => h.service({ namespace: 'flt', name, port: 80, ...extra });
    await flt('web', { tags: ['public', 'edge'], labels: { app: 'web', version: 'v1' } });
    await flt('web-canary', { tags: ['public'], labels: { app: 'web', version: 'v2', canary: 'true' } });
    await flt('api', { tags: ['edge'], labels: { app: 'api', legacy: 'yes' } });
    await flt('db', { labels: {} });
    await h.service({ namespace: 'flt-b', name: 'web', port: 80, tags: ['public'], labels: { app: 'web' } });
    // Health: web all healthy, web-canary degraded, api unhealthy, db without endpoints is unknown.
    await h.endpoint('flt', 'web', { address: '10.1.0.1', port: 80 });
    await h.endpoint('flt', 'web-canary', { address: '10.1.0.2', port: 80 });
    await h.endpoint('flt', 'web-canary', { address: '10.1.0.3', port: 80, health: 'unhealthy' });
    await h.endpoint('flt', 'api', { address: '10.1.0.4', port: 80, health: 'draining' });
  });

  it('lists every service sorted by namespace then name', async () => {
    const ours = (await names('')).filter((n: string) => n.startsWith('flt'));
    expect(ours).toEqual(['flt/api', 'flt/db', 'flt/web', 'flt/web-canary', 'flt-b/web']);
  });

  it.each([
    ['namespace=flt-b', ['flt-b/web']],
    ['namespace=flt&tag=public', ['flt/web', 'flt/web-canary']],
    ['namespace=flt&tag=public&tag=edge', ['flt/web']],
    ['namespace=flt&tag=nothing', []],
    ['namespace=flt&label=app%3Dweb', ['flt/web', 'flt/web-canary']],
    ['namespace=flt&label=app%3D%3Dapi', ['flt/api']],
    ['namespace=flt&label=version!%3Dv1', ['flt/api', 'flt/db', 'flt/web-canary']],
    ['namespace=flt&label=canary', ['flt/web-canary']],
    ['namespace=flt&label=!legacy', ['flt/db', 'flt/web', 'flt/web-canary']],
    ['namespace=flt&label=app%3Dweb,version!%3Dv1,canary,!legacy', ['flt/web-canary']],
    ['namespace=flt&health=healthy', ['flt/web']],
    ['namespace=flt&health=degraded', ['flt/web-canary']],
    ['namespace=flt&health=unhealthy', ['flt/api']],
    ['namespace=flt&health=unknown', ['flt/db']],
    ['tag=public&label=app%3Dweb&health=healthy', ['flt/web']],
  ])('filters with %s', async (query, expected) => {
    expect(await names(query)).toEqual(expected);
  });

  it('reports aggregate health and endpoint counts', async () => {
    const res = await h.call('GET', `${SERVICES}/flt/web-canary`);
    expect(res.json()).toMatchObject({ health: 'degraded', endpointCount: 2, healthyEndpointCount: 1 });
  });

  it.each([
    ['label=%3Dweb', 'query.label'],
    ['label=!app%3Dweb', 'query.label'],
    ['label=bad%20key', 'query.label'],
    ['label=a%3Db%3Dc', 'query.label'],
    ['health=sick', 'query.health'],
    ['colour=red', 'query.colour'],
  ])('rejects the query %s naming %s', async (query, path) => {
    expectProblem(await h.call('GET', `${SERVICES}?${query}`), 400, 'validation-failed', [path]);
  });
});

describe('PUT /api/v1/services/{namespace}/{name}', () => {
  it('sets and clears the service\'s own mTLS mode (null: the mesh default)', async () => {
    await h.service({ name: 'tls-mode', port: 80 });
    for (const mtls of ['strict', 'permissive', 'disabled', null]) {
      const res = await put('default/tls-mode', { port: 80, mtls });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().mtls).toBe(mtls);
    }
    expect((await put('default/tls-mode', { port: 80, mtls: 'strict' })).json().mtls).toBe('strict');
    expect((await put('default/tls-mode', { port: 80 })).json().mtls).toBeNull();
  });

  const spec = { port: 9090, protocol: 'http2', tags: ['b'], labels: { app: 'edit' }, version: 'v2', metadata: { k: 'v' } };

  it('replaces the service, bumps its revision and ETag, and records one change', async () => {
    const created = await h.service({ name: 'edit-me', port: 80, tags: ['a'], labels: { old: 'x' } });
    const rev = await currentRevision(h.db);
    const res = await put('default/edit-me', spec, { 'if-match': '"1"' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers.etag).toBe('"2"');
    expect(res.json()).toMatchObject({ ...spec, namespace: 'default', name: 'edit-me', revision: 2, createdAt: created.createdAt });
    expect(Date.parse(res.json().updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt));
    expect(await changesSince(h.db, rev)).toEqual([expect.objectContaining({ kind: 'service', op: 'update', name: 'edit-me' })]);
  });

  it('replaces omitted optional fields with their defaults', async () => {
    await h.service({ name: 'reset-me', port: 80, tags: ['a'], labels: { app: 'x' }, version: 'v1' });
    const res = await put('default/reset-me', { port: 81 });
    expect(res.json()).toMatchObject({ port: 81, protocol: 'http', tags: [], labels: {}, version: null, metadata: {} });
  });

  it('accepts a matching namespace and name in the body, a weak ETag and *', async () => {
    await h.service({ name: 'cond', port: 80 });
    expect((await put('default/cond', { namespace: 'default', name: 'cond', port: 81 })).statusCode).toBe(200);
    expect((await put('default/cond', { port: 82 }, { 'if-match': 'W/"2"' })).statusCode).toBe(200);
    expect((await put('default/cond', { port: 83 }, { 'if-match': '*' })).headers.etag).toBe('"4"');
  });

  it('answers 412 for a stale If-Match and changes nothing', async () => {
    await h.service({ name: 'stale', port: 80 });
    await put('default/stale', { port: 81 });
    await expectRejected(h, () => put('default/stale', { port: 82 }, { 'if-match': '"1"' }), 412, 'precondition-failed');
    expect((await h.call('GET', `${SERVICES}/default/stale`)).json()).toMatchObject({ port: 81, revision: 2 });
  });

  it.each(['garbage', '"abc"', '1, 2', '"99999999999"'])('answers 400 for the malformed If-Match %s', async (ifMatch) => {
    await h.service({ name: `bad-etag-${ifMatch.length}`, port: 80 });
    await expectRejected(h, () => put(`default/bad-etag-${ifMatch.length}`, { port: 81 }, { 'if-match': ifMatch }), 400, 'validation-failed', [
      'header.if-match',
    ]);
  });

  it('rejects a body namespace or name that differs from the URL', async () => {
    await h.service({ name: 'stay', port: 80 });
    await expectRejected(h, () => put('default/stay', { namespace: 'elsewhere', name: 'moved', port: 80 }), 400, 'validation-failed', [
      'body.namespace',
      'body.name',
    ]);
  });

  it('names the URL segment when the URL names no valid service', async () => {
    await expectRejected(h, () => put('Bad_NS/x', { port: 80 }), 400, 'validation-failed', ['params.namespace']);
  });

  it('answers 404 for a missing service and validates the body like POST', async () => {
    await expectRejected(h, () => put('default/missing', { port: 80 }), 404, 'not-found');
    await h.service({ name: 'put-bad', port: 80 });
    await expectRejected(h, () => put('default/put-bad', { port: 'x', extra: true }), 400, 'validation-failed', ['body.port', 'body.extra']);
  });
});

describe('GET and DELETE /api/v1/services/{namespace}/{name}', () => {
  it('answers 404 problem+json for a service that does not exist', async () => {
    expectProblem(await h.call('GET', `${SERVICES}/default/nobody`), 404, 'not-found');
  });

  it('deletes a service and its endpoints in one transaction with one change', async () => {
    await h.service({ name: 'doomed', port: 80 });
    await h.endpoint('default', 'doomed', { address: '10.9.0.1', port: 80 });
    const ep = await h.endpoint('default', 'doomed', { address: '10.9.0.2', port: 80 });
    const before = await dbState(h.db);
    const res = await h.call('DELETE', `${SERVICES}/default/doomed`, undefined, { 'if-match': '"1"' });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(await dbState(h.db)).toEqual({ ...before, revision: before.revision + 1, changes: before.changes + 1, services: before.services - 1, endpoints: before.endpoints - 2 });
    expect(await h.db.select().from(endpoints).where(eq(endpoints.id, ep.id))).toEqual([]);
    expect(await changesSince(h.db, before.revision)).toEqual([expect.objectContaining({ kind: 'service', op: 'delete', name: 'doomed' })]);
    expectProblem(await h.call('GET', `${SERVICES}/default/doomed`), 404, 'not-found');
    expectProblem(await h.call('GET', `${SERVICES}/default/doomed/endpoints`), 404, 'not-found');
  });

  it('refuses a stale or malformed If-Match and a missing service, deleting nothing', async () => {
    await h.service({ name: 'keep', port: 80 });
    await h.endpoint('default', 'keep', { address: '10.9.1.1', port: 80 });
    const del = (headers?: Record<string, string>) => () => h.call('DELETE', `${SERVICES}/default/keep`, undefined, headers);
    await expectRejected(h, del({ 'if-match': '"7"' }), 412, 'precondition-failed');
    await expectRejected(h, del({ 'if-match': 'seven' }), 400, 'validation-failed', ['header.if-match']);
    await expectRejected(h, () => h.call('DELETE', `${SERVICES}/default/never-was`), 404, 'not-found');
  });
});
