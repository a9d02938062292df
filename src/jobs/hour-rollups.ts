/**
 * The leader merges each hour's minute rollups (of every replica) into the hour table once the hour
 * is over: again at each run during the settle window after it (replicas flush their last minutes
 * and late entries a little after the hour), and later only if the hour was never rolled up (a
 * leader that was down). Entries that arrive after the settle window stay in the minute rows only.
 */
import { HOUR_MS, bucketOf } from '../analytics/rollup.ts';
import type { Db } from '../registry/db.ts';
import { hourRolledUp, rollUpHour } from '../registry/rollups.ts';
import { startPeriodicJob, type PeriodicJob } from './periodic.ts';

/** How long after an hour ends its rollup is redone at each run. */
export const SETTLE_MS = 15 * 60_000;
/** How many past hours are checked for a missing rollup. */
export const LOOK_BACK_HOURS = 3;

export interface HourRollupOptions {
  db: Db;
  isLeader: () => boolean;
  intervalMs: number;
  now?: () => Date;
  log: { warn(obj: object, msg: string): void };
}

/** Runs every interval while this replica leads; `runOnce` resolves with the number of hours rolled up. */
export function startHourRollups(opts: HourRollupOptions): PeriodicJob {
  return startPeriodicJob(
    opts.intervalMs,
    async () => {
      if (!opts.isLeader()) return 0;
      const now = (opts.now?.() ?? new Date()).getTime();
      const current = bucketOf(now, HOUR_MS).getTime();
      let rolled = 0;
      for (let h = 1; h <= LOOK_BACK_HOURS; h++) {
        const hour = new Date(current - h * HOUR_MS);
        const settling = now < hour.getTime() + HOUR_MS + SETTLE_MS;
        if (!settling && (await hourRolledUp(opts.db, hour))) continue;
        await rollUpHour(opts.db, hour);
        rolled += 1;
      }
      return rolled;
    },
    (err) => opts.log.warn({ err: err.message }, 'hour rollup failed; will retry'),
  );
}
