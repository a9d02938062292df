/** The analytics routes' input: ranges, steps, filters and thresholds are checked and named; old ranges read hours. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiHarness, expectProblem, type ApiHarness } from '../../test/support/api.ts';
import { RollupAccumulator } from '../analytics/rollup.ts';
import { ensurePartitions } from '../registry/partitions.ts';
import { mergeMinuteCells, rollUpHour } from '../registry/rollups.ts';

const NOW = new Date('2026-12-02T10:30:00Z');
let h: ApiHarness;
beforeAll(async () => {
  h = await apiHarness({ analytics: { now: () => NOW, minuteRetentionMs: 86_400_000, telemetry: async () => ({ replicas: [{ id: 'cp-1', counters: { droppedFull: 3 } }] }) } });
  for (const table of ['traffic_rollups_minute', 'traffic_rollups_hour'] as const) await ensurePartitions(h.db, table, NOW, 3);
  const acc = new RollupAccumulator();
  for (const at of ['2026-11-30T09:10:00Z', '2026-12-02T10:00:00Z', '2026-12-02T10:01:00Z']) {
    acc.add({ at: new Date(at), proxyId: 'p', protocol: 'http', direction: 'inbound', destination: 'shop/orders', status: 200, durationMs: 3, bytesReceived: 0, bytesSent: 0 });
  }
  await mergeMinuteCells(h.db, 'cp-1', acc.take());
  await rollUpHour(h.db, new Date('2026-11-30T09:00:00Z'));
});
afterAll(async () => h?.close());

describe('GET /api/v1/metrics', () => {
  it.each([
    ['route and source together', '?service=shop/orders&route=r&source=shop/web', ['query.route']],
    ['a route without its service', '?route=r', ['query.service']],
    ['a step that is no duration', '?step=5', ['query.step']],
    ['a step under a minute', '?step=30s', ['query.step']],
    ['a date that is no date', '?from=yesterday', ['query.from']],
    ['from after to', '?from=2026-12-02T10:00:00Z&to=2026-12-02T09:00:00Z', ['query.from']],
    ['too many points', '?from=2026-11-01T00:00:00Z&to=2026-12-02T00:00:00Z&step=1m', ['query.step']],
    ['minutes older than the minute rollups', '?from=2026-11-30T00:00:00Z&to=2026-11-30T12:00:00Z&step=30m', ['query.step']],
  ])('refuses %s, naming the field', async (_name, query, paths) => {
    expectProblem(await h.call('GET', `/api/v1/metrics${query}`), 400, 'validation-failed', paths);
  });

  it('defaults to the last hour in minute steps', async () => {
    const res = await h.call('GET', '/api/v1/metrics?service=shop/orders');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ from: '2026-12-02T09:30:00.000Z', to: '2026-12-02T10:30:00.000Z', stepSeconds: 60, granularity: 'minute', summary: { requests: 2 } });
    expect(body.points).toHaveLength(60);
  });

  it('reads the hour rollups for hour steps and ranges older than the minute rollups', async () => {
    const res = await h.call('GET', '/api/v1/metrics?from=2026-11-30T00:00:00Z&to=2026-11-30T12:00:00Z&step=1h');
    expect(res.json()).toMatchObject({ granularity: 'hour', summary: { requests: 1, p50: expect.any(Number) } });
  });
});

describe('GET /api/v1/topology and /api/v1/telemetry', () => {
  it('refuses a bad window or thresholds, naming them', async () => {
    expectProblem(await h.call('GET', '/api/v1/topology?window=2d'), 400, 'validation-failed', ['query.window']);
    expectProblem(await h.call('GET', '/api/v1/topology?degraded=2'), 400, 'validation-failed', ['query.degraded']);
    expectProblem(await h.call('GET', '/api/v1/topology?degraded=0.5&failing=0.1'), 400, 'validation-failed', ['query.failing']);
  });

  it('shows the counters of every replica', async () => {
    expect((await h.call('GET', '/api/v1/telemetry')).json()).toEqual({ replicas: [{ id: 'cp-1', counters: { droppedFull: 3 } }] });
  });
});
