/** The reconciler over a real registry database: changes become snapshots; failures keep the last good one. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_MESH_SETTINGS } from '../model/mesh.ts';
import { TYPE_URLS } from '../protos/type-urls.ts';
import { createEndpoint, deleteEndpoint } from '../registry/endpoints.ts';
import { createRoute } from '../registry/routes.ts';
import { createService, deleteService } from '../registry/services.ts';
import { testDatabase, type TestDatabase } from '../../test/support/test-db.ts';
import { SnapshotCache } from './cache/snapshot-cache.ts';
import { Reconciler } from './reconciler.ts';
import { IdentityOpener } from './identities.ts';
import { DEVELOPMENT_SEALING_KEY } from '../ca/mesh-ca.ts';

const svc = (name: string) => ({ namespace: 'default', name, protocol: 'grpc', port: 50051, tags: [], labels: {}, version: null, metadata: {}, trafficPolicy: null, mtls: null });
const ep = (address: string) => ({ address, port: 50051, weight: 1, region: '', zone: '', subZone: '', labels: {}, health: 'healthy', ttlSeconds: null });
const names = (cache: SnapshotCache, typeUrl: string) => [...(cache.current.resources.get(typeUrl as never)?.keys() ?? [])].sort();

let t: TestDatabase;
let cache: SnapshotCache;
let reconciler: Reconciler;
const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
const builds: number[] = [];
/** Holds on access-log reading the builds took, and those still open. */
const holds = { taken: 0, open: 0 };

beforeAll(async () => {
  t = await testDatabase();
  cache = new SnapshotCache();
  reconciler = new Reconciler({
    database: t.database,
    cache,
    settings: DEFAULT_MESH_SETTINGS,
    identities: new IdentityOpener(DEVELOPMENT_SEALING_KEY),
    debounceMs: 10,
    maxDelayMs: 50,
    catchUpIntervalMs: 60_000,
    log,
    onBuild: (ms) => builds.push(ms),
    whileBuilding: () => {
      holds.taken += 1;
      holds.open += 1;
      return () => (holds.open -= 1);
    },
  });
  await reconciler.start();
});

afterAll(async () => {
  await reconciler.stop();
  await t.drop();
});

