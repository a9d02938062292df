/** The xDS server's Prometheus metrics, registered on the registry the composition root passes in. */
import { Counter, Gauge, type Registry } from 'prom-client';

/** Metrics about streams, pushes and rejections. */
export class XdsMetrics {
  readonly streams: Gauge<'variant'>;
  readonly pushes: Counter<'type'>;
  readonly resourcesSent: Counter<'type'>;
  readonly nacks: Counter<'type'>;
  readonly ignoredRequests: Counter<'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.streams = new Gauge({ name: 'apg_xds_connected_streams', help: 'Open xDS streams', labelNames: ['variant'], registers });
    this.pushes = new Counter({ name: 'apg_xds_pushes_total', help: 'xDS responses sent', labelNames: ['type'], registers });
    this.resourcesSent = new Counter({
      name: 'apg_xds_resources_sent_total',
      help: 'Resources carried in xDS responses',
      labelNames: ['type'],
      registers,
    });
    this.nacks = new Counter({ name: 'apg_xds_nacks_total', help: 'xDS responses rejected by proxies', labelNames: ['type'], registers });
    this.ignoredRequests = new Counter({
      name: 'apg_xds_ignored_requests_total',
      help: 'xDS requests ignored (stale nonce, unsupported type)',
      labelNames: ['reason'],
      registers,
    });
  }
}
