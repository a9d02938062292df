/** What each connected proxy was sent, ACKed and rejected: the source for the API, logs and metrics. */
import type { ProxyIdentity } from '../../model/proxy.ts';
import { SHORT_NAMES, type TypeUrl } from '../../protos/type-urls.ts';
import type { XdsMetrics } from './metrics.ts';
import type { IgnoreReason, StreamObserver, Variant } from './stream-base.ts';

export interface TypeStatus {
  sentVersion?: string;
  sentNonce?: string;
  sentAt?: Date;
  ackedVersion?: string;
  ackedAt?: Date;
  lastNack?: { version: string; nonce: string; errorDetail: string; at: Date };
}

export interface ProxyStatus {
  streamId: string;
  proxy?: ProxyIdentity;
  variant: Variant;
  connectedAt: Date;
  types: Partial<Record<string, TypeStatus>>;
}

export interface StatusLogger {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** Tracks every stream's status and feeds the metrics; the xDS streams report to it. */
export class ProxyStatusTracker implements StreamObserver {
  private readonly streams = new Map<string, ProxyStatus>();

  constructor(
    private readonly metrics: XdsMetrics,
    private readonly log: StatusLogger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Starts tracking a stream that just opened. */
  opened(streamId: string, variant: Variant): void {
    this.streams.set(streamId, { streamId, variant, connectedAt: this.now(), types: {} });
    this.metrics.streams.inc({ variant });
  }

  /** Stops tracking a stream that closed. */
  closed(streamId: string): void {
    const s = this.streams.get(streamId);
    if (s && this.streams.delete(streamId)) this.metrics.streams.dec({ variant: s.variant });
  }

  connected(streamId: string, proxy: ProxyIdentity): void {
    const s = this.streams.get(streamId);
    if (s) s.proxy = proxy;
  }

  sent(streamId: string, typeUrl: TypeUrl, version: string, nonce: string, count: number): void {
    Object.assign(this.type(streamId, typeUrl), { sentVersion: version, sentNonce: nonce, sentAt: this.now() });
    this.metrics.pushes.inc({ type: SHORT_NAMES[typeUrl] });
    this.metrics.resourcesSent.inc({ type: SHORT_NAMES[typeUrl] }, count);
  }

  acked(streamId: string, typeUrl: TypeUrl, version: string): void {
    Object.assign(this.type(streamId, typeUrl), { ackedVersion: version, ackedAt: this.now() });
  }

  nacked(streamId: string, typeUrl: TypeUrl, version: string, nonce: string, detail: string): void {
    this.type(streamId, typeUrl).lastNack = { version, nonce, errorDetail: detail, at: this.now() };
    this.metrics.nacks.inc({ type: SHORT_NAMES[typeUrl] });
    const proxy = this.streams.get(streamId)?.proxy?.id;
    this.log.warn({ proxy, type: SHORT_NAMES[typeUrl], version, detail }, 'proxy rejected config (NACK)');
  }

  ignored(streamId: string, reason: IgnoreReason, detail?: string): void {
    this.metrics.ignoredRequests.inc({ reason });
    this.log.debug({ streamId, reason, detail }, 'xDS request ignored');
  }

  /** Every tracked stream, oldest first. */
  list(): ProxyStatus[] {
    return [...this.streams.values()];
  }

  private type(streamId: string, typeUrl: TypeUrl): TypeStatus {
    const s = this.streams.get(streamId);
    if (!s) return {};
    const key = SHORT_NAMES[typeUrl];
    return (s.types[key] ??= {});
  }
}
