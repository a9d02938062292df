/** The leader's periodic housekeeping: expire endpoint TTLs (Consul-style TTL checks), prune the change log and dead replicas. */
import type { Db } from '../registry/db.ts';
import { pruneChanges } from '../registry/changes.ts';
import { expireHeartbeats } from '../registry/endpoints.ts';
import { pruneReplicas } from '../registry/replicas.ts';
import { startPeriodicJob, type PeriodicJob } from './periodic.ts';

export interface HousekeepingOptions {
  db: Db;
  isLeader: () => boolean;
  intervalMs: number;
  /** How long change rows are kept for replicas catching up. */
  changeRetentionMs: number;
  /** Replicas not seen for this long are removed from the replicas table. */
  replicaStaleMs: number;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** Runs housekeeping every interval while this replica leads; `runOnce` resolves with the number of endpoints expired. */
export function startHousekeeping(opts: HousekeepingOptions): PeriodicJob {
  return startPeriodicJob(
    opts.intervalMs,
    async () => {
      if (!opts.isLeader()) return 0;
      const expired = await expireHeartbeats(opts.db);
      if (expired > 0) opts.log.info({ expired }, 'endpoints missed their heartbeat TTL and are now unhealthy');
      await pruneChanges(opts.db, new Date(Date.now() - opts.changeRetentionMs));
      await pruneReplicas(opts.db, opts.replicaStaleMs);
      return expired;
    },
    (err) => opts.log.warn({ err: err.message }, 'housekeeping failed; will retry'),
  );
}
