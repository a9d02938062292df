/** Rollup rows: replicas merge deltas into their own minute rows, the leader merges hours, readers filter. */
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../test/support/test-db.ts';
import type { AccessLogRecord } from '../analytics/access-log.ts';
import { accessRecord } from '../../test/support/access-log-records.ts';
import { RollupAccumulator } from '../analytics/rollup.ts';
import { ensurePartitions } from './partitions.ts';
import { total as sumCounts } from '../analytics/series.ts';
import { hourRolledUp, mergeMinuteCells, readRollups, rollUpHour } from './rollups.ts';
import type { RollupKind } from './schema.ts';
import type { Db } from './db.ts';
import { sql } from 'drizzle-orm';

const NOW = new Date('2026-12-02T10:30:00Z');
const rec = (at: string, durationMs: number, status = 200, over: Partial<AccessLogRecord> = {}) => accessRecord(at, { durationMs, status, bytesReceived: 1, bytesSent: 2, ...over });
const cellsOf = (...records: AccessLogRecord[]) => {
  const acc = new RollupAccumulator();
  for (const r of records) acc.add(r);
  return acc.take();
};

describe('rollup rows', () => {
  const fixture = useTestDatabase();
  beforeAll(async () => {
    await ensurePartitions(fixture.db, 'traffic_rollups_minute', NOW);
    await ensurePartitions(fixture.db, 'traffic_rollups_hour', NOW);
  });

  it('adds a replica\'s deltas to its stored minute rows, histograms merged', async () => {
    await mergeMinuteCells(fixture.db, 'cp-1', cellsOf(rec('2026-12-02T10:00:01Z', 10), rec('2026-12-02T10:00:02Z', 20, 503)));
    await mergeMinuteCells(fixture.db, 'cp-1', cellsOf(rec('2026-12-02T10:00:03Z', 30), rec('2026-12-02T10:01:00Z', 40)));
    const rows = await readRollups(fixture.db, 'minute', { from: new Date('2026-12-02T10:00:00Z'), to: new Date('2026-12-02T10:02:00Z'), kind: 'service' });
    expect(rows.map((r) => [r.bucket.toISOString(), r.replica, r.requests, r.status2xx, r.status5xx, r.latency.count])).toEqual([
      ['2026-12-02T10:00:00.000Z', 'cp-1', 3, 2, 1, 3],
      ['2026-12-02T10:01:00.000Z', 'cp-1', 1, 1, 0, 1],
    ]);
    expect(rows[0]!.latency.max).toBeGreaterThanOrEqual(29.7);
  });

  it('keeps replicas in their own rows, and filters by key', async () => {
    await mergeMinuteCells(fixture.db, 'cp-2', cellsOf(rec('2026-12-02T10:00:30Z', 50, 200, { source: 'shop/cart', route: 'shop/list' })));
    const edges = await readRollups(fixture.db, 'minute', { from: new Date('2026-12-02T10:00:00Z'), to: new Date('2026-12-02T10:01:00Z'), kind: 'edge' });
    expect(edges.map((r) => [r.replica, r.source, r.destination, r.requests])).toEqual(
      expect.arrayContaining([
        ['cp-1', 'shop/web', 'shop/orders', 3],
        ['cp-2', 'shop/cart', 'shop/orders', 1],
      ]),
    );
    const route = await readRollups(fixture.db, 'minute', { from: new Date('2026-12-02T10:00:00Z'), to: new Date('2026-12-02T11:00:00Z'), kind: 'route', route: 'shop/list' });
    expect(route.map((r) => r.requests)).toEqual([1]);
    expect(sumCounts(await readRollups(fixture.db, 'minute', { from: new Date('2026-12-02T10:00:00Z'), to: new Date('2026-12-02T11:00:00Z'), kind: 'service', destination: 'shop/orders' })).requests).toBe(5);
  });

  it('merges an hour of every replica\'s minutes into one hour row per key, replacing it when run again', async () => {
    const hour = new Date('2026-12-02T10:00:00Z');
    expect(await hourRolledUp(fixture.db, hour)).toBe(false);
    await rollUpHour(fixture.db, hour);
    await rollUpHour(fixture.db, hour);
    expect(await hourRolledUp(fixture.db, hour)).toBe(true);
    const [service] = await readRollups(fixture.db, 'hour', { from: hour, to: new Date('2026-12-02T11:00:00Z'), kind: 'service', reporter: 'source' });
    expect(service).toMatchObject({ replica: '', requests: 5, status2xx: 4, status5xx: 1, bytesReceived: 5, bytesSent: 10 });
    expect(service!.latency.count).toBe(5);
    expect(service!.latency.quantile(1)).toBeGreaterThanOrEqual(49.6);
  });
});

/** A db whose `n`th statement sent with `execute` from now, in or out of a transaction, fails once. */
function failing(db: Db) {
  const state = { failIn: 0 };
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, prop) {
        if (prop === 'execute' && state.failIn > 0 && --state.failIn === 0) {
          return async () => {
            throw new Error('connection lost');
          };
        }
        if (prop === 'transaction') return (fn: (tx: Db) => Promise<unknown>) => (t as unknown as Db).transaction((tx) => fn(wrap(tx as unknown as Db)));
        const v = Reflect.get(t, prop);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
  return { db: wrap(db), state };
}

