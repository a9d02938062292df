/** The xDS server's Prometheus metrics, registered on the registry the composition root passes in. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Seconds, 5 ms to 30 s: from a push within one fan-out to a proxy that takes long to warm its clusters. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Metrics about streams, pushes, rejections and how long a change takes to reach the proxies. */
export class XdsMetrics {
  /** Open streams, whatever they subscribe to. */
  readonly openStreams: Gauge<'variant'>;
  /** Streams that subscribe to each type (a stream counts once per type it was sent). */
  readonly connectedStreams: Gauge<'variant' | 'type'>;
  readonly pushes: Counter<'variant' | 'type'>;
  readonly resourcesSent: Counter<'type'>;
  /** Snapshot published → response written, for responses written while that snapshot was fanned out. */
  readonly pushLatency: Histogram<'type'>;
  readonly nacks: Counter<'type'>;
  /** Change committed in the registry → the proxy ACKed a response pushed for it. */
  readonly convergence: Histogram<'type'>;
  readonly ignoredRequests: Counter<'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.openStreams = new Gauge({ name: 'apg_xds_open_streams', help: 'Open xDS streams', labelNames: ['variant'], registers });
    this.connectedStreams = new Gauge({
      name: 'apg_xds_connected_streams',
      help: 'Open xDS streams subscribed to each resource type',
      labelNames: ['variant', 'type'],
      registers,
    });
    this.pushes = new Counter({ name: 'apg_xds_pushes_total', help: 'xDS responses sent', labelNames: ['variant', 'type'], registers });
    this.resourcesSent = new Counter({
      name: 'apg_xds_resources_sent_total',
      help: 'Resources carried in xDS responses',
      labelNames: ['type'],
      registers,
    });
    this.pushLatency = new Histogram({
      name: 'apg_xds_push_latency_seconds',
      help: 'Time from a snapshot being published to a response carrying it being written to a stream',
      labelNames: ['type'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.nacks = new Counter({ name: 'apg_xds_nacks_total', help: 'xDS responses rejected by proxies', labelNames: ['type'], registers });
    this.convergence = new Histogram({
      name: 'apg_xds_convergence_seconds',
      help: 'Time from a registry change committing to a connected proxy ACKing the response pushed for it',
      labelNames: ['type'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.ignoredRequests = new Counter({
      name: 'apg_xds_ignored_requests_total',
      help: 'xDS requests ignored (stale nonce, unsupported type)',
      labelNames: ['reason'],
      registers,
    });
  }
}
