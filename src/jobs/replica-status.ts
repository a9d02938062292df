/**
 * Every replica's heartbeat in the replicas table, with a summary of the proxies it holds, written
 * every interval (the summary only when something changed), so that any replica's API lists every
 * proxy of the mesh. A replica that stops removes its row; one that dies is pruned by the leader.
 */
import type { Db } from '../registry/db.ts';
import { publishReplica, removeReplica } from '../registry/replicas.ts';

export interface ReplicaStatusOptions {
  db: Db;
  id: string;
  apiUrl: string;
  isLeader: () => boolean;
  intervalMs: number;
  /** The proxies this replica holds, as the API shows them. */
  proxies: () => unknown[];
  /** Grows whenever the proxies' status changes. */
  changeCount: () => number;
  /** This replica's telemetry counters, shared so any replica's API and the leader's alerts see every replica's drops. */
  telemetry?: () => Record<string, number>;
  log: { warn(obj: object, msg: string): void };
}

export interface ReplicaStatusJob {
  /** Writes the heartbeat (and the proxies if they changed) now. */
  runOnce(): Promise<void>;
  /** Stops the timer and removes this replica's row (best effort: the database may be gone). */
  stop(): Promise<void>;
}

/** Starts the heartbeat; the first write happens before it returns. */
export async function startReplicaStatus(opts: ReplicaStatusOptions): Promise<ReplicaStatusJob> {
  let written: number | undefined;
  let running: Promise<void> | undefined;
  let failing = false;
  const write = async () => {
    const count = opts.changeCount();
    const proxies = count === written ? undefined : opts.proxies();
    try {
      await publishReplica(opts.db, { id: opts.id, apiUrl: opts.apiUrl, leader: opts.isLeader(), proxies, telemetry: opts.telemetry?.() });
      written = count;
      failing = false;
    } catch (err) {
      if (!failing) opts.log.warn({ err: (err as Error).message }, 'could not write this replica’s proxy status; will retry');
      failing = true;
    }
  };
  const runOnce = () => (running ??= write().finally(() => (running = undefined)));
  await runOnce();
  const timer = setInterval(() => void runOnce(), opts.intervalMs);
  timer.unref();
  return {
    runOnce,
    stop: async () => {
      clearInterval(timer);
      await running;
      await removeReplica(opts.db, opts.id).catch(() => undefined);
    },
  };
}
