/** Rollup rows: replicas merge deltas into their own minute rows, the leader merges hours, readers filter. */
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../test/support/test-db.ts';
import type { AccessLogRecord } from '../analytics/access-log.ts';
import { accessRecord } from '../../test/support/access-log-records.ts';
import { RollupAccumulator } from '../analytics/rollup.ts';
import { ensurePartitions } from './partitions.ts';
import { total as sumCounts } from '../analytics/series.ts';
import { hourRolledUp, mergeMinuteCells, MinuteRowCache, readRollups, rollUpHour } from './rollups.ts';
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

/** A db whose next statement sent with `execute` (the upsert), in or out of a transaction, fails once when told. */
function failing(db: Db) {
  const state = { failNext: false };
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, prop) {
        if (prop === 'execute' && state.failNext) {
          state.failNext = false;
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

describe('merging with the cache of this replica\'s rows', () => {
  /** A cache whose clock stands at 10:10, so the buckets of these cases (10:05-10:08) are recent. */
  const newCache = () => new MinuteRowCache(5 * 60_000, () => Date.parse('2026-12-02T10:10:00Z'));
  const fixture = useTestDatabase();
  beforeAll(() => ensurePartitions(fixture.db, 'traffic_rollups_minute', NOW));
  const serviceRequests = async (replica: string) =>
    (await readRollups(fixture.db, 'minute', { from: new Date('2026-12-02T10:00:00Z'), to: new Date('2026-12-02T11:00:00Z'), kind: 'service' }))
      .filter((r) => r.replica === replica)
      .map((r) => [r.bucket.toISOString(), r.requests, r.latency.count]);

  it('reads a bucket once, then merges from what it wrote itself', async () => {
    const db = fixture.db;
    const cache = newCache();
    await mergeMinuteCells(db, 'cp-c', cellsOf(rec('2026-12-02T10:05:01Z', 10)), cache);
    expect(cache.bucketsRead).toBe(1);
    await mergeMinuteCells(db, 'cp-c', cellsOf(rec('2026-12-02T10:05:02Z', 20), rec('2026-12-02T10:05:03Z', 30, 503)), cache);
    await mergeMinuteCells(db, 'cp-c', cellsOf(rec('2026-12-02T10:05:04Z', 40)), cache);
    expect(cache.bucketsRead).toBe(1);
    expect(await serviceRequests('cp-c')).toEqual([['2026-12-02T10:05:00.000Z', 4, 4]]);
  });

  it('after a restart with the same replica id, a fresh cache merges into the rows stored before', async () => {
    await mergeMinuteCells(fixture.db, 'cp-r', cellsOf(rec('2026-12-02T10:06:01Z', 10), rec('2026-12-02T10:07:01Z', 10)), newCache());
    const restarted = newCache();
    await mergeMinuteCells(fixture.db, 'cp-r', cellsOf(rec('2026-12-02T10:06:30Z', 10)), restarted);
    await mergeMinuteCells(fixture.db, 'cp-r', cellsOf(rec('2026-12-02T10:07:30Z', 10), rec('2026-12-02T10:06:40Z', 10)), restarted);
    expect(await serviceRequests('cp-r')).toEqual([
      ['2026-12-02T10:06:00.000Z', 3, 3],
      ['2026-12-02T10:07:00.000Z', 2, 2],
    ]);
  });

  it('forgets buckets older than its window, and reads them again when a late delta comes', async () => {
    const db = fixture.db;
    const cache = newCache();
    await mergeMinuteCells(db, 'cp-o', cellsOf(rec('2026-12-02T10:01:01Z', 10), rec('2026-12-02T10:06:01Z', 10)), cache);
    await mergeMinuteCells(db, 'cp-o', cellsOf(rec('2026-12-02T10:01:02Z', 10), rec('2026-12-02T10:06:02Z', 10)), cache);
    // Both buckets once, then 10:01 again: it is older than 10:10 - 5 min.
    expect(cache.bucketsRead).toBe(3);
    expect(await serviceRequests('cp-o')).toEqual([
      ['2026-12-02T10:01:00.000Z', 2, 2],
      ['2026-12-02T10:06:00.000Z', 2, 2],
    ]);
  });

  it('notices rows deleted behind its back (a truncated table) and reads the bucket again', async () => {
    const cache = newCache();
    await mergeMinuteCells(fixture.db, 'cp-t', cellsOf(rec('2026-12-02T10:09:01Z', 10), rec('2026-12-02T10:09:02Z', 10)), cache);
    await fixture.db.execute(sql`delete from traffic_rollups_minute where replica = 'cp-t'`);
    await mergeMinuteCells(fixture.db, 'cp-t', cellsOf(rec('2026-12-02T10:09:03Z', 10)), cache);
    expect(cache.bucketsRead).toBe(2);
    expect(await serviceRequests('cp-t')).toEqual([['2026-12-02T10:09:00.000Z', 1, 1]]);
  });

  it('keeps the cache as the table is when a write fails, so the retried deltas count once', async () => {
    const { db, state } = failing(fixture.db);
    const cache = newCache();
    await mergeMinuteCells(db, 'cp-f', cellsOf(rec('2026-12-02T10:08:01Z', 10)), cache);
    const deltas = cellsOf(rec('2026-12-02T10:08:02Z', 10));
    state.failNext = true;
    await expect(mergeMinuteCells(db, 'cp-f', deltas, cache)).rejects.toThrow('connection lost');
    await mergeMinuteCells(db, 'cp-f', deltas, cache);
    expect(await serviceRequests('cp-f')).toEqual([['2026-12-02T10:08:00.000Z', 2, 2]]);
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
