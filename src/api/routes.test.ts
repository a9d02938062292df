/**
 * `/api/v1/routes` (CRUD), `POST /api/v1/traffic/split`, `?dryRun=true` (the Envoy resources a write
 * would change, nothing stored) and a service's `trafficPolicy`, through `inject()`.
 */
import { asc } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changesSince, currentRevision } from '../registry/changes.ts';
import { routes } from '../registry/schema.ts';
import { apiHarness, dbState, expectProblem, expectRejected, type ApiHarness, type Method, type Response } from '../../test/support/api.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await apiHarness();
  // greeter: the dry-run examples; echo: traffic splits; web and api: CRUD.
  for (const name of ['greeter', 'echo', 'web', 'api']) await h.service({ name, port: 8080 });
  await h.endpoint('default', 'greeter', { address: '10.0.0.1', port: 8080, labels: { version: 'v1' } });
  await h.endpoint('default', 'greeter', { address: '10.0.0.2', port: 8080, labels: { version: 'v2' } });
  await h.endpoint('default', 'echo', { address: '10.0.1.1', port: 8080, labels: { version: 'v1', track: 'stable' } });
  await h.endpoint('default', 'echo', { address: '10.0.1.2', port: 8080, labels: { version: 'v2', track: 'canary' } });
  await h.endpoint('default', 'web', { address: '10.0.2.1', port: 8080, labels: { version: 'v1' } });
  await h.service({ namespace: 'shop', name: 'cart', port: 8080 });
  // raw: a tcp service, which a split cannot route to.
  await h.service({ name: 'raw', port: 9000, protocol: 'tcp' });
  await h.endpoint('default', 'raw', { address: '10.0.3.1', port: 9000, labels: { version: 'v1' } });
  await h.endpoint('default', 'raw', { address: '10.0.3.2', port: 9000, labels: { version: 'v2' } });
});
afterAll(async () => h?.close());

const ROUTES = '/api/v1/routes';
const SPLIT = '/api/v1/traffic/split';
const dest = (name: string, weight = 100, subset?: Record<string, string>) => ({ namespace: 'default', name, weight, ...(subset ? { subset } : {}) });
const direct = { directResponse: { status: 204 } };
const post = (body: unknown, query = '') => h.call('POST', `${ROUTES}${query}`, body);
const put = (path: string, body: unknown, headers?: Record<string, string>, query = '') => h.call('PUT', `${ROUTES}/${path}${query}`, body, headers);

/** Every stored route, to compare before and after a write that must not store anything. */
const routeRows = () => h.db.select().from(routes).orderBy(asc(routes.namespace), asc(routes.name));

/** The write answered this problem, and neither the routes nor the revision or change log moved. */
async function rejected(write: () => Promise<Response>, status: number, code: string, paths?: string[]) {
  const before = await routeRows();
  const body = await expectRejected(h, write, status, code, paths);
  expect(await routeRows()).toEqual(before);
  return body;
}

/** Runs a write as a dry run and for real; both answer the same problem (but for `instance`) and store nothing. */
async function rejectedBoth(method: Method, url: string, body: unknown, status: number, code: string, paths?: string[], headers?: Record<string, string>) {
  const dry = await rejected(() => h.call(method, `${url}${url.includes('?') ? '&' : '?'}dryRun=true`, body, headers), status, code, paths);
  const real = await rejected(() => h.call(method, url, body, headers), status, code, paths);
  expect({ ...dry, instance: undefined }).toEqual({ ...real, instance: undefined });
  return real;
}

