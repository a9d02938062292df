/**
 * Drives the management API through `inject()`: one app per test file over a fresh test database,
 * request helpers for the usual shapes, and checks for problem documents and for "nothing written".
 */
import { meshOf } from '../../src/xds/mesh-input.ts';
import { count } from 'drizzle-orm';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Registry } from 'prom-client';
import { expect } from 'vitest';
import { buildApp, type AppDeps } from '../../src/api/app.ts';
import { DEVELOPMENT_SEALING_KEY, MeshCa } from '../../src/ca/mesh-ca.ts';
import type { ProxyDirectory } from '../../src/api/routes/proxies.ts';
import { currentRevision } from '../../src/registry/changes.ts';
import type { Db } from '../../src/registry/db.ts';
import { changes, endpoints, services } from '../../src/registry/schema.ts';
import { testDatabase, type TestDatabase } from './test-db.ts';
import { DEFAULT_MESH_SETTINGS } from '../../src/model/mesh.ts';
import { ResourceEncoder } from '../../src/xds/cache/resource.ts';
import { passGate } from '../../src/xds/publish-gate.ts';
import { buildResources } from '../../src/xds/resources/index.ts';
import { loadRegistry, readRegistry } from '../../src/registry/snapshot.ts';
import { SnapshotCache, type Snapshot } from '../../src/xds/cache/snapshot-cache.ts';
import { previewChanges } from '../../src/xds/preview.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
export type Response = LightMyRequestResponse;

export interface ApiHarness {
  app: FastifyInstance;
  db: Db;
  testDb: TestDatabase;
  metrics: Registry;
  /** What `/readyz` answers; tests flip it. */
  readiness: { ready: boolean; reason?: string };
  /** A JSON request (`body` as an object), or a raw one (`body` as a string, with its own content-type header). */
  call(method: Method, url: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Registers a service (namespace `default` unless given) and returns its JSON view. */
  service(body: Record<string, unknown>): Promise<Record<string, any>>;
  /** Makes dry runs compare with the config the registry holds now (as if the control plane had caught up). */
  syncServed(): Promise<void>;
  /** Adds an endpoint to `ns/name` and returns its JSON view. */
  endpoint(ns: string, name: string, body: Record<string, unknown>): Promise<Record<string, any>>;
  close(): Promise<void>;
}

/** A proxy directory with no proxies connected (tests that are not about proxies). */
export const noProxies: ProxyDirectory = { list: async () => ({ items: [], complete: true }), get: async () => undefined, config: async () => undefined };

/** The mesh CA of a test database (made on first use, sealed with the development key). */
export async function openTestCa(db: Db): Promise<MeshCa> {
  const ca = await MeshCa.open({ db, trustDomain: 'mesh.local', algorithm: 'ecdsa-p256', certTtlMs: 24 * 3_600_000, sealingKey: DEVELOPMENT_SEALING_KEY });
  if (!ca.ok) throw new Error(`test CA: ${JSON.stringify(ca.issues)}`);
  return ca.value;
}

/** Builds the app over a fresh migrated database. */
export async function apiHarness(overrides: Partial<AppDeps> = {}): Promise<ApiHarness> {
  const testDb = await testDatabase();
  const db = testDb.database.db;
  const metrics = new Registry();
  const readiness: ApiHarness['readiness'] = { ready: true };
  // Dry runs compare with `served`: nothing until syncServed() builds it from the database.
  let served: Snapshot = new SnapshotCache().current;
  const previewWrite: AppDeps['previewWrite'] = async (tx) => previewChanges(await readRegistry(tx), DEFAULT_MESH_SETTINGS, served);
  const ca = overrides.ca ?? (await openTestCa(db));
  const app = await buildApp({ db, metrics, proxies: noProxies, previewWrite, ca, readiness: () => readiness, buildStatus: () => ({ revision: 7 }), ...overrides });
  const call: ApiHarness['call'] = (method, url, body, headers = {}) =>
    app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body as string }) });
  return {
    app,
    db,
    testDb,
    metrics,
    readiness,
    call,
    async service(body) {
      const res = await call('POST', '/api/v1/services', body);
      expect(res.statusCode, res.body).toBe(201);
      return res.json();
    },
    async syncServed() {
      const registry = await loadRegistry(db);
      const cache = new SnapshotCache();
      const { snapshot } = passGate(buildResources(meshOf(registry), DEFAULT_MESH_SETTINGS), new ResourceEncoder(), cache.current, registry.revision);
      served = snapshot;
    },
    async endpoint(ns, name, body) {
      const res = await call('POST', `/api/v1/services/${ns}/${name}/endpoints`, body);
      expect(res.statusCode, res.body).toBe(201);
      return res.json();
    },
    async close() {
      await app.close();
      await testDb.drop();
    },
  };
}

/** Row counts and the revision: equal before and after a rejected write when nothing was half-written. */
export interface DbState {
  revision: number;
  changes: number;
  services: number;
  endpoints: number;
}

/** Reads the registry's row counts and revision. */
export async function dbState(db: Db): Promise<DbState> {
  const n = async (table: typeof changes | typeof services | typeof endpoints) => (await db.select({ n: count() }).from(table))[0]!.n;
  return { revision: await currentRevision(db), changes: await n(changes), services: await n(services), endpoints: await n(endpoints) };
}

/**
 * Asserts `res` is an RFC 9457 problem with this status and code and returns it; `paths`, when
 * given, are exactly the field paths listed in `errors` (in any order).
 */
export function expectProblem(res: Response, status: number, code: string, paths?: string[]): Record<string, any> {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body).toMatchObject({ type: `urn:apg-mesh:problem:${code}`, title: expect.any(String), status, code, instance: expect.any(String) });
  if (paths) {
    expect(body.errors?.map((e: { path: string }) => e.path).sort()).toEqual([...paths].sort());
    for (const e of body.errors) expect(e.message).toEqual(expect.any(String));
    if (code === 'validation-failed') for (const p of paths) expect(body.detail).toContain(p);
  }
  return body;
}

/** Runs `write` and asserts it answered a problem and left the database exactly as it was. */
export async function expectRejected(
  h: ApiHarness,
  write: () => Promise<Response>,
  status: number,
  code: string,
  paths?: string[],
): Promise<Record<string, any>> {
  const before = await dbState(h.db);
  const body = expectProblem(await write(), status, code, paths);
  expect(await dbState(h.db)).toEqual(before);
  return body;
}
