/** `/api/v1/services/{ns}/{name}/endpoints`: instances, their validation, If-Match, and heartbeats. */
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changesSince, currentRevision } from '../registry/changes.ts';
import { expireHeartbeats } from '../registry/endpoints.ts';
import { endpoints } from '../registry/schema.ts';
import { apiHarness, expectProblem, expectRejected, type ApiHarness } from '../../test/support/api.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await apiHarness();
  await h.service({ name: 'web', port: 80 });
  await h.service({ name: 'other', port: 80 });
});
afterAll(async () => h?.close());

const EPS = '/api/v1/services/default/web/endpoints';
const post = (body: unknown) => h.call('POST', EPS, body);
const put = (id: string, body: unknown, headers?: Record<string, string>) => h.call('PUT', `${EPS}/${id}`, body, headers);
const beat = (id: string, body?: unknown) => h.call('PUT', `${EPS}/${id}/heartbeat`, body);
const get = async (id: string) => (await h.call('GET', `${EPS}/${id}`)).json();
let nextHost = 1;
/** A fresh address for each endpoint, so tests do not collide on address:port. */
const addr = () => `10.20.${Math.floor(nextHost / 250)}.${(nextHost++ % 250) + 1}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MISSING = '00000000-0000-4000-8000-000000000000';

describe('POST .../endpoints', () => {
  it('adds an endpoint with defaults, a Location, an ETag and one change on its service', async () => {
    const rev = await currentRevision(h.db);
    const res = await post({ address: '10.0.0.1', port: 8080 });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body.id).toMatch(UUID);
    expect(res.headers.location).toBe(`${EPS}/${body.id}`);
    expect(res.headers.etag).toBe('"1"');
    expect(body).toEqual({
      id: body.id,
      address: '10.0.0.1',
      port: 8080,
      weight: 1,
      region: '',
      zone: '',
      subZone: '',
      labels: {},
      health: 'healthy',
      ttlSeconds: null,
      lastHeartbeatAt: null,
      revision: 1,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(await changesSince(h.db, rev)).toEqual([expect.objectContaining({ kind: 'endpoint', op: 'create', namespace: 'default', name: 'web' })]);
    expect(await get(body.id)).toEqual(body);
  });

  it.each(['192.168.1.10', '2001:db8::1', '::1', 'api.internal.example.com', 'localhost', 'Node-7.Example.ORG.'])('accepts the address %s', async (address) => {
    expect((await post({ address, port: 9000 })).statusCode).toBe(201);
  });

  it('stores locality, labels, weight, health and a TTL that starts counting now', async () => {
    const spec = { address: addr(), port: 443, weight: 50, region: 'eu-west', zone: 'eu-west-1a', subZone: 'rack-3', labels: { version: 'v2' }, health: 'draining', ttlSeconds: 30 };
    const body = (await post(spec)).json();
    expect(body).toMatchObject(spec);
    expect(Date.parse(body.lastHeartbeatAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  const bad: [string, Record<string, unknown>, string[]][] = [
    ['a word for an address', { address: 'not an address', port: 80 }, ['body.address']],
    ['an IPv4 address out of range', { address: '10.0.0.256', port: 80 }, ['body.address']],
    ['a bracketed IPv6 address', { address: '[::1]', port: 80 }, ['body.address']],
    ['an address with a port', { address: '10.0.0.1:80', port: 80 }, ['body.address']],
    ['an empty address', { address: '', port: 80 }, ['body.address']],
    ['an address that is a number', { address: 1234, port: 80 }, ['body.address']],
    ['port 0', { address: '10.0.0.1', port: 0 }, ['body.port']],
    ['port 70000', { address: '10.0.0.1', port: 70000 }, ['body.port']],
    ['a port given as a string', { address: '10.0.0.1', port: '80' }, ['body.port']],
    ['a missing port and address', {}, ['body.address', 'body.port']],
    ['weight 0', { address: '10.0.0.1', port: 80, weight: 0 }, ['body.weight']],
    ['weight 10001', { address: '10.0.0.1', port: 80, weight: 10001 }, ['body.weight']],
    ['an unknown health', { address: '10.0.0.1', port: 80, health: 'sick' }, ['body.health']],
    ['ttlSeconds 0', { address: '10.0.0.1', port: 80, ttlSeconds: 0 }, ['body.ttlSeconds']],
    ['a fractional ttlSeconds', { address: '10.0.0.1', port: 80, ttlSeconds: 1.5 }, ['body.ttlSeconds']],
    ['ttlSeconds over a day', { address: '10.0.0.1', port: 80, ttlSeconds: 86401 }, ['body.ttlSeconds']],
    ['an invalid label value', { address: '10.0.0.1', port: 80, labels: { version: 'v 2' } }, ['body.labels.version']],
    ['an unknown field', { address: '10.0.0.1', port: 80, healthy: true }, ['body.healthy']],
  ];
  it.each(bad)('rejects %s with 400 naming the field', async (_what, body, paths) => {
    await expectRejected(h, () => post(body), 400, 'validation-failed', paths);
  });

  it('rejects malformed JSON and non-JSON bodies', async () => {
    await expectRejected(h, () => h.call('POST', EPS, '{"address":', { 'content-type': 'application/json' }), 400, 'malformed-json', ['body']);
    await expectRejected(h, () => h.call('POST', EPS, 'address=x', { 'content-type': 'text/plain' }), 415, 'unsupported-media-type');
  });

  it('answers 404 when the service does not exist, writing nothing', async () => {
    await expectRejected(h, () => h.call('POST', '/api/v1/services/default/ghost/endpoints', { address: '10.0.0.1', port: 80 }), 404, 'not-found');
    await expectRejected(h, () => h.call('POST', '/api/v1/services/nowhere/web/endpoints', { address: '10.0.0.1', port: 80 }), 404, 'not-found');
  });

  it('answers 409 for an address and port the service already has, but allows it on another service', async () => {
    const spec = { address: addr(), port: 80 };
    await h.endpoint('default', 'web', spec);
    await expectRejected(h, () => post({ ...spec, weight: 5 }), 409, 'conflict');
    await h.endpoint('default', 'other', spec);
  });
});

describe('GET .../endpoints', () => {
  it('lists a service’s endpoints sorted by address then port, and only its own', async () => {
    await h.service({ name: 'listed', port: 80 });
    const url = '/api/v1/services/default/listed/endpoints';
    for (const [address, port] of [['10.3.0.2', 80], ['10.3.0.1', 81], ['10.3.0.1', 80]] as const) await h.endpoint('default', 'listed', { address, port });
    const items = (await h.call('GET', url)).json().items;
    expect(items.map((e: { address: string; port: number }) => `${e.address}:${e.port}`)).toEqual(['10.3.0.1:80', '10.3.0.1:81', '10.3.0.2:80']);
  });

  it('answers 404 for a missing service, a missing or malformed id, and an id of another service', async () => {
    expectProblem(await h.call('GET', '/api/v1/services/default/ghost/endpoints'), 404, 'not-found');
    expectProblem(await h.call('GET', `${EPS}/${MISSING}`), 404, 'not-found');
    expectProblem(await h.call('GET', `${EPS}/not-a-uuid`), 404, 'not-found');
    const foreign = await h.endpoint('default', 'other', { address: addr(), port: 80 });
    expectProblem(await h.call('GET', `${EPS}/${foreign.id}`), 404, 'not-found');
  });

  it('sends the endpoint revision as ETag', async () => {
    const ep = await h.endpoint('default', 'web', { address: addr(), port: 80 });
    expect((await h.call('GET', `${EPS}/${ep.id}`)).headers.etag).toBe('"1"');
  });
});

describe('PUT .../endpoints/{id}', () => {
  it('replaces the endpoint, bumping its revision, with one change', async () => {
    const ep = await h.endpoint('default', 'web', { address: addr(), port: 80, labels: { a: 'b' } });
    const rev = await currentRevision(h.db);
    const res = await put(ep.id, { address: 'web-1.internal', port: 8443, weight: 3 }, { 'if-match': '"1"' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers.etag).toBe('"2"');
    expect(res.json()).toMatchObject({ id: ep.id, address: 'web-1.internal', port: 8443, weight: 3, labels: {}, revision: 2, createdAt: ep.createdAt });
    expect(await changesSince(h.db, rev)).toEqual([expect.objectContaining({ kind: 'endpoint', op: 'update', name: 'web' })]);
  });

  it('answers 412 on a stale If-Match and 400 on a malformed one, changing nothing', async () => {
    const ep = await h.endpoint('default', 'web', { address: addr(), port: 80 });
    await put(ep.id, { address: ep.address, port: 81 });
    await expectRejected(h, () => put(ep.id, { address: ep.address, port: 82 }, { 'if-match': '"1"' }), 412, 'precondition-failed');
    await expectRejected(h, () => put(ep.id, { address: ep.address, port: 82 }, { 'if-match': 'v1' }), 400, 'validation-failed', ['header.if-match']);
    expect(await get(ep.id)).toMatchObject({ port: 81, revision: 2 });
  });

  it('validates the body, answers 409 on a clash and 404 for missing ids', async () => {
    const a = await h.endpoint('default', 'web', { address: addr(), port: 80 });
    const b = await h.endpoint('default', 'web', { address: addr(), port: 80 });
    await expectRejected(h, () => put(b.id, { address: 'bad address', port: 80, zone: 5 }), 400, 'validation-failed', ['body.zone']);
    await expectRejected(h, () => put(b.id, { address: 'bad address', port: 80 }), 400, 'validation-failed', ['body.address']);
    await expectRejected(h, () => put(b.id, { address: a.address, port: 80 }), 409, 'conflict');
    await expectRejected(h, () => put(MISSING, { address: a.address, port: 80 }), 404, 'not-found');
    await expectRejected(h, () => put('nope', { address: a.address, port: 80 }), 404, 'not-found');
  });
});

describe('DELETE .../endpoints/{id}', () => {
  it('removes the endpoint with one change, then answers 404', async () => {
    const ep = await h.endpoint('default', 'web', { address: addr(), port: 80 });
    const rev = await currentRevision(h.db);
    const res = await h.call('DELETE', `${EPS}/${ep.id}`);
    expect(res.statusCode).toBe(204);
    expect(await changesSince(h.db, rev)).toEqual([expect.objectContaining({ kind: 'endpoint', op: 'delete', name: 'web' })]);
    await expectRejected(h, () => h.call('DELETE', `${EPS}/${ep.id}`), 404, 'not-found');
    await expectRejected(h, () => h.call('DELETE', `/api/v1/services/default/ghost/endpoints/${ep.id}`), 404, 'not-found');
  });

  it('honours If-Match: 412 on a stale revision, 400 on a malformed one, 204 on the current one', async () => {
    const ep = await h.endpoint('default', 'web', { address: addr(), port: 80 });
    await put(ep.id, { address: ep.address, port: 81 });
    await expectRejected(h, () => h.call('DELETE', `${EPS}/${ep.id}`, undefined, { 'if-match': '"1"' }), 412, 'precondition-failed');
    await expectRejected(h, () => h.call('DELETE', `${EPS}/${ep.id}`, undefined, { 'if-match': 'v2' }), 400, 'validation-failed', ['header.if-match']);
    expect((await h.call('DELETE', `${EPS}/${ep.id}`, undefined, { 'if-match': '"2"' })).statusCode).toBe(204);
  });
});

describe('PUT .../endpoints/{id}/heartbeat', () => {
  const expire = async (id: string) => {
    await h.db.execute(sql`update endpoints set last_heartbeat_at = now() - interval '1 hour' where id = ${id}`);
    await expireHeartbeats(h.db);
  };

  it('revives an endpoint whose TTL expired, with one change and a new revision', async () => {
    const ep = await h.endpoint('default', 'web', { address: addr(), port: 80, ttlSeconds: 10 });
    await expire(ep.id);
    expect(await get(ep.id)).toMatchObject({ health: 'unhealthy', revision: 2 });
    const rev = await currentRevision(h.db);
    const res = await beat(ep.id);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers.etag).toBe('"3"');
    expect(res.json()).toMatchObject({ health: 'healthy', revision: 3 });
    expect(Date.parse(res.json().lastHeartbeatAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(await changesSince(h.db, rev)).toEqual([expect.objectContaining({ kind: 'endpoint', op: 'update', name: 'web' })]);
  });

  it('records no change when the health stays the same, but stamps the time', async () => {
    const ep = await h.endpoint('default', 'web', { address: addr(), port: 80, ttlSeconds: 10 });
    await h.db.execute(sql`update endpoints set last_heartbeat_at = now() - interval '5 seconds' where id = ${ep.id}`);
    const stamped = (await get(ep.id)).lastHeartbeatAt;
    const rev = await currentRevision(h.db);
    const res = await beat(ep.id, {});
    expect(res.json()).toMatchObject({ health: 'healthy', revision: 1, updatedAt: ep.updatedAt });
    expect(Date.parse(res.json().lastHeartbeatAt)).toBeGreaterThan(Date.parse(stamped));
    expect(await currentRevision(h.db)).toBe(rev);
  });

  it('records the health it is given, and keeps a draining endpoint draining by default', async () => {
    const ep = await h.endpoint('default', 'web', { address: addr(), port: 80 });
    const rev = await currentRevision(h.db);
    expect((await beat(ep.id, { health: 'draining' })).json()).toMatchObject({ health: 'draining', revision: 2 });
    expect(await currentRevision(h.db)).toBe(rev + 1);
    expect((await beat(ep.id)).json()).toMatchObject({ health: 'draining', revision: 2 });
    const nullBody = await h.call('PUT', `${EPS}/${ep.id}/heartbeat`, 'null', { 'content-type': 'application/json' });
    expect(nullBody.json()).toMatchObject({ health: 'draining', revision: 2 });
    expect(await currentRevision(h.db)).toBe(rev + 1);
  });

  it('changes the service aggregate health', async () => {
    await h.service({ name: 'agg', port: 80 });
    const ep = await h.endpoint('default', 'agg', { address: addr(), port: 80, ttlSeconds: 5 });
    await h.db.execute(sql`update endpoints set last_heartbeat_at = now() - interval '1 minute' where id = ${ep.id}`);
    await expireHeartbeats(h.db);
    expect((await h.call('GET', '/api/v1/services/default/agg')).json()).toMatchObject({ health: 'unhealthy', healthyEndpointCount: 0 });
    await h.call('PUT', `/api/v1/services/default/agg/endpoints/${ep.id}/heartbeat`);
    expect((await h.call('GET', '/api/v1/services/default/agg')).json()).toMatchObject({ health: 'healthy', healthyEndpointCount: 1 });
  });

  it('rejects a bad health or an unknown field naming it, and a missing endpoint with 404', async () => {
    const ep = await h.endpoint('default', 'web', { address: addr(), port: 80 });
    await expectRejected(h, () => beat(ep.id, { health: 'sick' }), 400, 'validation-failed', ['body.health']);
    await expectRejected(h, () => beat(ep.id, { healthy: true }), 400, 'validation-failed', ['body.healthy']);
    await expectRejected(h, () => beat(MISSING), 404, 'not-found');
    await expectRejected(h, () => beat('xyz'), 404, 'not-found');
    await expectRejected(h, () => h.call('PUT', `/api/v1/services/default/ghost/endpoints/${ep.id}/heartbeat`), 404, 'not-found');
    const [row] = await h.db.select().from(endpoints).where(eq(endpoints.id, ep.id));
    expect(row).toMatchObject({ health: 'healthy', revision: 1 });
  });
});
