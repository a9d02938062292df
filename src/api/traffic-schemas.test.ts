/** The traffic schemas: their Static types fit the domain types, and ajv (as the app configures it) checks shapes, ranges and defaults. */
import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify from 'fastify';
import type { Static, TSchema } from 'typebox';
import { describe, expect, it } from 'vitest';
import type { RouteMatch, RouteSpec, TrafficPolicy } from '../model/traffic.ts';
import { SHARED_SCHEMAS } from './schemas.ts';
import { DRY_RUN_QUERY, isDryRun } from './schema-base.ts';
import { Route, RouteBody, RouteList, RouteQuery, RouteUpdate, TRAFFIC_SCHEMAS, TrafficPolicySchema, TrafficSplitBody } from './traffic-schemas.ts';

/* ---------- compile-time: the Static types are the domain types ---------- */

/** What ajv's defaults fill in on a route body. */
type Defaulted = { namespace: string; hosts: string[]; priority: number; match: RouteMatch };
/** The same fields at every depth, in both directions (optionality is left to the assignments below). */
type SameShape<A, B> = A extends readonly (infer X)[]
  ? B extends readonly (infer Y)[] ? SameShape<X, Y> : false
  : A extends object
    ? B extends object
      ? [keyof A] extends [keyof B]
        ? [keyof B] extends [keyof A]
          ? AllTrue<{ [K in keyof A & keyof B]-?: SameShape<NonNullable<A[K]>, NonNullable<B[K]>> }>
          : false
        : false
      : false
    : true;
type AllTrue<T> = T[keyof T] extends true ? true : false;
type Meta = { revision: number; createdAt: string; updatedAt: string };

// A validated body is the domain object.
const _created: RouteSpec = {} as Static<typeof RouteBody> & Defaulted;
const _replaced: RouteSpec = {} as Static<typeof RouteUpdate> & Defaulted & { name: string };
const _policy: TrafficPolicy = {} as Static<typeof TrafficPolicySchema>;
const _stored: RouteSpec & Meta = {} as Static<typeof Route>;
// And the domain object is what the response schema describes. `retries.retryOn` is the one narrowing:
// the schema lists Envoy's conditions, the domain type says string[].
const _policyBack: Static<typeof TrafficPolicySchema> = {} as TrafficPolicy;
const _routeBack: Omit<Static<typeof Route>, 'retries'> = {} as Omit<RouteSpec, 'retries'> & Meta;
// No field missing or extra at any depth.
const _shapes: [true, true, true, true] = [
  true as SameShape<Static<typeof RouteBody>, RouteSpec>,
  true as SameShape<Static<typeof RouteUpdate>, RouteSpec>,
  true as SameShape<Omit<Static<typeof Route>, keyof Meta>, RouteSpec>,
  true as SameShape<Static<typeof TrafficPolicySchema>, TrafficPolicy>,
];
void [_created, _replaced, _policy, _stored, _policyBack, _routeBack, _shapes];

/* ---------- runtime: ajv as src/api/app.ts configures it ---------- */

const ajv = new Ajv({ coerceTypes: false, removeAdditional: false, allErrors: true, useDefaults: true });
addFormats.default(ajv);
for (const schema of TRAFFIC_SCHEMAS) ajv.addSchema(schema);
const compiled = new Map<TSchema, ReturnType<typeof ajv.compile>>();
const validator = (schema: TSchema) => {
  let v = compiled.get(schema);
  const id = (schema as { $id?: unknown }).$id;
  if (!v) compiled.set(schema, (v = (typeof id === 'string' ? ajv.getSchema(id) : undefined) ?? ajv.compile(schema)));
  return v;
};

