/** `GET /api/v1/cluster-stats`: the stored cluster stats by proxy, cluster or service, bounded, with problems for bad filters. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiHarness, expectProblem, type ApiHarness } from '../../test/support/api.ts';
import { upsertClusterStats } from '../registry/cluster-stats.ts';

let h: ApiHarness;
const T0 = new Date('2026-01-01T00:00:00Z');
beforeAll(async () => {
  h = await apiHarness();
  await upsertClusterStats(h.db, 'web-1', 'r1', [
    { cluster: 'orders.shop', stat: 'upstream_rq_2xx', value: 120 },
    { cluster: 'orders.shop', stat: 'upstream_rq_5xx', value: 3 },
    { cluster: 'orders.shop|version=v2', stat: 'outlier_detection.ejections_active', value: 1 },
    { cluster: 'pay.shop', stat: 'upstream_cx_active', value: 4 },
  ], T0);
  await upsertClusterStats(h.db, 'orders-1', 'r2', [{ cluster: 'inbound:orders.shop', stat: 'membership_healthy', value: 1 }], T0);
});
afterAll(async () => h?.close());

const get = async (query = '') => {
  const res = await h.call('GET', `/api/v1/cluster-stats${query}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { items: Array<Record<string, unknown>>; truncated: boolean };
};
const brief = (items: Array<Record<string, unknown>>) => items.map((i) => `${i.proxyId} ${i.cluster} ${i.stat}=${i.value}`);

describe('GET /api/v1/cluster-stats', () => {
  it('lists every stored stat, sorted, with its time', async () => {
    const body = await get();
    expect(body.truncated).toBe(false);
    expect(body.items[0]).toEqual({ proxyId: 'orders-1', cluster: 'inbound:orders.shop', stat: 'membership_healthy', value: 1, updatedAt: T0.toISOString() });
    expect(brief(body.items)).toEqual([
      'orders-1 inbound:orders.shop membership_healthy=1',
      'web-1 orders.shop upstream_rq_2xx=120',
      'web-1 orders.shop upstream_rq_5xx=3',
      'web-1 orders.shop|version=v2 outlier_detection.ejections_active=1',
      'web-1 pay.shop upstream_cx_active=4',
    ]);
  });

  it('filters by proxy, by cluster, and by service (its cluster, subsets and inbound cluster)', async () => {
    expect(brief((await get('?proxy=orders-1')).items)).toEqual(['orders-1 inbound:orders.shop membership_healthy=1']);
    expect(brief((await get(`?cluster=${encodeURIComponent('orders.shop|version=v2')}`)).items)).toEqual(['web-1 orders.shop|version=v2 outlier_detection.ejections_active=1']);
    expect(brief((await get('?service=shop/orders')).items)).toEqual([
      'orders-1 inbound:orders.shop membership_healthy=1',
      'web-1 orders.shop upstream_rq_2xx=120',
      'web-1 orders.shop upstream_rq_5xx=3',
      'web-1 orders.shop|version=v2 outlier_detection.ejections_active=1',
    ]);
    expect(brief((await get('?service=shop/pay&proxy=web-1')).items)).toEqual(['web-1 pay.shop upstream_cx_active=4']);
    expect((await get('?proxy=nobody')).items).toEqual([]);
  });

  it('returns at most the limit and says when there was more', async () => {
    const body = await get('?limit=2');
    expect(body.items).toHaveLength(2);
    expect(body.truncated).toBe(true);
    expect((await get('?limit=5')).truncated).toBe(false);
  });

  it('answers a problem for a bad service, limit or unknown filter', async () => {
    for (const bad of ['shop', 'shop/orders/x', 'Shop/orders', 'shop/']) {
      expectProblem(await h.call('GET', `/api/v1/cluster-stats?service=${encodeURIComponent(bad)}`), 400, 'validation-failed', ['query.service']);
    }
    expectProblem(await h.call('GET', '/api/v1/cluster-stats?limit=0'), 400, 'validation-failed', ['query.limit']);
    expectProblem(await h.call('GET', '/api/v1/cluster-stats?limit=10001'), 400, 'validation-failed', ['query.limit']);
    expectProblem(await h.call('GET', '/api/v1/cluster-stats?namespace=shop'), 400, 'validation-failed', ['query.namespace']);
  });
});
