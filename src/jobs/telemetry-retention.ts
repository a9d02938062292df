/**
 * The leader keeps the day-partitioned telemetry tables in step with the clock: the partitions of
 * yesterday, today and the next two days exist before rows land in them, and days that ended before
 * a table's retention cut are dropped whole (so rows live from the retention to the retention plus one day).
 */
import { dropPartitionsBefore, ensurePartitions, type PartitionedTable } from '../registry/partitions.ts';
import type { Db } from '../registry/db.ts';
import { pruneClusterStats } from '../registry/cluster-stats.ts';
import { startPeriodicJob, type PeriodicJob } from './periodic.ts';

export interface TelemetryRetentionOptions {
  db: Db;
  isLeader: () => boolean;
  intervalMs: number;
  /** How long each table's rows are kept at least. */
  retentionMs: Record<PartitionedTable, number>;
  /** Cluster stats of proxies silent this long are deleted (their proxy is gone). */
  clusterStatsMaxAgeMs?: number;
  now?: () => Date;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/** Runs every interval while this replica leads; `runOnce` resolves with the partitions created plus dropped (plus stale cluster-stat rows deleted). */
export function startTelemetryRetention(opts: TelemetryRetentionOptions): PeriodicJob {
  return startPeriodicJob(
    opts.intervalMs,
    async () => {
      if (!opts.isLeader()) return 0;
      const now = opts.now?.() ?? new Date();
      let changed = 0;
      for (const [table, retentionMs] of Object.entries(opts.retentionMs) as [PartitionedTable, number][]) {
        const created = await ensurePartitions(opts.db, table, now);
        const dropped = await dropPartitionsBefore(opts.db, table, new Date(now.getTime() - retentionMs));
        if (created.length + dropped.length > 0) opts.log.info({ created, dropped }, 'telemetry partitions updated');
        changed += created.length + dropped.length;
      }
      if (opts.clusterStatsMaxAgeMs !== undefined) changed += await pruneClusterStats(opts.db, new Date(now.getTime() - opts.clusterStatsMaxAgeMs));
      return changed;
    },
    (err) => opts.log.warn({ err: err.message }, 'telemetry partition job failed; will retry'),
  );
}