describe('Reconciler', () => {
  it('publishes a first snapshot at start, even for an empty registry', () => {
    expect(cache.ready).toBe(true);
    expect(names(cache, TYPE_URLS.cluster)).toEqual(['PassthroughCluster']);
    expect(names(cache, TYPE_URLS.listener)).toEqual(['gateway', 'virtualOutbound']);
    expect(reconciler.status).toMatchObject({ revision: 0, issues: [], resources: { cds: 1, lds: 2, rds: 1 } });
  });

  it('follows registry writes through NOTIFY, without being asked', async () => {
    await createService(t.database.db, svc('greeter'));
    await vi.waitFor(() => expect(names(cache, TYPE_URLS.cluster)).toEqual(['PassthroughCluster', 'greeter.default', 'inbound:greeter.default']), {
      timeout: 5000,
    });
    expect(names(cache, TYPE_URLS.listener)).toEqual([
      'gateway',
      'greeter.default',
      'greeter.default:50051',
      'inbound:greeter.default',
      'outbound:50051',
      'virtualOutbound',
    ]);
  });

  it('coalesces a burst of writes into few builds and lands on the last revision', async () => {
    const before = builds.length;
    for (let i = 1; i <= 10; i++) await createEndpoint(t.database.db, 'default', 'greeter', ep(`10.0.0.${i}`));
    await vi.waitFor(() => expect(reconciler.status.revision).toBe(11), { timeout: 5000 });
    expect(builds.length - before).toBeLessThan(10);
    // Each build held access-log reading while it ran, and let go when it was published.
    expect(holds.taken).toBeGreaterThanOrEqual(builds.length);
    expect(holds.open).toBe(0);
    const eds = [...cache.current.resources.get(TYPE_URLS.endpoint)!.values()];
    expect(eds).toHaveLength(1);
  });

  it('does not republish when the revision did not move', async () => {
    const snapshot = cache.current;
    await reconciler.flush();
    expect(cache.current).toBe(snapshot);
  });

  it('keeps serving the last good snapshot when the database fails, and reports why', async () => {
    const snapshot = cache.current;
    const brokenHolds = { taken: 0, open: 0 };
    const broken = new Reconciler({
      database: { ...t.database, db: { transaction: () => Promise.reject(new Error('connection refused')) } as never },
      cache,
      settings: DEFAULT_MESH_SETTINGS,
      identities: new IdentityOpener(DEVELOPMENT_SEALING_KEY),
      debounceMs: 10,
      maxDelayMs: 50,
      catchUpIntervalMs: 60_000,
      log,
      whileBuilding: () => {
        brokenHolds.taken += 1;
        brokenHolds.open += 1;
        return () => (brokenHolds.open -= 1);
      },
    });
    await broken.flush();
    // The hold on access-log reading taken for the build is released, also when the build failed.
    expect(brokenHolds).toEqual({ taken: 1, open: 0 });
    expect(cache.current).toBe(snapshot);
    expect(broken.status.lastError?.message).toBe('connection refused');
    expect(log.error).toHaveBeenCalledWith({ err: 'connection refused' }, expect.stringContaining('last good config'));
    await broken.stop();
  });

  it('reports a route left out because the subset it sends to lost its last endpoint, and takes it back when one returns', async () => {
    const v2 = await createEndpoint(t.database.db, 'default', 'greeter', { ...ep('10.0.1.1'), labels: { version: 'v2' } });
    if (!v2.ok) throw new Error('endpoint not created');
    const spec = { match: {}, destinations: [{ namespace: 'default', name: 'greeter', subset: { version: 'v2' }, weight: 100 }] };
    const created = await createRoute(t.database.db, { namespace: 'default', name: 'to-v2', hosts: [], priority: 0, spec }, () => ({ issues: [] }));
    expect(created.ok).toBe(true);
    await vi.waitFor(() => expect(names(cache, TYPE_URLS.cluster)).toContain('greeter.default|version=v2'), { timeout: 5000 });
    expect(reconciler.status.droppedRoutes).toEqual([]);

    log.warn.mockClear();
    await deleteEndpoint(t.database.db, 'default', 'greeter', v2.value.id);
    const dropped = [{ route: 'default/to-v2', reason: 'no endpoint of default/greeter has the labels version=v2' }];
    await vi.waitFor(() => expect(reconciler.status.droppedRoutes).toEqual(dropped), { timeout: 5000 });
    expect(names(cache, TYPE_URLS.cluster)).not.toContain('greeter.default|version=v2');
    expect(log.warn).toHaveBeenCalledWith({ routes: dropped }, expect.stringContaining('routes left out'));
    // Another rebuild with the same routes left out says nothing more.
    log.warn.mockClear();
    const other = await createService(t.database.db, svc('bystander'));
    expect(other.ok).toBe(true);
    await vi.waitFor(() => expect(names(cache, TYPE_URLS.cluster)).toContain('bystander.default'), { timeout: 5000 });
    expect(reconciler.status.droppedRoutes).toEqual(dropped);
    expect(log.warn).not.toHaveBeenCalledWith(expect.anything(), expect.stringContaining('routes left out'));
    await deleteService(t.database.db, 'default', 'bystander');

    await createEndpoint(t.database.db, 'default', 'greeter', { ...ep('10.0.1.2'), labels: { version: 'v2' } });
    await vi.waitFor(() => expect(reconciler.status.droppedRoutes).toEqual([]), { timeout: 5000 });
  });

  it('removes the resources of a deleted service', async () => {
    await deleteService(t.database.db, 'default', 'greeter');
    await vi.waitFor(() => expect(names(cache, TYPE_URLS.cluster)).toEqual(['PassthroughCluster']), { timeout: 5000 });
    expect(names(cache, TYPE_URLS.endpoint)).toEqual([]);
    expect(names(cache, TYPE_URLS.listener)).toEqual(['gateway', 'virtualOutbound']);
  });
});
