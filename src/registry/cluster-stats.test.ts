/** The cluster_stats table: one upsert per message, later values win, service filters, pruning. */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterStat } from '../analytics/cluster-stats.ts';
import { useTestDatabase } from '../../test/support/test-db.ts';
import { listClusterStats, pruneClusterStats, upsertClusterStats } from './cluster-stats.ts';
import type { Db } from './db.ts';

const fixture = useTestDatabase(['cluster_stats']);
let db: Db;
beforeAll(() => {
  db = fixture.db;
});

const T0 = new Date('2026-01-01T00:00:00Z');
const later = (s: number) => new Date(T0.getTime() + s * 1000);
const s = (cluster: string, stat: ClusterStat['stat'], value: number): ClusterStat => ({ cluster, stat, value });
const brief = (rows: Awaited<ReturnType<typeof listClusterStats>>) => rows.map((r) => `${r.proxyId} ${r.cluster} ${r.stat}=${r.value}`);

describe('upsertClusterStats', () => {
  it('inserts, then overwrites values, replica and time in place', async () => {
    await upsertClusterStats(db, 'p1', 'r1', [s('orders.shop', 'upstream_rq_2xx', 10), s('orders.shop', 'membership_healthy', 2)], T0);
    await upsertClusterStats(db, 'p1', 'r2', [s('orders.shop', 'upstream_rq_2xx', 15)], later(10));
    const rows = await listClusterStats(db);
    expect(rows).toEqual([
      { proxyId: 'p1', cluster: 'orders.shop', stat: 'membership_healthy', value: 2, replica: 'r1', updatedAt: T0 },
      { proxyId: 'p1', cluster: 'orders.shop', stat: 'upstream_rq_2xx', value: 15, replica: 'r2', updatedAt: later(10) },
    ]);
  });

  it('keeps a row written with a later time (a slow write or a proxy that moved replicas)', async () => {
    await upsertClusterStats(db, 'p1', 'r2', [s('orders.shop', 'upstream_rq_5xx', 9)], later(20));
    await upsertClusterStats(db, 'p1', 'r1', [s('orders.shop', 'upstream_rq_5xx', 4)], later(10));
    expect(await listClusterStats(db)).toMatchObject([{ value: 9, replica: 'r2', updatedAt: later(20) }]);
  });

  it('takes the last of a repeated key, stores fractions, and does nothing for no stats', async () => {
    await upsertClusterStats(db, 'p1', 'r1', [s('a.b', 'upstream_cx_active', 1), s('a.b', 'upstream_cx_active', 2.5)], T0);
    await upsertClusterStats(db, 'p1', 'r1', [], T0);
    expect(brief(await listClusterStats(db))).toEqual(['p1 a.b upstream_cx_active=2.5']);
  });

  it('stores a whole message of 5,000 stats', async () => {
    const many = Array.from({ length: 5_000 }, (_, i) => s(`svc-${i}.shop`, 'membership_total', i));
    await upsertClusterStats(db, 'p1', 'r1', many, T0);
    const rows = await listClusterStats(db, { proxyId: 'p1' });
    expect(rows).toHaveLength(5_000);
    expect(rows.find((r) => r.cluster === 'svc-4999.shop')?.value).toBe(4999);
  });
});

describe('listClusterStats', () => {
  // After the file's beforeEach has emptied the table.
  beforeEach(async () => {
    for (const [proxy, clusters] of [
      ['p1', ['orders.shop', 'orders.shop|version=v2', 'inbound:orders.shop', 'orders.shopping', 'ordersxshop', 'web.shop']],
      ['p2', ['orders.shop', 'outbound|8080||orders.shop']],
    ] as const) {
      await upsertClusterStats(db, proxy, 'r1', clusters.map((c) => s(c, 'upstream_rq_total', 1)), T0);
    }
  });
  const clustersOf = async (f: Parameters<typeof listClusterStats>[1]) => (await listClusterStats(fixture.db, f)).map((r) => `${r.proxyId} ${r.cluster}`);

  it('lists everything sorted by proxy, cluster and stat', async () => {
    const rows = await clustersOf({});
    expect(rows).toEqual([...rows].sort());
    expect(rows).toHaveLength(8);
  });

  it('filters by proxy and by exact cluster', async () => {
    expect(await clustersOf({ proxyId: 'p2' })).toEqual(['p2 orders.shop', 'p2 outbound|8080||orders.shop']);
    expect(await clustersOf({ cluster: 'orders.shop' })).toEqual(['p1 orders.shop', 'p2 orders.shop']);
    expect(await clustersOf({ proxyId: 'p1', cluster: 'web.shop' })).toEqual(['p1 web.shop']);
  });

  it("matches a service's cluster, subsets and inbound cluster, and nothing that only looks alike", async () => {
    expect(await clustersOf({ service: 'shop/orders' })).toEqual(['p1 inbound:orders.shop', 'p1 orders.shop', 'p1 orders.shop|version=v2', 'p2 orders.shop']);
    expect(await clustersOf({ service: 'shop/orders', proxyId: 'p2' })).toEqual(['p2 orders.shop']);
  });

  it('treats LIKE wildcards literally and a service without one slash as matching nothing', async () => {
    expect(await clustersOf({ service: 'shop/order_' })).toEqual([]);
    expect(await clustersOf({ service: 'shop%/%' })).toEqual([]);
    expect(await clustersOf({ service: 'shop' })).toEqual([]);
    expect(await clustersOf({ service: 'a/b/c' })).toEqual([]);
  });

  it('returns at most the limit', async () => {
    expect(await clustersOf({ limit: 2 })).toEqual(['p1 inbound:orders.shop', 'p1 orders.shop']);
  });
});

describe('pruneClusterStats', () => {
  it('deletes the rows not updated since the cut, and says how many', async () => {
    await upsertClusterStats(db, 'gone', 'r1', [s('a.b', 'upstream_rq_total', 1), s('a.b', 'upstream_rq_2xx', 1)], T0);
    await upsertClusterStats(db, 'here', 'r1', [s('a.b', 'upstream_rq_total', 1)], later(60));
    expect(await pruneClusterStats(db, later(30))).toBe(2);
    expect(brief(await listClusterStats(db))).toEqual(['here a.b upstream_rq_total=1']);
    expect(await pruneClusterStats(db, later(30))).toBe(0);
  });
});