describe('POST /api/v1/routes', () => {
  it('creates a route with defaults, a Location, an ETag and one route change', async () => {
    const rev = await currentRevision(h.db);
    const res = await post({ name: 'to-web', destinations: [dest('web')] });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.headers.location).toBe('/api/v1/routes/default/to-web');
    expect(res.headers.etag).toBe('"1"');
    expect(res.json()).toEqual({
      namespace: 'default',
      name: 'to-web',
      hosts: [],
      priority: 0,
      match: {},
      destinations: [dest('web')],
      revision: 1,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(await currentRevision(h.db)).toBe(rev + 1);
    expect(await changesSince(h.db, rev)).toEqual([expect.objectContaining({ kind: 'route', op: 'create', namespace: 'default', name: 'to-web' })]);
  });

  it('stores every field and reads it back through GET with the same ETag', async () => {
    const spec = {
      namespace: 'default',
      name: 'rich',
      hosts: ['rich.example.com'],
      priority: 7,
      match: { path: { prefix: '/v1' }, headers: [{ name: 'x-user', regex: '^[a-z]+$' }], query: [{ name: 'debug', present: true }], methods: ['GET'] },
      destinations: [dest('web', 80, { version: 'v1' }), dest('api', 20)],
      timeoutMs: 1500,
      retries: { attempts: 2, perTryTimeoutMs: 500, retryOn: ['5xx', 'reset'], backoff: { baseMs: 25, maxMs: 250 } },
      fault: { delay: { fixedMs: 100, percent: 2.5 }, abort: { httpStatus: 503, percent: 1 } },
      mirror: { namespace: 'shop', name: 'cart', percent: 10 },
      requestHeaders: { set: { 'x-env': 'prod' }, remove: ['x-debug'] },
      responseHeaders: { add: { 'x-served-by': '%HOSTNAME%' } },
      rewrite: { prefix: '/', host: 'web.internal' },
      cors: { allowOrigins: [{ exact: 'https://app.example.com' }], allowMethods: ['GET'], maxAgeSeconds: 600 },
      rateLimit: { maxTokens: 100, tokensPerFill: 10, fillIntervalMs: 1000 },
    };
    const created = await post(spec);
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject(spec);
    const got = await h.call('GET', `${ROUTES}/default/rich`);
    expect(got.headers.etag).toBe('"1"');
    expect(got.json()).toEqual(created.json());
  });

  const bad: [string, Record<string, unknown>, string[]][] = [
    ['weights that do not add up to 100', { destinations: [dest('web', 60), dest('api', 30)] }, ['body.destinations']],
    ['an unknown service', { destinations: [dest('nobody')] }, ['body.destinations[0]']],
    ['a subset that selects no endpoint', { destinations: [dest('web', 100, { version: 'v9' })] }, ['body.destinations[0].subset']],
    ['the same destination twice', { destinations: [dest('web', 50), dest('web', 50)] }, ['body.destinations[1]']],
    ['a header regex RE2 cannot parse', { destinations: [dest('web')], match: { headers: [{ name: 'x-a', regex: '(' }] } }, ['body.match.headers[0].regex']],
    ['a lookbehind, which RE2 lacks', { destinations: [dest('web')], match: { headers: [{ name: 'x-a', regex: '(?<=a)b' }] } }, ['body.match.headers[0].regex']],
    ['a path prefix without /', { destinations: [dest('web')], match: { path: { prefix: 'v1' } } }, ['body.match.path.prefix']],
    ['a mirror to an unknown service', { destinations: [dest('web')], mirror: { namespace: 'default', name: 'nobody', percent: 5 } }, ['body.mirror']],
    ['no action', {}, ['body.destinations']],
    ['destinations and a redirect', { destinations: [dest('web')], redirect: { host: 'x.example.com' } }, ['body.redirect']],
    ['a name that is not a DNS label', { name: 'Bad_Name', destinations: [dest('web')] }, ['body.name']],
    ['an unknown field (schema)', { destinations: [dest('web')], colour: 'red' }, ['body.colour']],
    ['a weight over 100 (schema)', { destinations: [dest('web', 101)] }, ['body.destinations[0].weight']],
  ];
  it.each(bad)('rejects %s with 400 naming the field, for real and as a dry run', async (_what, body, paths) => {
    await rejectedBoth('POST', ROUTES, { name: 'bad', ...body }, 400, 'validation-failed', paths);
  });

  it('answers 409 for a name that exists, as a dry run too', async () => {
    await rejectedBoth('POST', ROUTES, { name: 'to-web', hosts: ['elsewhere.example.com'], ...direct }, 409, 'conflict');
  });

  describe('two routes claiming the same host, priority and match', () => {
    beforeAll(async () => {
      expect((await post({ name: 'claim-a', hosts: ['claimed.example.com'], ...direct })).statusCode).toBe(201);
    });

    it.each<[string, string, Record<string, unknown>]>([
      ['the same host, priority and match', 'claim-same', {}],
      ['the same host in another case', 'claim-case', { hosts: ['CLAIMED.example.com'] }],
      ['path prefix / (what a missing path means)', 'claim-slash', { match: { path: { prefix: '/' } } }],
    ])('answers 409 naming both routes for %s', async (_what, name, over) => {
      const body = await rejectedBoth('POST', ROUTES, { name, hosts: ['claimed.example.com'], ...direct, ...over }, 409, 'conflict');
      expect(body.detail).toBe(`route default/${name} and route default/claim-a both claim host claimed.example.com with the same priority and match`);
    });

    it.each<[string, string, Record<string, unknown>]>([
      ['another priority', 'claim-priority', { priority: 1 }],
      ['another match', 'claim-match', { match: { path: { prefix: '/admin' } } }],
      ['another host', 'claim-host', { hosts: ['free.example.com'] }],
    ])('allows a second route with %s', async (_what, name, over) => {
      const res = await post({ name, hosts: ['claimed.example.com'], ...direct, ...over });
      expect(res.statusCode, res.body).toBe(201);
    });
  });

  it('finds a conflict on the hosts of the destination services when hosts are empty', async () => {
    await rejectedBoth('POST', ROUTES, { name: 'to-web-again', destinations: [dest('web')] }, 409, 'conflict');
  });

  it.each([['its port', 'web.default:8080'], ['another port (the gateway\'s)', 'WEB.default:10000']])(
    'finds a conflict with a route that claims the service host with %s: both land in its virtual host',
    async (_what, host) => {
      const body = await rejectedBoth('POST', ROUTES, { name: 'to-web-port', hosts: [host], destinations: [dest('web')] }, 409, 'conflict');
      expect(body.detail).toBe('route default/to-web-port and route default/to-web both claim host web.default with the same priority and match');
    },
  );
});

describe('GET /api/v1/routes', () => {
  beforeAll(async () => {
    await post({ namespace: 'shop', name: 'cart-route', destinations: [{ namespace: 'shop', name: 'cart', weight: 100 }] });
    await post({ namespace: 'shop', name: 'cart-to-web', hosts: ['cart.example.com'], destinations: [dest('web')] });
  });

  it.each([
    ['namespace=shop', ['shop/cart-route', 'shop/cart-to-web']],
    ['service=shop/cart', ['shop/cart-route']],
    ['namespace=shop&service=default/web', ['shop/cart-to-web']],
    ['service=default/web', ['default/rich', 'default/to-web', 'shop/cart-to-web']],
    ['service=default/nobody', []],
  ])('filters with %s', async (query, expected) => {
    const res = await h.call('GET', `${ROUTES}?${query}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().items.map((r: { namespace: string; name: string }) => `${r.namespace}/${r.name}`)).toEqual(expected);
  });

  it('rejects a service filter without a namespace, and answers 404 for a missing route', async () => {
    expectProblem(await h.call('GET', `${ROUTES}?service=web`), 400, 'validation-failed', ['query.service']);
    expectProblem(await h.call('GET', `${ROUTES}/default/nobody`), 404, 'not-found');
  });
});

describe('PUT and DELETE /api/v1/routes/{namespace}/{name}', () => {
  it('replaces a route (omitted fields take their defaults), bumps its revision and records one change', async () => {
    await post({ name: 'edit-me', hosts: ['edit.example.com'], priority: 3, match: { methods: ['GET'] }, ...direct });
    const rev = await currentRevision(h.db);
    const res = await put('default/edit-me', { hosts: ['edit.example.com'], destinations: [dest('api')] }, { 'if-match': '"1"' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers.etag).toBe('"2"');
    expect(res.json()).toMatchObject({ priority: 0, match: {}, destinations: [dest('api')], revision: 2 });
    expect(res.json()).not.toHaveProperty('directResponse');
    expect(await changesSince(h.db, rev)).toEqual([expect.objectContaining({ kind: 'route', op: 'update', name: 'edit-me' })]);
    // The route's own old version is no conflict.
    expect((await put('default/edit-me', { hosts: ['edit.example.com'], destinations: [dest('api')] })).statusCode).toBe(200);
  });

  it('refuses stale or malformed If-Match, a mismatched body, a missing route and a conflict, writing nothing', async () => {
    const body = { hosts: ['edit.example.com'], ...direct };
    await rejectedBoth('PUT', `${ROUTES}/default/edit-me`, body, 412, 'precondition-failed', undefined, { 'if-match': '"1"' });
    await rejected(() => put('default/edit-me', body, { 'if-match': 'one' }), 400, 'validation-failed', ['header.if-match']);
    await rejected(() => put('default/edit-me', { ...body, namespace: 'shop', name: 'other' }), 400, 'validation-failed', ['body.namespace', 'body.name']);
    await rejectedBoth('PUT', `${ROUTES}/default/nobody`, body, 404, 'not-found');
    await rejectedBoth('PUT', `${ROUTES}/default/edit-me`, { hosts: ['claimed.example.com'], ...direct }, 409, 'conflict');
    await rejectedBoth('PUT', `${ROUTES}/default/edit-me`, { destinations: [dest('api', 50)] }, 400, 'validation-failed', ['body.destinations']);
  });

  it('names the URL segment when the URL names no valid route, as the services API does', async () => {
    await rejectedBoth('PUT', `${ROUTES}/Bad_NS/x`, direct, 400, 'validation-failed', ['params.namespace']);
    await rejectedBoth('PUT', `${ROUTES}/default/Bad_Name`, direct, 400, 'validation-failed', ['params.name']);
  });

  it('deletes a route with one change, and refuses a stale If-Match or a missing route', async () => {
    await post({ name: 'doomed', hosts: ['doomed.example.com'], ...direct });
    await rejectedBoth('DELETE', `${ROUTES}/default/doomed`, undefined, 412, 'precondition-failed', undefined, { 'if-match': '"2"' });
    const rev = await currentRevision(h.db);
    const res = await h.call('DELETE', `${ROUTES}/default/doomed`, undefined, { 'if-match': '"1"' });
    expect(res.statusCode).toBe(204);
    expect(await changesSince(h.db, rev)).toEqual([expect.objectContaining({ kind: 'route', op: 'delete', name: 'doomed' })]);
    expectProblem(await h.call('GET', `${ROUTES}/default/doomed`), 404, 'not-found');
    await rejectedBoth('DELETE', `${ROUTES}/default/doomed`, undefined, 404, 'not-found');
  });
});

describe('dry runs', () => {
  /** Runs a dry run after syncing the served config and checks that it answered 200 and stored nothing. */
  async function dryRun(method: Method, url: string, body?: unknown) {
    await h.syncServed();
    const [state, rows] = [await dbState(h.db), await routeRows()];
    const res = await h.call(method, `${url}?dryRun=true`, body);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ dryRun: true, route: expect.any(Object), changes: expect.any(Array), issues: [] });
    // Nothing was stored, so there is no new revision to name in an ETag, and nothing at a Location.
    expect(res.headers).not.toHaveProperty('etag');
    expect(res.headers).not.toHaveProperty('location');
    expect(await dbState(h.db)).toEqual(state);
    expect(await routeRows()).toEqual(rows);
    return res.json();
  }
  const summary = (changes: { type: string; name: string; change: string }[]) => changes.map((c) => `${c.change} ${c.type} ${c.name}`);
  const eds = (key: string) => expect.stringMatching(new RegExp(`^(added|removed) eds greeter\\.default~[0-9a-f]{8}\\|${key}$`));
  const splitChanges = (change: 'added' | 'removed') => [
    `${change} cds greeter.default|version=v1`,
    `${change} cds greeter.default|version=v2`,
    eds('version=v1'),
    eds('version=v2'),
    'modified lds greeter.default',
    'modified lds greeter.default:8080',
    'modified rds gateway',
    'modified rds outbound:8080',
  ];

  it('previews a split: subset clusters and their endpoints added, routes with weighted clusters modified', async () => {
    const preview = await dryRun('POST', SPLIT, { service: 'greeter', weights: { v1: 90, v2: 10 } });
    expect(preview.route).toMatchObject({ namespace: 'default', name: 'greeter-split', revision: 1 });
    expect(summary(preview.changes)).toEqual(splitChanges('added'));
    const rds = preview.changes.find((c: { name: string }) => c.name === 'outbound:8080').resource;
    const vhost = rds.virtualHosts.find((v: { name: string }) => v.name === 'greeter.default');
    expect(vhost.routes.map((r: { name: string }) => r.name)).toEqual(['default/greeter-split', 'default']);
    expect(vhost.routes[0].route.weightedClusters.clusters).toEqual([
      { name: 'greeter.default|version=v1', weight: { value: 90 } },
      { name: 'greeter.default|version=v2', weight: { value: 10 } },
    ]);
    expect(await h.call('GET', `${ROUTES}/default/greeter-split`).then((r) => r.statusCode)).toBe(404);
  });

  it('previews a create and an update of the same route the same way', async () => {
    const route = { name: 'greeter-canary', destinations: [dest('greeter', 90, { version: 'v1' }), dest('greeter', 10, { version: 'v2' })] };
    expect(summary((await dryRun('POST', ROUTES, route)).changes)).toEqual(splitChanges('added'));
    await post({ ...route, destinations: [dest('greeter')] });
    expect(summary((await dryRun('PUT', `${ROUTES}/default/greeter-canary`, route)).changes)).toEqual(splitChanges('added'));
  });

  it('previews a write that changes no Envoy resource as no changes', async () => {
    const preview = await dryRun('PUT', `${ROUTES}/default/greeter-canary`, { destinations: [dest('greeter')] });
    expect(preview.route).toMatchObject({ name: 'greeter-canary', revision: 2 });
    expect(preview.changes).toEqual([]);
    expect((await h.call('DELETE', `${ROUTES}/default/greeter-canary`)).statusCode).toBe(204);
  });

  it('previews deleting a split as its subset clusters and endpoints removed', async () => {
    expect((await h.call('POST', SPLIT, { service: 'greeter', weights: { v1: 90, v2: 10 } })).statusCode).toBe(201);
    const preview = await dryRun('DELETE', `${ROUTES}/default/greeter-split`);
    expect(preview.route).toMatchObject({ name: 'greeter-split', revision: 1 });
    expect(summary(preview.changes)).toEqual(splitChanges('removed'));
    expect(preview.changes.filter((c: { change: string }) => c.change === 'removed').every((c: object) => !('resource' in c))).toBe(true);
  });
});

describe('POST /api/v1/traffic/split', () => {
  const split = (body: Record<string, unknown>) => h.call('POST', SPLIT, { service: 'echo', ...body });

  it('creates <service>-split with one destination per weight, then replaces it', async () => {
    const rev = await currentRevision(h.db);
    const created = await split({ weights: { v2: 10, v1: 90 } });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.headers.location).toBe('/api/v1/routes/default/echo-split');
    expect(created.json()).toMatchObject({
      name: 'echo-split',
      hosts: [],
      priority: 0,
      match: {},
      destinations: [dest('echo', 90, { version: 'v1' }), dest('echo', 10, { version: 'v2' })],
      revision: 1,
    });
    const replaced = await split({ weights: { v1: 50, v2: 50 } });
    expect(replaced.statusCode, replaced.body).toBe(200);
    expect(replaced.headers.etag).toBe('"2"');
    expect(replaced.json()).toMatchObject({ revision: 2, destinations: [dest('echo', 50, { version: 'v1' }), dest('echo', 50, { version: 'v2' })] });
    expect((await changesSince(h.db, rev)).map((c) => `${c.kind} ${c.op} ${c.name}`)).toEqual(['route create echo-split', 'route update echo-split']);
  });

  it('keys the weights by another label, under another name', async () => {
    // Both splits would claim echo's host with the same priority and match.
    expect((await h.call('DELETE', `${ROUTES}/default/echo-split`)).statusCode).toBe(204);
    const res = await split({ name: 'echo-tracks', subsetLabel: 'track', weights: { stable: 100, canary: 0 } });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().destinations).toEqual([dest('echo', 0, { track: 'canary' }), dest('echo', 100, { track: 'stable' })]);
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    ['weights adding up to 90', { weights: { v1: 80, v2: 10 } }, ['body.weights']],
    ['a weight over 100 (schema)', { weights: { v1: 101 } }, ['body.weights.v1']],
    ['no weights (schema)', { weights: {} }, ['body.weights']],
    ['a service that is not a DNS label', { service: 'Echo', weights: { v1: 100 } }, ['body.service']],
  ])('rejects %s naming the field', async (_what, body, paths) => {
    await rejectedBoth('POST', SPLIT, { service: 'echo', name: 'bad-split', ...body }, 400, 'validation-failed', paths);
  });

  it('rejects a value no endpoint has', async () => {
    const body = await rejectedBoth('POST', SPLIT, { service: 'echo', name: 'bad-split', weights: { v1: 90, v3: 10 } }, 400, 'validation-failed');
    expect(body.errors).toEqual([{ path: expect.stringMatching(/^body\.weights/), message: 'subset "version=v3" selects no endpoint of service default/echo' }]);
  });

  // Destination i of the route is the weight of the i-th label value in sorted order; what is wrong
  // with the service, which every destination repeats, is said once.
  it.each<[string, Record<string, unknown>, string[]]>([
    ['the weight whose value no endpoint has', { weights: { v1: 90, v3: 10 } }, ['body.weights.v3']],
    ['the weight whose value no endpoint has, whatever the order given', { weights: { v9: 10, v2: 80, v1: 10 } }, ['body.weights.v9']],
    ['the service that does not exist, once', { service: 'nobody', weights: { v1: 50, v2: 50 } }, ['body.service']],
    ['the tcp service, once', { service: 'raw', weights: { v1: 50, v2: 50 } }, ['body.service']],
  ])('names %s', async (_what, body, paths) => {
    await rejectedBoth('POST', SPLIT, { service: 'echo', name: 'bad-split', ...body }, 400, 'validation-failed', paths);
  });
});

describe('service trafficPolicy', () => {
  const SERVICES = '/api/v1/services';
  const policy = {
    loadBalancer: { algorithm: 'ring_hash', hashOn: [{ header: 'x-user' }, { sourceIp: true, terminal: true }], ringSize: { min: 1024, max: 4096 } },
    connectionPool: { maxConnections: 100, maxPendingRequests: 10, maxRequests: 1000, maxRetries: 3 },
    outlierDetection: { consecutive5xx: 5, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 50 },
    healthCheck: { http: { path: '/healthz', expectedStatuses: [{ start: 200, end: 299 }] }, intervalMs: 5000, timeoutMs: 1000, healthyThreshold: 2, unhealthyThreshold: 3 },
    rateLimit: { maxTokens: 100, tokensPerFill: 10, fillIntervalMs: 1000, status: 429, responseHeaders: { 'x-limited': 'yes' } },
  };
  const other = {
    loadBalancer: { algorithm: 'least_request', choiceCount: 3, zoneAware: { minClusterSize: 2, routingEnabledPercent: 50.5 } },
    healthCheck: { tcp: {}, intervalMs: 1000, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 2 },
  };
  const get = async () => (await h.call('GET', `${SERVICES}/default/tuned`)).json().trafficPolicy;

  it('round-trips through POST, PUT and GET, and null (or leaving it out of a PUT) clears it', async () => {
    expect((await h.service({ name: 'tuned', port: 80, trafficPolicy: policy })).trafficPolicy).toEqual(policy);
    expect(await get()).toEqual(policy);
    for (const [body, expected] of [[{ trafficPolicy: other }, other], [{ trafficPolicy: null }, null], [{ trafficPolicy: policy }, policy], [{}, null]] as const) {
      const res = await h.call('PUT', `${SERVICES}/default/tuned`, { port: 80, ...body });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().trafficPolicy).toEqual(expected);
      expect(await get()).toEqual(expected);
    }
  });

  const hc = { intervalMs: 1000, timeoutMs: 100, healthyThreshold: 1, unhealthyThreshold: 1 };
  it.each<[string, Record<string, unknown>, string]>([
    ['a ring whose min exceeds its max', { loadBalancer: { algorithm: 'ring_hash', ringSize: { min: 10, max: 5 } } }, 'loadBalancer.ringSize.min'],
    ['a ring size without ring_hash', { loadBalancer: { algorithm: 'maglev', ringSize: { min: 10 } } }, 'loadBalancer.ringSize'],
    ['hashOn without a hashing algorithm', { loadBalancer: { algorithm: 'round_robin', hashOn: [{ header: 'x-user' }] } }, 'loadBalancer.hashOn'],
    ['a hash policy with two forms', { loadBalancer: { algorithm: 'maglev', hashOn: [{ header: 'x-user', sourceIp: true }] } }, 'loadBalancer.hashOn[0]'],
    ['a health check with two kinds', { healthCheck: { http: { path: '/h' }, tcp: {}, ...hc } }, 'healthCheck'],
    ['a health check with no kind', { healthCheck: hc }, 'healthCheck'],
    ['a status range that ends before it starts', { healthCheck: { http: { path: '/h', expectedStatuses: [{ start: 300, end: 200 }] }, ...hc } }, 'healthCheck.http.expectedStatuses[0].end'],
    ['a rate limit that sets host', { rateLimit: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 100, responseHeaders: { host: 'x' } } }, 'rateLimit.responseHeaders.host'],
    ['a percent of 101 (schema)', { outlierDetection: { maxEjectionPercent: 101 } }, 'outlierDetection.maxEjectionPercent'],
    ['a fractional percent of 100.5 (schema)', { loadBalancer: { algorithm: 'random', zoneAware: { routingEnabledPercent: 100.5 } } }, 'loadBalancer.zoneAware.routingEnabledPercent'],
    ['a fill interval under 50 ms (schema)', { rateLimit: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 10 } }, 'rateLimit.fillIntervalMs'],
    ['an unknown algorithm (schema)', { loadBalancer: { algorithm: 'fastest' } }, 'loadBalancer.algorithm'],
    ['an unknown field (schema)', { circuitBreaker: {} }, 'circuitBreaker'],
  ])('rejects %s in POST and PUT, naming the field under body.trafficPolicy', async (_what, trafficPolicy, path) => {
    await expectRejected(h, () => h.call('POST', SERVICES, { name: 'bad-policy', port: 80, trafficPolicy }), 400, 'validation-failed', [`body.trafficPolicy.${path}`]);
    await expectRejected(h, () => h.call('PUT', `${SERVICES}/default/web`, { port: 8080, trafficPolicy }), 400, 'validation-failed', [`body.trafficPolicy.${path}`]);
  });
});
