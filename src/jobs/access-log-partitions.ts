/**
 * The leader keeps the raw access-log table's days in step with the clock: the partitions of
 * yesterday, today and the next two days exist before entries land in them, and days that ended
 * before the retention cut are dropped whole (so raw entries live from `retentionMs` to
 * `retentionMs` plus one day).
 */
import { dropPartitionsBefore, ensurePartitions } from '../registry/access-logs.ts';
import type { Db } from '../registry/db.ts';
import { startPeriodicJob, type PeriodicJob } from './periodic.ts';

export interface AccessLogPartitionOptions {
  db: Db;
  isLeader: () => boolean;
  intervalMs: number;
  /** How long raw entries are kept at least. */
  retentionMs: number;
  now?: () => Date;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/** Runs every interval while this replica leads; `runOnce` resolves with the partitions created plus dropped. */
export function startAccessLogPartitions(opts: AccessLogPartitionOptions): PeriodicJob {
  return startPeriodicJob(
    opts.intervalMs,
    async () => {
      if (!opts.isLeader()) return 0;
      const now = opts.now?.() ?? new Date();
      const created = await ensurePartitions(opts.db, now);
      const dropped = await dropPartitionsBefore(opts.db, new Date(now.getTime() - opts.retentionMs));
      if (created.length + dropped.length > 0) opts.log.info({ created, dropped }, 'access-log partitions updated');
      return created.length + dropped.length;
    },
    (err) => opts.log.warn({ err: err.message }, 'access-log partition job failed; will retry'),
  );
}
