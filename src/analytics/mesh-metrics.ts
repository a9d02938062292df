/**
 * The mesh's traffic in Prometheus form on `/metrics`: requests by edge (caller → service) and
 * status class, bytes and latency sums, fed from each batch of rollup cells this replica stores
 * (so Prometheus sums the replicas), and the ingestion's own counters. Cardinality is bounded:
 * past `maxEdges` distinct edges, new ones are counted under `source="other",destination="other"`.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { IngestStats } from './ingest.ts';
import type { RollupCell } from './rollup.ts';

export const OTHER = 'other';

/** Creates the metrics in `registry`; `observe` adds the edge cells of a stored batch. */
export function registerMeshMetrics(registry: Registry, stats: () => IngestStats, maxEdges = 2000) {
  const labelNames = ['reporter', 'source', 'destination'] as const;
  const requests = new Counter({ name: 'apg_mesh_requests_total', help: 'Requests between services, by reporting side and status class', labelNames: [...labelNames, 'code_class'], registers: [registry] });
  const bytes = new Counter({ name: 'apg_mesh_bytes_total', help: 'Bytes between services (direction: received or sent by the destination)', labelNames: [...labelNames, 'direction'], registers: [registry] });
  const durationSum = new Counter({ name: 'apg_mesh_request_duration_seconds_sum', help: 'Sum of request durations between services', labelNames, registers: [registry] });
  const durationCount = new Counter({ name: 'apg_mesh_request_duration_seconds_count', help: 'Requests with a measured duration between services', labelNames, registers: [registry] });
  const edges = new Set<string>();

  const ingest = (name: string, help: string, read: (s: IngestStats) => number) =>
    new Gauge({ name, help, registers: [registry], collect() { this.set(read(stats())); } });
  ingest('apg_telemetry_entries_received', 'Access-log entries received by this replica (cumulative)', (s) => s.entries);
  ingest('apg_telemetry_entries_rejected', 'Access-log entries refused as invalid (cumulative)', (s) => s.rejected);
  ingest('apg_telemetry_entries_written', 'Access-log entries stored (cumulative)', (s) => s.written);
  ingest('apg_telemetry_entries_dropped', 'Access-log entries dropped: queue full or batch failed (cumulative)', (s) => s.droppedFull + s.droppedFailed);
  ingest('apg_telemetry_queue_depth', 'Access-log entries waiting to be stored', (s) => s.queueDepth);
  ingest('apg_telemetry_streams_paused', 'Times an access-log stream stopped reading because the queue was above its high-water mark (cumulative)', (s) => s.paused);
  ingest('apg_telemetry_streams_refused', 'Telemetry streams ended with an error status (cumulative)', (s) => s.malformed + s.noNode + s.unauthenticated);

  return {
    observe(cells: readonly RollupCell[]): void {
      for (const c of cells) {
        if (c.kind !== 'edge') continue;
        let id = `${c.source}\u0000${c.destination}`;
        if (!edges.has(id) && edges.size >= maxEdges) id = `${OTHER}\u0000${OTHER}`;
        else edges.add(id);
        const [source, destination] = id.split('\u0000') as [string, string];
        const labels = { reporter: c.reporter, source: source || 'unknown', destination };
        for (const [cls, n] of [['2xx', c.status2xx], ['3xx', c.status3xx], ['4xx', c.status4xx], ['5xx', c.status5xx], ['none', c.noStatus]] as const) {
          if (n > 0) requests.inc({ ...labels, code_class: cls }, n);
        }
        bytes.inc({ ...labels, direction: 'received' }, c.bytesReceived);
        bytes.inc({ ...labels, direction: 'sent' }, c.bytesSent);
        if (c.latency.count > 0) {
          durationSum.inc(labels, c.latency.sum / 1000);
          durationCount.inc(labels, c.latency.count);
        }
      }
    },
  };
}
