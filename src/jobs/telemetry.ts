/**
 * This replica's telemetry ingestion: raw access-log entries through the bounded queue into the raw
 * table, rollup deltas added to its minute rows every 10 s, the latest cluster stats of
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

/**
 * How often this replica adds its rollup deltas to the minute rows. Every merge adds to each row its
 * cells touch (and merges their histograms in PostgreSQL, ~40 µs a row): at 10 s rather than 5 s,
 * PostgreSQL took ~0.1 core less under fifty streams at 50,000 entries/s (docs/benchmarks.md), and
 * the rows are at most 10 s behind, fresher than a Prometheus scrape.
 */
const ROLLUP_FLUSH_MS = 10_000;

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

