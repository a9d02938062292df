/**
 * This replica's telemetry ingestion: raw access-log entries through the bounded queue into the raw
 * table, rollup deltas merged into its minute rows every few seconds, the latest cluster stats of
 * the metrics service, and the mesh traffic on `/metrics`.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { TelemetryIngest } from '../analytics/ingest.ts';
import { registerMeshMetrics } from '../analytics/mesh-metrics.ts';
import { ClusterStatsSink } from '../analytics/metrics-sink.ts';
import { copyAccessLogRows } from '../registry/access-logs.ts';
import { upsertClusterStats } from '../registry/cluster-stats.ts';
import type { Database } from '../registry/db.ts';
import { mergeMinuteDeltas } from '../registry/rollups.ts';
import { startPeriodicJob } from './periodic.ts';

export interface TelemetryOptions {
  database: Database;
  replicaId: string;
  /** Most access-log entries waiting to be stored. */
  queueCapacity: number;
  metrics: Registry;
  log: Logger;
}

/** How often this replica merges its rollup deltas into the minute rows. */
const ROLLUP_FLUSH_MS = 5000;

/** The telemetry ingestion: raw entries through the bounded queue, rollups merged every few seconds, mesh metrics on /metrics. */
export function startTelemetry(opts: TelemetryOptions) {
  const { database, replicaId, metrics, log } = opts;
  const { db } = database;
  const sink = new ClusterStatsSink({
    minIntervalMs: 10_000,
    write: (proxyId, stats, at) => upsertClusterStats(db, proxyId, replicaId, stats, at),
  });
  // Read at scrape time, once `ingest` exists.
  const mesh = registerMeshMetrics(metrics, () => ingest.stats);
  const ingest = new TelemetryIngest({
    writeRows: (parts) => copyAccessLogRows(database, parts),
    writeRollups: (batches) => mergeMinuteDeltas(db, replicaId, batches),
    onRollups: (edges) => mesh.observe(edges),
    metrics: (from, families) => void sink.accept(from.proxyId, families, new Date()),
    queueCapacity: opts.queueCapacity,
    log: log.child({ component: 'telemetry' }),
  });
  const flusher = startPeriodicJob(
    ROLLUP_FLUSH_MS,
    async () => {
      await ingest.flushRollups();
      return 0;
    },
    // A failed write keeps its cells and is logged by the ingestion; nothing more to do here.
    () => undefined,
  );
  return {
    ingest,
    stop: async () => {
      flusher.stop();
      await ingest.flush().catch(() => undefined);
      await ingest.close();
      await sink.flush().catch(() => undefined);
    },
  };
}

