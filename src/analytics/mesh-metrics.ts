/**
 * The mesh's traffic in Prometheus form on `/metrics`: requests by edge (caller → service) and
 * status class, bytes and latency sums, fed from each batch of rollup deltas this replica stores
 * (so Prometheus sums the replicas), and the ingestion's own counters. Cardinality is bounded:
 * past `maxEdges` distinct edges, new ones are counted under `source="other",destination="other"`.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { IngestStats } from './ingest.ts';
import type { EdgeDelta } from './rollup.ts';

export const OTHER = 'other';

const CODE_CLASSES = ['2xx', '3xx', '4xx', '5xx', 'none'] as const;

/** What one reporter has seen of one edge since the process started. */
interface EdgeTotals {
  labels: { reporter: string; source: string; destination: string };
  /** By `CODE_CLASSES`. */
  requests: [number, number, number, number, number];
  received: number;
  sent: number;
  durationSeconds: number;
  timed: number;
}

/** Creates the metrics in `registry`; `observe` adds the edges of a stored batch. */
export function registerMeshMetrics(registry: Registry, stats: () => IngestStats, maxEdges = 2000) {
  /** Cumulative totals per reporter and edge, added to on every stored batch; the counters read them when scraped (prom-client hashes the labels on every `inc`). */
  const totals = new Map<string, EdgeTotals>();
  const labelNames = ['reporter', 'source', 'destination'] as const;
  const counter = (name: string, help: string, names: readonly string[], fill: (c: Counter, t: EdgeTotals) => void) =>
    new Counter({
      name,
      help,
      labelNames: names,
      registers: [registry],
      collect() {
        this.reset();
        for (const t of totals.values()) fill(this, t);
      },
    });
  counter('apg_mesh_requests_total', 'Requests between services, by reporting side and status class', [...labelNames, 'code_class'], (m, t) =>
    CODE_CLASSES.forEach((cls, i) => t.requests[i]! > 0 && m.inc({ ...t.labels, code_class: cls }, t.requests[i])),
  );
  counter('apg_mesh_bytes_total', 'Bytes between services (direction: received or sent by the destination)', [...labelNames, 'direction'], (m, t) => {
    m.inc({ ...t.labels, direction: 'received' }, t.received);
    m.inc({ ...t.labels, direction: 'sent' }, t.sent);
  });
  counter('apg_mesh_request_duration_seconds_sum', 'Sum of request durations between services', labelNames, (m, t) => t.timed > 0 && m.inc(t.labels, t.durationSeconds));
  counter('apg_mesh_request_duration_seconds_count', 'Requests with a measured duration between services', labelNames, (m, t) => t.timed > 0 && m.inc(t.labels, t.timed));
  const edges = new Set<string>();

  const ingest = (name: string, help: string, read: (s: IngestStats) => number) =>
    new Gauge({ name, help, registers: [registry], collect() { this.set(read(stats())); } });
  ingest('apg_telemetry_entries_received', 'Access-log entries received by this replica (cumulative)', (s) => s.entries);
  ingest('apg_telemetry_entries_rejected', 'Access-log entries refused as invalid (cumulative)', (s) => s.rejected);
  ingest('apg_telemetry_entries_written', 'Access-log entries stored (cumulative)', (s) => s.written);
  ingest('apg_telemetry_entries_dropped', 'Access-log entries dropped: queue full or batch failed (cumulative)', (s) => s.droppedFull + s.droppedFailed);
  ingest('apg_telemetry_queue_depth', 'Access-log entries waiting to be stored', (s) => s.queueDepth);
  ingest('apg_telemetry_streams_paused', 'Times an access-log stream stopped reading because the queue, with what the worker has in hand, was above its high-water mark (cumulative)', (s) => s.paused);
  ingest('apg_telemetry_worker_bytes_in_hand', 'Bytes of access-log messages the ingestion worker has not made into rows yet', (s) => s.inFlightBytes);
  ingest('apg_telemetry_worker_restarts', 'Times the access-log ingestion worker died and was started again (cumulative)', (s) => s.workerRestarts);
  ingest('apg_telemetry_messages_lost', 'Access-log messages lost with a worker that died, or while none could start (cumulative)', (s) => s.messagesLost);
  ingest('apg_telemetry_streams_held_for_xds', 'Times an access-log stream stopped reading while a config build ran: xDS goes first (cumulative)', (s) => s.heldForXds);
  ingest('apg_telemetry_streams_refused', 'Telemetry streams ended with an error status (cumulative)', (s) => s.malformed + s.noNode + s.unauthenticated);

  return {
    observe(deltas: readonly EdgeDelta[]): void {
      for (const d of deltas) {
        let id = `${d.source}\u0000${d.destination}`;
        if (!edges.has(id) && edges.size >= maxEdges) id = `${OTHER}\u0000${OTHER}`;
        else edges.add(id);
        const key = `${d.reporter}\u0000${id}`;
        let t = totals.get(key);
        if (!t) {
          const [source, destination] = id.split('\u0000') as [string, string];
          totals.set(key, (t = { labels: { reporter: d.reporter, source: source || 'unknown', destination }, requests: [0, 0, 0, 0, 0], received: 0, sent: 0, durationSeconds: 0, timed: 0 }));
        }
        const [r2, r3, r4, r5, none] = d.requests;
        t.requests[0] += r2;
        t.requests[1] += r3;
        t.requests[2] += r4;
        t.requests[3] += r5;
        t.requests[4] += none;
        t.received += d.bytesReceived;
        t.sent += d.bytesSent;
        t.durationSeconds += d.durationMs / 1000;
        t.timed += d.timed;
      }
    },
  };
}
