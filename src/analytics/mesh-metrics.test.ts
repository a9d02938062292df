import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { IngestStats } from './ingest.ts';
import { registerMeshMetrics } from './mesh-metrics.ts';
import { edgeDeltas, RollupAccumulator } from './rollup.ts';

const stats = { entries: 10, rejected: 1, written: 7, droppedFull: 1, droppedFailed: 1, queueDepth: 0, malformed: 0, noNode: 0, unauthenticated: 2, paused: 3, heldForXds: 4, inFlightBytes: 512, workerRestarts: 1, messagesLost: 5 } as IngestStats;
/** The edge deltas of one batch of requests, as the ingestion worker makes them. */
const cellsOf = (pairs: [string | undefined, string, number?][]) => {
  const acc = new RollupAccumulator();
  for (const [source, destination, status] of pairs) {
    acc.add({ at: new Date(), proxyId: 'p', protocol: 'http', direction: 'outbound', source, destination, status, durationMs: 500, bytesReceived: 1, bytesSent: 2 });
  }
  return edgeDeltas(acc.take());
};

describe('registerMeshMetrics', () => {
  it('counts requests per edge and status class, with duration sums, and shows the ingestion counters', async () => {
    const registry = new Registry();
    const m = registerMeshMetrics(registry, () => stats);
    m.observe(cellsOf([['shop/web', 'shop/orders', 200], ['shop/web', 'shop/orders', 503], [undefined, 'shop/web', undefined]]));
    const text = await registry.metrics();
    expect(text).toContain('apg_mesh_requests_total{reporter="source",source="shop/web",destination="shop/orders",code_class="2xx"} 1');
    expect(text).toContain('apg_mesh_requests_total{reporter="source",source="shop/web",destination="shop/orders",code_class="5xx"} 1');
    expect(text).toContain('apg_mesh_requests_total{reporter="source",source="unknown",destination="shop/web",code_class="none"} 1');
    expect(text).toContain('apg_mesh_request_duration_seconds_count{reporter="source",source="shop/web",destination="shop/orders"} 2');
    expect(text).toContain('apg_telemetry_entries_dropped 2');
    expect(text).toContain('apg_telemetry_streams_refused 2');
    expect(text).toContain('apg_telemetry_streams_paused 3');
    expect(text).toContain('apg_telemetry_streams_held_for_xds 4');
    expect(text).toContain('apg_telemetry_worker_bytes_in_hand 512');
    expect(text).toContain('apg_telemetry_worker_restarts 1');
    expect(text).toContain('apg_telemetry_messages_lost 5');
  });

  it('keeps counting across batches, and a scrape reads the totals without changing them', async () => {
    const registry = new Registry();
    const m = registerMeshMetrics(registry, () => stats);
    m.observe(cellsOf([['shop/web', 'shop/orders', 200]]));
    await registry.metrics();
    m.observe(cellsOf([['shop/web', 'shop/orders', 200], ['shop/web', 'shop/orders', 200]]));
    for (let i = 0; i < 2; i++) {
      const text = await registry.metrics();
      expect(text).toContain('apg_mesh_requests_total{reporter="source",source="shop/web",destination="shop/orders",code_class="2xx"} 3');
      expect(text).toContain('apg_mesh_bytes_total{reporter="source",source="shop/web",destination="shop/orders",direction="sent"} 6');
      expect(text).toContain('apg_mesh_request_duration_seconds_sum{reporter="source",source="shop/web",destination="shop/orders"} 1.5');
    }
  });

  it('folds edges past the bound into other/other', async () => {
    const registry = new Registry();
    const m = registerMeshMetrics(registry, () => stats, 2);
    m.observe(cellsOf([['a/a', 'b/b'], ['c/c', 'b/b'], ['d/d', 'b/b'], ['e/e', 'b/b']]));
    const text = await registry.metrics();
    expect(text.match(/^apg_mesh_requests_total\{/gm)).toHaveLength(3);
    expect(text).toContain('source="other",destination="other",code_class="none"} 2');
  });
});
