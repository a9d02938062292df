/** The raw access-log table by day: partitions created ahead, whole days dropped, batches inserted. */
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../test/support/test-db.ts';
import type { AccessLogRecord } from '../analytics/access-log.ts';
import type { Db } from './db.ts';
import { dropPartitionsBefore, ensurePartitions, insertAccessLogRecords, listPartitions, partitionName } from './access-logs.ts';

const NOW = new Date('2026-12-02T10:00:00Z');
const record = (at: string, over: Partial<AccessLogRecord> = {}): AccessLogRecord => ({
  at: new Date(at),
  proxyId: 'web-1',
  protocol: 'http',
  direction: 'outbound',
  source: 'shop/web',
  destination: 'shop/orders',
  status: 200,
  durationMs: 1.5,
  bytesReceived: 10,
  bytesSent: 20,
  traceId: 't1',
  ...over,
});

describe('access-log partitions', () => {
  const fixture = useTestDatabase();
  let db: Db;
  const count = async (table = 'access_log_entries') => {
    const res = (await db.execute(sql.raw(`select count(*)::int as n from "${table}"`))) as unknown as { rows: { n: number }[] };
    return res.rows[0]!.n;
  };
  beforeAll(() => {
    db = fixture.db;
  });

  it('names a day\'s partition after its UTC date', () => {
    expect(partitionName(new Date('2026-12-02T23:59:59Z'))).toBe('access_log_entries_p20261202');
  });

  it('creates yesterday\'s, today\'s and the next two days\' partitions once', async () => {
    expect(await ensurePartitions(db, NOW)).toEqual(['p20261201', 'p20261202', 'p20261203', 'p20261204'].map((d) => `access_log_entries_${d}`));
    expect(await ensurePartitions(db, NOW)).toEqual([]);
    expect(await listPartitions(db)).toHaveLength(4);
  });

  it('stores a batch in the partitions of its days, and refuses a day that has none', async () => {
    await insertAccessLogRecords(db, [record('2026-12-01T23:59:59Z'), record('2026-12-02T00:00:00Z', { protocol: 'tcp', status: undefined, traceId: undefined })]);
    expect(await count()).toBe(2);
    expect(await count('access_log_entries_p20261201')).toBe(1);
    expect(await count('access_log_entries_p20261202')).toBe(1);
    await expect(insertAccessLogRecords(db, [record('2026-11-20T00:00:00Z')])).rejects.toThrow();
    expect(await count()).toBe(2);
  });

  it('drops whole days that ended before the retention cut, with their rows', async () => {
    expect(await dropPartitionsBefore(db, new Date('2026-12-02T00:00:00Z'))).toEqual(['access_log_entries_p20261201']);
    expect(await count()).toBe(1);
    expect(await listPartitions(db)).toEqual(['p20261202', 'p20261203', 'p20261204'].map((d) => `access_log_entries_${d}`));
  });
});

describe('the access-log partition job', () => {
  const fixture = useTestDatabase();
  let now = new Date('2026-12-02T10:00:00Z');
  let leader = false;

  it('on the leader, creates the days around now and drops those past the retention as the clock moves', async () => {
    const { startAccessLogPartitions } = await import('../jobs/access-log-partitions.ts');
    const job = startAccessLogPartitions({ db: fixture.db, isLeader: () => leader, intervalMs: 3_600_000, retentionMs: 86_400_000, now: () => now, log: { info: () => {}, warn: () => {} } });
    expect(await job.runOnce()).toBe(0);
    expect(await listPartitions(fixture.db)).toEqual([]);
    leader = true;
    expect(await job.runOnce()).toBe(4);
    now = new Date('2026-12-04T10:00:00Z');
    // Two new days ahead; the days that ended before 2026-12-03T10:00 (1 and 2 December) go.
    expect(await job.runOnce()).toBe(4);
    expect(await listPartitions(fixture.db)).toEqual(['p20261203', 'p20261204', 'p20261205', 'p20261206'].map((d) => `access_log_entries_${d}`));
    job.stop();
  });
});
