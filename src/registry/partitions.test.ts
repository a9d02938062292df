/** Day-partitioned telemetry tables: partitions created ahead, whole days dropped, access-log batches inserted. */
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../test/support/test-db.ts';
import type { AccessLogRecord } from '../analytics/access-log.ts';
import { accessRecord } from '../../test/support/access-log-records.ts';
import type { Db } from './db.ts';
import { insertAccessLogRecords } from './access-logs.ts';
import { dropPartitionsBefore, ensurePartitions, listPartitions, partitionName } from './partitions.ts';

const NOW = new Date('2026-12-02T10:00:00Z');
const record = (at: string, over: Partial<AccessLogRecord> = {}) => accessRecord(at, { durationMs: 1.5, bytesReceived: 10, bytesSent: 20, traceId: 't1', ...over });

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
    expect(partitionName('access_log_entries', new Date('2026-12-02T23:59:59Z'))).toBe('access_log_entries_p20261202');
    expect(partitionName('traffic_rollups_hour', new Date('2026-12-02T00:00:00Z'))).toBe('traffic_rollups_hour_p20261202');
  });

  it('creates yesterday\'s, today\'s and the next two days\' partitions once', async () => {
    expect(await ensurePartitions(db, 'access_log_entries', NOW)).toEqual(['p20261201', 'p20261202', 'p20261203', 'p20261204'].map((d) => `access_log_entries_${d}`));
    expect(await ensurePartitions(db, 'access_log_entries', NOW)).toEqual([]);
    expect(await listPartitions(db, 'access_log_entries')).toHaveLength(4);
  });

  it('stores a batch in the partitions of its days, and refuses a day that has none', async () => {
    await insertAccessLogRecords(fixture.database, [record('2026-12-01T23:59:59Z', { route: 'shop/checkout' }), record('2026-12-02T00:00:00Z', { protocol: 'tcp', status: undefined, traceId: undefined })]);
    expect(await count()).toBe(2);
    expect(await count('access_log_entries_p20261201')).toBe(1);
    expect(await count('access_log_entries_p20261202')).toBe(1);
    await expect(insertAccessLogRecords(fixture.database, [record('2026-11-20T00:00:00Z')])).rejects.toThrow();
    expect(await count()).toBe(2);
  });

  it('drops whole days that ended before the retention cut, with their rows', async () => {
    expect(await dropPartitionsBefore(db, 'access_log_entries', new Date('2026-12-02T00:00:00Z'))).toEqual(['access_log_entries_p20261201']);
    expect(await count()).toBe(1);
    expect(await listPartitions(db, 'access_log_entries')).toEqual(['p20261202', 'p20261203', 'p20261204'].map((d) => `access_log_entries_${d}`));
  });
});

describe('the telemetry retention job', () => {
  const fixture = useTestDatabase();
  let now = new Date('2026-12-02T10:00:00Z');
  let leader = false;
  const DAY = 86_400_000;

  it('on the leader, creates the days around now and drops each table\'s days past its retention as the clock moves', async () => {
    const { startTelemetryRetention } = await import('../jobs/telemetry-retention.ts');
    const retentionMs = { access_log_entries: DAY, traffic_rollups_minute: 3 * DAY, traffic_rollups_hour: 30 * DAY };
    const job = startTelemetryRetention({ db: fixture.db, isLeader: () => leader, intervalMs: 3_600_000, retentionMs, now: () => now, log: { info: () => {}, warn: () => {} } });
    expect(await job.runOnce()).toBe(0);
    expect(await listPartitions(fixture.db, 'access_log_entries')).toEqual([]);
    leader = true;
    expect(await job.runOnce()).toBe(12);
    now = new Date('2026-12-04T10:00:00Z');
    // Raw entries: two new days ahead; the days that ended before 2026-12-03T10:00 (1 and 2 December) go.
    // Minute rollups keep three days: nothing ends before 2026-12-01T10:00 yet. Hours: two new days only.
    expect(await job.runOnce()).toBe(4 + 2 + 2);
    expect(await listPartitions(fixture.db, 'access_log_entries')).toEqual(['p20261203', 'p20261204', 'p20261205', 'p20261206'].map((d) => `access_log_entries_${d}`));
    expect(await listPartitions(fixture.db, 'traffic_rollups_minute')).toHaveLength(6);
    job.stop();
  });
});
