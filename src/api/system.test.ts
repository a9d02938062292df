/** Liveness, readiness, metrics, the OpenAPI document, unknown routes, and a database outage (503). */
import pg from 'pg';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.ts';
import { openDatabase } from '../registry/db.ts';
import { runMigrations } from '../registry/migrate.ts';
import { apiHarness, dbState, expectProblem, noProxies, openTestCa, type ApiHarness } from '../../test/support/api.ts';
import { createPostgresDatabase, onPostgres } from '../../test/support/test-db.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await apiHarness();
});
afterAll(async () => h?.close());

describe('health, readiness, metrics and status', () => {
  it('answers /healthz', async () => {
    const res = await h.call('GET', '/healthz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz 503 with the reason until ready, then 200', async () => {
    h.readiness.ready = false;
    h.readiness.reason = 'the first xDS snapshot has not been built yet';
    const body = expectProblem(await h.call('GET', '/readyz'), 503, 'not-ready');
    expect(body.detail).toBe('the first xDS snapshot has not been built yet');
    h.readiness.ready = true;
    const res = await h.call('GET', '/readyz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready' });
  });

  it('serves the Prometheus registry it was given', async () => {
    new Counter({ name: 'apg_test_pushes_total', help: 'pushes', registers: [h.metrics] }).inc(3);
    const res = await h.call('GET', '/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain('# TYPE apg_test_pushes_total counter');
    expect(res.body).toContain('apg_test_pushes_total 3');
  });

  it('serves the xDS build status', async () => {
    expect((await h.call('GET', '/api/v1/xds/status')).json()).toEqual({ revision: 7 });
  });

  it('answers an unknown route with a 404 problem', async () => {
    const body = expectProblem(await h.call('GET', '/api/v2/nothing?x=1'), 404, 'not-found');
    expect(body.detail).toBe('no route GET /api/v2/nothing');
  });
});

describe('GET /api/v1/openapi.json', () => {
  let doc: Record<string, any>;
  beforeAll(async () => {
    const res = await h.call('GET', '/api/v1/openapi.json');
    expect(res.statusCode).toBe(200);
    doc = res.json();
  });

  it('is an OpenAPI 3 document', () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
  });

  it('lists every route with its methods', () => {
    const methods = Object.fromEntries(Object.entries(doc.paths as Record<string, object>).map(([p, ops]) => [p, Object.keys(ops).sort()]));
    expect(methods).toEqual({
      '/api/v1/services': ['get', 'post'],
      '/api/v1/services/{namespace}/{name}': ['delete', 'get', 'put'],
      '/api/v1/services/{namespace}/{name}/endpoints': ['get', 'post'],
      '/api/v1/services/{namespace}/{name}/endpoints/{id}': ['delete', 'get', 'put'],
      '/api/v1/services/{namespace}/{name}/endpoints/{id}/heartbeat': ['put'],
      '/api/v1/routes': ['get', 'post'],
      '/api/v1/routes/{namespace}/{name}': ['delete', 'get', 'put'],
      '/api/v1/traffic/split': ['post'],
      '/api/v1/ca/roots': ['get'],
      '/api/v1/ca/rotate': ['post'],
      '/api/v1/certificates/revoke': ['post'],
      '/api/v1/certificates': ['get', 'post'],
      '/api/v1/ca/sign': ['post'],
      '/api/v1/join-tokens': ['get', 'post'],
      '/api/v1/join-tokens/{id}': ['delete'],
      '/api/v1/alert-rules': ['get', 'post'],
      '/api/v1/alert-rules/{id}': ['delete', 'get', 'put'],
      '/api/v1/alerts': ['get'],
      '/api/v1/alerts/{id}': ['get'],
      '/api/v1/cluster-stats': ['get'],
      '/api/v1/metrics': ['get'],
      '/api/v1/topology': ['get'],
      '/api/v1/traces': ['get'],
      '/api/v1/traces/{traceId}': ['get'],
      '/api/v1/telemetry': ['get'],
      '/api/v1/authorization-policies': ['get', 'post'],
      '/api/v1/authorization-policies/{namespace}/{name}': ['delete', 'get', 'put'],
      '/api/v1/authorization/check': ['get'],
      '/api/v1/proxies': ['get'],
      '/api/v1/proxies/{id}': ['get'],
      '/api/v1/proxies/{id}/config': ['get'],
      '/healthz': ['get'],
      '/readyz': ['get'],
      '/metrics': ['get'],
      '/api/v1/xds/status': ['get'],
    });
  });

  it('names the component schemas and every $ref resolves to one', () => {
    const components = doc.components.schemas as Record<string, any>;
    expect(Object.keys(components).sort()).toEqual([
      'Endpoint',
      'EndpointList',
      'Problem',
      'Proxy',
      'ProxyConfig',
      'ProxyList',
      'ProxyStream',
      'ProxyTypeStatus',
      'Route',
      'RouteCreate',
      'RouteList',
      'RouteUpdate',
      'Service',
      'ServiceList',
      'TrafficSplit',
    ]);
    expect(components.Service.properties).toHaveProperty('revision');
    expect(components.Problem.properties).toHaveProperty('errors');
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) expect(Object.keys(components)).toContain(ref.replace(/^"\$ref":"#\/components\/schemas\//, '').replace(/"$/, ''));
  });

  it('documents the list filters, the request bodies and the problem responses', () => {
    const list = doc.paths['/api/v1/services'].get;
    expect(list.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`).sort()).toEqual(['query:health', 'query:label', 'query:namespace', 'query:tag']);
    const create = doc.paths['/api/v1/services'].post;
    expect(create.requestBody.content['application/json'].schema).toMatchObject({ required: ['name', 'port'], additionalProperties: false });
    expect(create.responses['409'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
    const heartbeat = doc.paths['/api/v1/services/{namespace}/{name}/endpoints/{id}/heartbeat'].put;
    expect(heartbeat.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['dryRun', 'id', 'name', 'namespace']);
  });

  it('documents ?dryRun on every write, and the 200 it answers', () => {
    const writes = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([method]) => method !== 'get')
        .map(([method, op]) => ({ write: `${method} ${path}`, op })),
    );
    expect(writes).toHaveLength(23);
    for (const { write, op } of writes) {
      expect(op.parameters.find((p: { name: string }) => p.name === 'dryRun'), write).toMatchObject({ in: 'query', required: false, schema: { enum: ['true', 'false'] } });
    }
    const dryRun = (schema: Record<string, any>) => schema.anyOf?.[1] ?? schema;
    for (const [path, method, key] of [
      ['/api/v1/services', 'post', 'service'],
      ['/api/v1/services/{namespace}/{name}', 'put', 'service'],
      ['/api/v1/services/{namespace}/{name}', 'delete', 'service'],
      ['/api/v1/services/{namespace}/{name}/endpoints', 'post', 'endpoint'],
      ['/api/v1/services/{namespace}/{name}/endpoints/{id}', 'put', 'endpoint'],
      ['/api/v1/services/{namespace}/{name}/endpoints/{id}', 'delete', 'endpoint'],
      ['/api/v1/services/{namespace}/{name}/endpoints/{id}/heartbeat', 'put', 'endpoint'],
      ['/api/v1/join-tokens', 'post', 'joinToken'],
      ['/api/v1/join-tokens/{id}', 'delete', 'joinToken'],
      ['/api/v1/alert-rules', 'post', 'alertRule'],
      ['/api/v1/alert-rules/{id}', 'put', 'alertRule'],
      ['/api/v1/alert-rules/{id}', 'delete', 'alertRule'],
      ['/api/v1/ca/sign', 'post', 'certificate'],
    ] as const) {
      const schema = dryRun(doc.paths[path][method].responses['200'].content['application/json'].schema);
      expect(schema.required, `${method} ${path}`).toEqual(['dryRun', key, 'changes', 'issues']);
    }
  });
});

describe.skipIf(!onPostgres())('when the database is unavailable (PostgreSQL)', () => {
  let created: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let database: Awaited<ReturnType<typeof openDatabase>>;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let admin: pg.Client;
  let dbName: string;
  const write = (name: string) => app.inject({ method: 'POST', url: '/api/v1/services', payload: { name, port: 80 } });
  /** Ends every session of the app's database (the pool's and any other) and waits until they are gone. */
  const terminateBackends = () =>
    admin.query('select pg_terminate_backend(pid, 5000) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [dbName]);

  beforeAll(async () => {
    created = await createPostgresDatabase();
    dbName = new URL(created.url).pathname.slice(1);
    database = await openDatabase({ url: created.url, poolSize: 3 });
    await runMigrations(database);
    app = await buildApp({
      db: database.db,
      metrics: new Registry(),
      proxies: noProxies,
      previewWrite: async () => ({ changes: [], issues: [] }),
      ca: await openTestCa(database.db),
      readiness: () => ({ ready: true }),
      buildStatus: () => ({}),
    });
    admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.query(`alter database ${dbName} with allow_connections true`).catch(() => {});
    await admin?.end();
    await app?.close();
    await database?.close();
    await created?.drop();
  });

  it('answers 503 database-unavailable while it refuses connections, writes nothing, and recovers', async () => {
    expect((await write('before')).statusCode).toBe(201);
    const before = await dbState(database.db);
    await admin.query(`alter database ${dbName} with allow_connections false`);
    try {
      await terminateBackends();
      const body = expectProblem(await write('during'), 503, 'database-unavailable');
      expect(body.detail).toMatch(/may not have been applied/);
      expectProblem(await app.inject({ method: 'GET', url: '/api/v1/services' }), 503, 'database-unavailable');
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await admin.query(`alter database ${dbName} with allow_connections true`);
    }
    expect(await dbState(database.db)).toEqual(before);
    expect((await write('during')).statusCode).toBe(201);
    expect((await dbState(database.db)).revision).toBe(before.revision + 1);
  });

  it('survives its pooled connections being terminated under load: each write is applied or answered 503', async () => {
    for (let round = 0; round < 5; round++) {
      const inflight = [0, 1, 2].map((i) => write(`load-${round}-${i}`));
      await terminateBackends();
      for (const res of await Promise.all(inflight)) expect([201, 503]).toContain(res.statusCode);
      // A pooled connection the server closed answers one 503 when next used; then the pool replaces it.
      const attempts: number[] = [];
      while (attempts.at(-1) !== 201 && attempts.length < 5) attempts.push((await write(`after-${round}`)).statusCode);
      expect(attempts.at(-1)).toBe(201);
      for (const status of attempts.slice(0, -1)) expect(status).toBe(503);
    }
    const names = (await app.inject({ method: 'GET', url: '/api/v1/services' })).json().items.map((s: { name: string }) => s.name);
    const state = await dbState(database.db);
    expect(state.services).toBe(names.length);
    expect(state.changes).toBe(state.revision);
  });
});