describe('adding deltas in the database', () => {
  const fixture = useTestDatabase();
  beforeAll(() => ensurePartitions(fixture.db, 'traffic_rollups_minute', NOW));
  const rowsOf = async (replica: string, kind: RollupKind = 'service') =>
    (await readRollups(fixture.db, 'minute', { from: new Date('2026-12-02T10:00:00Z'), to: new Date('2026-12-02T11:00:00Z'), kind })).filter((r) => r.replica === replica);

  it('merges histograms as the reader would: same buckets, count, sum, min and max', async () => {
    // Durations over several octaves, some in the same buckets, in three deltas.
    const batches = [0, 1, 2].map((k) => Array.from({ length: 40 }, (_, i) => rec(`2026-12-02T10:05:${String(k * 10 + (i % 10)).padStart(2, '0')}Z`, ((i * 37 + k * 11) % 97) * 1.7 + 0.003 * k, i % 9 === 0 ? 503 : 200)));
    for (const records of batches) await mergeMinuteCells(fixture.db, 'cp-h', cellsOf(...records));
    const inMemory = cellsOf(...batches.flat()).find((c) => c.kind === 'service')!;
    const [stored] = await rowsOf('cp-h');
    expect(stored).toMatchObject({ requests: 120, status2xx: inMemory.status2xx, status5xx: inMemory.status5xx, bytesReceived: 120, bytesSent: 240 });
    // The sum adds the same durations in another order (per delta, then the deltas): equal but for rounding.
    const want = inMemory.latency.toJSON();
    expect(stored!.latency.toJSON()).toEqual({ ...want, s: expect.closeTo(want.s, 6) });
  });

  it('adds to the rows a replica wrote before it restarted', async () => {
    await mergeMinuteCells(fixture.db, 'cp-r', cellsOf(rec('2026-12-02T10:06:01Z', 10), rec('2026-12-02T10:07:01Z', 10)));
    await mergeMinuteCells(fixture.db, 'cp-r', cellsOf(rec('2026-12-02T10:06:30Z', 10)));
    await mergeMinuteCells(fixture.db, 'cp-r', cellsOf(rec('2026-12-02T10:07:30Z', 10), rec('2026-12-02T10:06:40Z', 10)));
    expect((await rowsOf('cp-r')).map((r) => [r.bucket.toISOString(), r.requests, r.latency.count])).toEqual([
      ['2026-12-02T10:06:00.000Z', 3, 3],
      ['2026-12-02T10:07:00.000Z', 2, 2],
    ]);
  });

  it('takes a stored histogram that does not merge as empty, and still adds the counts', async () => {
    for (const [replica, bad] of [['cp-b1', '"not a histogram"'], ['cp-b2', '{"v":1,"b":[["x",1]],"n":1,"s":1,"min":1,"max":1}'], ['cp-b3', '{"v":99,"b":[],"n":0,"s":0,"min":null,"max":null}']] as const) {
      await mergeMinuteCells(fixture.db, replica, cellsOf(rec('2026-12-02T10:08:01Z', 10)));
      await fixture.db.execute(sql`update traffic_rollups_minute set latency = ${bad}::jsonb where replica = ${replica}`);
      await mergeMinuteCells(fixture.db, replica, cellsOf(rec('2026-12-02T10:08:02Z', 30)));
      const [row] = await rowsOf(replica);
      expect([replica, row!.requests, row!.latency.count, row!.latency.min]).toEqual([replica, 2, 1, 30]);
    }
  });

  it('stores none of a merge\'s statements when one fails, so the retried deltas count once', async () => {
    const { db, state } = failing(fixture.db);
    // More routes than one statement takes: the merge is two statements.
    const deltas = cellsOf(...Array.from({ length: 600 }, (_, i) => rec('2026-12-02T10:09:01Z', 10, 200, { route: `shop/r${i}` })));
    state.failIn = 2;
    await expect(mergeMinuteCells(db, 'cp-f', deltas)).rejects.toThrow('connection lost');
    expect(await rowsOf('cp-f', 'route')).toHaveLength(0);
    await mergeMinuteCells(db, 'cp-f', deltas);
    const routes = await rowsOf('cp-f', 'route');
    expect([routes.length, new Set(routes.map((r) => r.requests))]).toEqual([600, new Set([1])]);
    expect((await rowsOf('cp-f')).map((r) => r.requests)).toEqual([600]);
  });
});

describe('the hour rollup job', () => {
  const fixture = useTestDatabase();
  let now = new Date('2026-12-02T11:05:00Z');

  it('rolls the last hours up on the leader, redoes the settling hour, and skips hours already done', async () => {
    const { startHourRollups } = await import('../jobs/hour-rollups.ts');
    await ensurePartitions(fixture.db, 'traffic_rollups_minute', now);
    await ensurePartitions(fixture.db, 'traffic_rollups_hour', now);
    await mergeMinuteCells(fixture.db, 'cp-1', cellsOf(rec('2026-12-02T10:10:00Z', 10)));
    let leader = false;
    const job = startHourRollups({ db: fixture.db, isLeader: () => leader, intervalMs: 3_600_000, now: () => now, log: { warn: () => {} } });
    expect(await job.runOnce()).toBe(0);
    leader = true;
    // 10:00 settles until 11:15; 09:00 and 08:00 had no rows, so they are rolled (to nothing) each time.
    expect(await job.runOnce()).toBe(3);
    await mergeMinuteCells(fixture.db, 'cp-1', cellsOf(rec('2026-12-02T10:59:00Z', 10)));
    expect(await job.runOnce()).toBe(3);
    const hour = new Date('2026-12-02T10:00:00Z');
    expect(sumCounts(await readRollups(fixture.db, 'hour', { from: hour, to: new Date('2026-12-02T11:00:00Z'), kind: 'service' })).requests).toBe(2);
    now = new Date('2026-12-02T11:30:00Z');
    expect(await job.runOnce()).toBe(2);
    job.stop();
  });
});