/** `path keyword` of each error, after validating a copy of `data` (ajv's defaults change what it validates). */
function errors(schema: TSchema, data: unknown): string[] {
  const v = validator(schema);
  return v(structuredClone(data)) ? [] : (v.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.keyword}`);
}

/** The value after validation with defaults applied; fails the test when it is not valid. */
function valid<S extends TSchema>(schema: S, data: unknown): Static<S> {
  const copy = structuredClone(data);
  const v = validator(schema);
  expect(v(copy), JSON.stringify(v.errors)).toBe(true);
  return copy as Static<S>;
}

const GREETER = { namespace: 'default', name: 'greeter' };

/** A route that uses every feature the schema knows (not a route the semantic checks would accept: it has all three actions). */
const FULL_ROUTE = {
  namespace: 'shop',
  name: 'checkout',
  hosts: ['shop.example.com', '*.shop.example.com:8443'],
  priority: -20,
  match: {
    path: { prefix: '/api/', caseSensitive: false },
    headers: [
      { name: 'x-canary', exact: 'yes', ignoreCase: true },
      { name: 'x-debug', present: true, invert: true },
      { name: ':authority', regex: '^shop\\..*$' },
    ],
    query: [{ name: 'beta', present: true }, { name: 'lang', prefix: 'en' }],
    methods: ['GET', 'POST'],
  },
  destinations: [
    { ...GREETER, subset: { version: 'v1' }, weight: 90 },
    { ...GREETER, subset: { version: 'v2', 'app.kubernetes.io/track': 'canary' }, weight: 10 },
  ],
  redirect: { scheme: 'https', host: 'shop.example.com', port: 443, prefix: '/v2/', statusCode: 308, stripQuery: true },
  directResponse: { status: 503, body: 'down for maintenance' },
  timeoutMs: 0,
  retries: { attempts: 3, perTryTimeoutMs: 250, retryOn: ['5xx', 'reset', 'unavailable'], backoff: { baseMs: 25, maxMs: 250 } },
  fault: { delay: { fixedMs: 100, percent: 12.5 }, abort: { grpcStatus: 14, percent: 0.1 } },
  mirror: { namespace: 'shop', name: 'checkout-shadow', subset: { version: 'next' }, percent: 100 },
  requestHeaders: { set: { 'x-route': 'checkout' }, add: { 'x-client': '%DOWNSTREAM_REMOTE_ADDRESS%' }, remove: ['x-internal'] },
  responseHeaders: { set: { 'cache-control': 'no-store' } },
  rewrite: { regex: { pattern: '^/api/(.*)$', substitution: '/\\1' }, host: 'checkout.internal:8080' },
  cors: {
    allowOrigins: [{ exact: 'https://shop.example.com' }, { suffix: '.example.com', ignoreCase: true }],
    allowMethods: ['GET', 'POST'],
    allowHeaders: ['content-type'],
    exposeHeaders: ['x-request-id'],
    maxAgeSeconds: 600,
    allowCredentials: true,
  },
  rateLimit: { maxTokens: 100, tokensPerFill: 10, fillIntervalMs: 1000, status: 429, responseHeaders: { 'retry-after': '1' } },
  tracing: { samplePercent: 2.5 },
};

const FULL_POLICY = {
  loadBalancer: {
    algorithm: 'ring_hash',
    hashOn: [{ header: 'x-user', terminal: true }, { cookie: { name: 'session', ttlSeconds: 3600, path: '/' } }, { sourceIp: true }, { queryParameter: 'user' }],
    ringSize: { min: 1024, max: 8_388_608 },
    choiceCount: 2,
    zoneAware: { minClusterSize: 6, routingEnabledPercent: 99.5 },
  },
  connectionPool: { maxConnections: 100, maxPendingRequests: 50, maxRequests: 1000, maxRetries: 3 },
  outlierDetection: { consecutive5xx: 5, consecutiveGatewayErrors: 3, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 50 },
  healthCheck: {
    http: { path: '/healthz', expectedStatuses: [{ start: 200, end: 299 }, { start: 304, end: 304 }], host: 'cart.internal' },
    intervalMs: 5000,
    timeoutMs: 1000,
    healthyThreshold: 2,
    unhealthyThreshold: 3,
  },
  rateLimit: { maxTokens: 1000, tokensPerFill: 100, fillIntervalMs: 50 },
};

/** `base` with `value` set at the dotted `path` (array indexes as numbers). */
function withAt(base: object, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(base) as Record<string, any>;
  const keys = path.split('.');
  const last = keys.pop()!;
  let node = copy;
  for (const k of keys) node = node[k];
  node[last] = value;
  return copy;
}

describe('RouteBody', () => {
  it('accepts a route with every feature and keeps it as given', () => {
    expect(valid(RouteBody, FULL_ROUTE)).toEqual(FULL_ROUTE);
  });

  it('fills namespace, hosts, priority and match, and nothing else', () => {
    const body = valid(RouteBody, { name: 'greeter', destinations: [{ ...GREETER, weight: 100 }] });
    expect(body).toEqual({ namespace: 'default', name: 'greeter', hosts: [], priority: 0, match: {}, destinations: [{ ...GREETER, weight: 100 }] });
  });

  it.each([
    ['the body', 'colour', 'red', '/ additionalProperties'],
    ['match.path', 'match.path.suffix', '.json', '/match/path additionalProperties'],
    ['a header match', 'match.headers.0.values', ['a'], '/match/headers/0 additionalProperties'],
    ['a destination', 'destinations.0.port', 8080, '/destinations/0 additionalProperties'],
    ['retries.backoff', 'retries.backoff.jitter', true, '/retries/backoff additionalProperties'],
    ['fault.abort', 'fault.abort.status', 500, '/fault/abort additionalProperties'],
    ['a CORS origin', 'cors.allowOrigins.0.present', true, '/cors/allowOrigins/0 additionalProperties'],
    ['tracing', 'tracing.provider', 'zipkin', '/tracing additionalProperties'],
  ])('rejects an unknown field in %s', (_, path, value, error) => {
    expect(errors(RouteBody, withAt(FULL_ROUTE, path, value))).toEqual([error]);
  });

  it('rejects percentages outside 0-100 and accepts fractions inside', () => {
    const bad = withAt(withAt(withAt(FULL_ROUTE, 'fault.delay.percent', 101), 'fault.abort.percent', -0.5), 'mirror.percent', 100.01);
    expect(errors(RouteBody, bad)).toEqual(['/fault/delay/percent maximum', '/fault/abort/percent minimum', '/mirror/percent maximum']);
    expect(errors(RouteBody, withAt(FULL_ROUTE, 'mirror.percent', 0.001))).toEqual([]);
    expect(errors(RouteBody, withAt(FULL_ROUTE, 'tracing.samplePercent', 100.5))).toEqual(['/tracing/samplePercent maximum']);
    expect(errors(RouteBody, withAt(FULL_ROUTE, 'tracing', {}))).toEqual(['/tracing required']);
  });

  it('wants whole weights from 0 to 100', () => {
    expect(errors(RouteBody, withAt(FULL_ROUTE, 'destinations.0.weight', 101))).toEqual(['/destinations/0/weight maximum']);
    expect(errors(RouteBody, withAt(FULL_ROUTE, 'destinations.0.weight', 89.5))).toEqual(['/destinations/0/weight type']);
  });

  it('rejects wrong types without coercing them', () => {
    const bad = { ...FULL_ROUTE, priority: '1', hosts: 'shop.example.com', timeoutMs: 1.5, match: { ...FULL_ROUTE.match, methods: [1] } };
    expect(errors(RouteBody, withAt(bad, 'redirect.stripQuery', 'true'))).toEqual([
      '/hosts type', '/priority type', '/match/methods/0 type', '/redirect/stripQuery type', '/timeoutMs type',
    ]);
  });

  it('checks enums: retry conditions, redirect scheme and status', () => {
    const bad = withAt(withAt(withAt(FULL_ROUTE, 'retries.retryOn', ['5xx', 'timeout']), 'redirect.scheme', 'ftp'), 'redirect.statusCode', 200);
    expect(errors(RouteBody, bad)).toEqual(['/redirect/scheme enum', '/redirect/statusCode enum', '/retries/retryOn/1 enum']);
  });

  it('needs namespace, name and weight on every destination, and at least one destination', () => {
    expect(errors(RouteBody, { name: 'r', destinations: [{ name: 'greeter' }] })).toEqual([
      '/destinations/0 required', '/destinations/0 required',
    ]);
    expect(errors(RouteBody, { name: 'r', destinations: [] })).toEqual(['/destinations minItems']);
  });

  it('bounds single fields: statuses, ports, priority, the rate limit interval, label keys and header names', () => {
    const cases: [string, unknown, string][] = [
      ['directResponse.status', 199, '/directResponse/status minimum'],
      ['fault.abort.grpcStatus', 17, '/fault/abort/grpcStatus maximum'],
      ['redirect.port', 65536, '/redirect/port maximum'],
      ['priority', 1_000_001, '/priority maximum'],
      ['rateLimit.fillIntervalMs', 49, '/rateLimit/fillIntervalMs minimum'],
      ['retries.attempts', 11, '/retries/attempts maximum'],
      ['destinations.0.subset', { ['k'.repeat(318)]: 'v' }, '/destinations/0/subset propertyNames'],
      ['requestHeaders.set', { '': 'v' }, '/requestHeaders/set propertyNames'],
    ];
    for (const [path, value, error] of cases) expect(errors(RouteBody, withAt(FULL_ROUTE, path, value)), path).toContain(error);
  });

  it('leaves the rules across fields to the semantic checks', () => {
    // All three actions, a path with two forms, backoff max below base, weights adding up to 70.
    const route = withAt(withAt(withAt(FULL_ROUTE, 'match.path', { prefix: '/a', exact: '/b' }), 'retries.backoff', { baseMs: 500, maxMs: 10 }), 'destinations.0.weight', 60);
    expect(errors(RouteBody, route)).toEqual([]);
  });
});

describe('RouteUpdate', () => {
  it('takes namespace and name as optional and fills the other defaults', () => {
    expect(valid(RouteUpdate, { directResponse: { status: 204 } })).toEqual({ hosts: [], priority: 0, match: {}, directResponse: { status: 204 } });
    expect(errors(RouteUpdate, { ...FULL_ROUTE, name: '' })).toEqual(['/name minLength']);
  });
});

describe('Route and RouteList', () => {
  it('describe a stored route', () => {
    const stored = { ...FULL_ROUTE, revision: 7, createdAt: '2025-01-02T03:04:05.000Z', updatedAt: '2025-01-02T03:04:06.000Z' };
    expect(errors(Route, stored)).toEqual([]);
    expect(errors(RouteList, { items: [stored] })).toEqual([]);
    expect(errors(RouteList, { items: [{ ...stored, createdAt: 'yesterday' }] })).toEqual(['/items/0/createdAt format']);
  });

  it('register with the app schemas in Fastify, validate bodies and serialize a route whole', async () => {
    const app = Fastify({ ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true, useDefaults: true } } });
    for (const schema of [...SHARED_SCHEMAS, ...TRAFFIC_SCHEMAS]) app.addSchema(schema);
    const meta = { revision: 1, createdAt: '2025-01-02T03:04:05.000Z', updatedAt: '2025-01-02T03:04:05.000Z' };
    app.post('/routes', { schema: { body: RouteBody, querystring: DRY_RUN_QUERY, response: { 200: { $ref: 'RouteList' } } } }, async (req) => ({
      items: [{ ...(req.body as object), ...meta }],
    }));
    await app.ready();
    const ok = await app.inject({ method: 'POST', url: '/routes?dryRun=true', payload: FULL_ROUTE });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ items: [{ ...FULL_ROUTE, ...meta }] });
    const bad = await app.inject({ method: 'POST', url: '/routes?dryRun=1', payload: { name: 'r', match: { path: { prefix: '/', glob: '*' } } } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toBe('body/match/path must NOT have additional properties');
    await app.close();
  });
});

describe('TrafficPolicySchema', () => {
  it('accepts a policy with every part', () => {
    expect(valid(TrafficPolicySchema, FULL_POLICY)).toEqual(FULL_POLICY);
    expect(valid(TrafficPolicySchema, {})).toEqual({});
  });

  it.each([
    ['loadBalancer', 'loadBalancer.weights', {}],
    ['a hash policy', 'loadBalancer.hashOn.1.cookie.secure', true],
    ['connectionPool', 'connectionPool.maxStreams', 1],
    ['an expected status range', 'healthCheck.http.expectedStatuses.0.inclusive', true],
    ['healthCheck.tcp', 'healthCheck.tcp', { send: 'ping' }],
  ])('rejects an unknown field in %s', (_, path, value) => {
    const errs = errors(TrafficPolicySchema, withAt(FULL_POLICY, path, value));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/ additionalProperties$/);
  });

  it('bounds ring sizes, choiceCount, percentages, milliseconds and thresholds', () => {
    const cases: [string, unknown, string][] = [
      ['loadBalancer.ringSize.min', 0, '/loadBalancer/ringSize/min minimum'],
      ['loadBalancer.ringSize.max', 8_388_609, '/loadBalancer/ringSize/max maximum'],
      ['loadBalancer.choiceCount', 1, '/loadBalancer/choiceCount minimum'],
      ['loadBalancer.zoneAware.routingEnabledPercent', 101, '/loadBalancer/zoneAware/routingEnabledPercent maximum'],
      ['outlierDetection.maxEjectionPercent', 101, '/outlierDetection/maxEjectionPercent maximum'],
      ['outlierDetection.maxEjectionPercent', 10.5, '/outlierDetection/maxEjectionPercent type'],
      ['outlierDetection.intervalMs', 0, '/outlierDetection/intervalMs minimum'],
      ['connectionPool.maxConnections', 0, '/connectionPool/maxConnections minimum'],
      ['healthCheck.healthyThreshold', 0, '/healthCheck/healthyThreshold minimum'],
      ['healthCheck.timeoutMs', 86_400_001, '/healthCheck/timeoutMs maximum'],
      ['loadBalancer.algorithm', 'weighted', '/loadBalancer/algorithm enum'],
    ];
    for (const [path, value, error] of cases) expect(errors(TrafficPolicySchema, withAt(FULL_POLICY, path, value)), path).toEqual([error]);
  });

  it('takes expected statuses as ranges from 100 to 599, inclusive at both ends', () => {
    const ranges = (expectedStatuses: unknown) => withAt(FULL_POLICY, 'healthCheck.http.expectedStatuses', expectedStatuses);
    expect(errors(TrafficPolicySchema, ranges([{ start: 100, end: 100 }, { start: 599, end: 599 }]))).toEqual([]);
    expect(errors(TrafficPolicySchema, ranges([{ start: 99, end: 200 }, { start: 500, end: 600 }, { start: 200 }]))).toEqual([
      '/healthCheck/http/expectedStatuses/0/start minimum',
      '/healthCheck/http/expectedStatuses/1/end maximum',
      '/healthCheck/http/expectedStatuses/2 required',
    ]);
  });

  it('leaves exactly-one and min ≤ max to the semantic checks', () => {
    const policy = withAt(withAt(FULL_POLICY, 'healthCheck.tcp', {}), 'loadBalancer.ringSize', { min: 4096, max: 1024 });
    expect(errors(TrafficPolicySchema, policy)).toEqual([]);
  });
});

describe('TrafficSplitBody', () => {
  it('fills namespace and subsetLabel, not the route name (which depends on the service)', () => {
    expect(valid(TrafficSplitBody, { service: 'greeter', weights: { v1: 90, v2: 10 } })).toEqual({
      namespace: 'default',
      service: 'greeter',
      subsetLabel: 'version',
      weights: { v1: 90, v2: 10 },
    });
  });

  it('wants 1 to 16 whole weights from 0 to 100, keyed by non-empty values', () => {
    const split = (weights: unknown) => ({ service: 'greeter', weights });
    expect(errors(TrafficSplitBody, split({}))).toEqual(['/weights minProperties']);
    expect(errors(TrafficSplitBody, split(Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`v${i}`, i]))))).toEqual(['/weights maxProperties']);
    expect(errors(TrafficSplitBody, split({ v1: 101, v2: 2.5 }))).toEqual(['/weights/v1 maximum', '/weights/v2 type']);
    expect(errors(TrafficSplitBody, split({ '': 100 }))).toEqual(['/weights minLength', '/weights propertyNames']);
    expect(errors(TrafficSplitBody, { ...split({ v1: 100 }), subset: 'v1' })).toEqual(['/ additionalProperties']);
    expect(errors(TrafficSplitBody, { weights: { v1: 100 } })).toEqual(['/ required']);
  });
});

describe('query strings', () => {
  it('DRY_RUN_QUERY takes the strings true and false only', () => {
    expect(errors(DRY_RUN_QUERY, { dryRun: 'true' })).toEqual([]);
    expect(errors(DRY_RUN_QUERY, {})).toEqual([]);
    expect(errors(DRY_RUN_QUERY, { dryRun: true })).toEqual(['/dryRun type', '/dryRun enum']);
    expect(errors(DRY_RUN_QUERY, { dryRun: '1' })).toEqual(['/dryRun enum']);
    expect([isDryRun({ dryRun: 'true' }), isDryRun({ dryRun: 'false' }), isDryRun({})]).toEqual([true, false, false]);
  });

  it('RouteQuery takes service as namespace/name', () => {
    expect(errors(RouteQuery, { namespace: 'shop', service: 'default/greeter' })).toEqual([]);
    expect(errors(RouteQuery, { service: 'greeter' })).toEqual(['/service pattern']);
    expect(errors(RouteQuery, { host: 'x' })).toEqual(['/ additionalProperties']);
  });
});
