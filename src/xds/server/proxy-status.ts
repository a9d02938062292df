/** What each connected proxy was sent, ACKed and rejected: the source for the API, CSDS, logs and metrics. */
import type { ProxyIdentity } from '../../model/proxy.ts';
import { SHORT_NAMES, type TypeUrl } from '../../protos/type-urls.ts';
import type { CachedResource } from '../cache/resource.ts';
import type { Snapshot } from '../cache/snapshot-cache.ts';
import { HeldResources, type SentResponse } from './held-resources.ts';
import type { XdsMetrics } from './metrics.ts';
import { isFullStateType } from './protocol.ts';
import type { IgnoreReason, StreamObserver, Variant } from './stream-base.ts';

export type { HeldResource, SentResponse } from './held-resources.ts';

export interface TypeStatus {
  sentVersion?: string;
  sentNonce?: string;
  sentAt?: Date;
  /** Revision of the snapshot the last response was built from. */
  sentRevision?: number;
  ackedVersion?: string;
  ackedAt?: Date;
  lastNack?: { version: string; nonce: string; errorDetail: string; at: Date };
  /** The last response sent: its outcome is the type's sync state. */
  last?: SentResponse;
  /** What the proxy was last sent of this type. */
  held: HeldResources;
  /** Responses not answered yet, oldest first. */
  pending: SentResponse[];
  /** The newest revision whose convergence was measured for this type. */
  convergedRevision: number;
}

export interface ProxyStatus {
  streamId: string;
  /** The control plane replica holding the stream. */
  replica: string;
  proxy?: ProxyIdentity;
  variant: Variant;
  connectedAt: Date;
  /** By short type name (cds, eds, ...). */
  types: Partial<Record<string, TypeStatus>>;
}

export interface StatusLogger {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** Unanswered responses remembered per type (a client has a few in flight at most, like the Delta stream's limit). */
const MAX_PENDING = 32;

/** Tracks every stream's status and feeds the metrics; the xDS streams report to it. */
export class ProxyStatusTracker implements StreamObserver {
  private readonly streams = new Map<string, ProxyStatus>();
  /** The snapshot being fanned out, and when it was published (monotonic ms). */
  private publishing: { revision: number; at: number } | undefined;
  private changes = 0;

  constructor(
    private readonly metrics: XdsMetrics,
    private readonly log: StatusLogger,
    private readonly now: () => Date = () => new Date(),
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Grows with every event that changes some stream's status (for writers that copy it elsewhere). */
  get changeCount(): number {
    return this.changes;
  }

  /** Starts tracking a stream that just opened on `replica`. */
  opened(streamId: string, variant: Variant, replica: string): void {
    this.changes++;
    this.streams.set(streamId, { streamId, replica, variant, connectedAt: this.now(), types: {} });
    this.metrics.openStreams.inc({ variant });
  }

  /** Stops tracking a stream that closed. */
  closed(streamId: string): void {
    this.changes++;
    const s = this.streams.get(streamId);
    if (!s || !this.streams.delete(streamId)) return;
    this.metrics.openStreams.dec({ variant: s.variant });
    for (const type of Object.keys(s.types)) this.metrics.connectedStreams.dec({ variant: s.variant, type });
  }

  /**
   * Runs `push`, the fan-out of a just-published snapshot to every stream: the responses it writes
   * are pushes of that snapshot (push latency, and convergence once they are ACKed).
   */
  fanOut(snapshot: Snapshot, push: () => void): void {
    const outer = this.publishing;
    this.publishing = { revision: snapshot.revision, at: this.clock() };
    try {
      push();
    } finally {
      this.publishing = outer;
    }
  }

  connected(streamId: string, proxy: ProxyIdentity): void {
    this.changes++;
    const s = this.streams.get(streamId);
    if (s) s.proxy = proxy;
  }

  sent(
    streamId: string,
    typeUrl: TypeUrl,
    version: string,
    nonce: string,
    resources: readonly CachedResource[],
    removed: readonly string[],
    snapshot: Snapshot,
  ): void {
    this.changes++;
    const s = this.streams.get(streamId);
    if (!s) return;
    const t = this.typeOf(s, typeUrl);
    const at = this.now();
    const publishedAt = this.publishing?.revision === snapshot.revision ? this.publishing.at : undefined;
    const response: SentResponse = { nonce, version, at, revision: snapshot.revision, committedAt: snapshot.committedAt, publishedAt };
    if (s.variant === 'sotw' && isFullStateType(typeUrl)) t.held.replace(resources, response);
    else t.held.merge(resources, removed, response);
    Object.assign(t, { sentVersion: version, sentNonce: nonce, sentAt: at, sentRevision: snapshot.revision, last: response });
    if (t.pending.push(response) > MAX_PENDING) t.pending.shift();
    const type = SHORT_NAMES[typeUrl];
    this.metrics.pushes.inc({ variant: s.variant, type });
    this.metrics.resourcesSent.inc({ type }, resources.length + removed.length);
    if (publishedAt !== undefined) this.metrics.pushLatency.observe({ type }, (this.clock() - publishedAt) / 1000);
  }

  acked(streamId: string, typeUrl: TypeUrl, version: string, nonce: string): void {
    this.changes++;
    const s = this.streams.get(streamId);
    if (!s) return;
    const t = this.typeOf(s, typeUrl);
    const at = this.now();
    Object.assign(t, { ackedVersion: version, ackedAt: at });
    // V1: a SotW version covers the type's whole state, so its ACK also settles responses it superseded
    // (their own answers were stale, V5); a Delta ACK settles exactly the response it names.
    const settled = this.settle(t, nonce, s.variant === 'sotw');
    for (const r of settled) r.outcome = 'acked';
    const answered = settled.find((r) => r.nonce === nonce);
    if (answered) this.converged(t, SHORT_NAMES[typeUrl], answered, at);
  }

  forgotten(streamId: string, typeUrl: TypeUrl, names: readonly string[]): void {
    this.changes++;
    const t = this.streams.get(streamId)?.types[SHORT_NAMES[typeUrl]];
    t?.held.forget(names);
  }

  nacked(streamId: string, typeUrl: TypeUrl, version: string, nonce: string, detail: string): void {
    this.changes++;
    const s = this.streams.get(streamId);
    if (!s) return;
    const t = this.typeOf(s, typeUrl);
    const at = this.now();
    t.lastNack = { version, nonce, errorDetail: detail, at };
    for (const r of this.settle(t, nonce, false)) {
      r.outcome = 'nacked';
      r.nack = { errorDetail: detail, at };
    }
    this.metrics.nacks.inc({ type: SHORT_NAMES[typeUrl] });
    this.log.warn({ proxy: s.proxy?.id, type: SHORT_NAMES[typeUrl], version, detail }, 'proxy rejected config (NACK)');
  }

  ignored(streamId: string, reason: IgnoreReason, detail?: string): void {
    this.metrics.ignoredRequests.inc({ reason });
    this.log.debug({ streamId, reason, detail }, 'xDS request ignored');
  }

  /** Every tracked stream, oldest first. */
  list(): ProxyStatus[] {
    return [...this.streams.values()];
  }

  /** The pending response answered by `nonce` (and, with `withOlder`, those sent before it), removed from pending. */
  private settle(t: TypeStatus, nonce: string, withOlder: boolean): SentResponse[] {
    const i = t.pending.findIndex((r) => r.nonce === nonce);
    if (i < 0) return [];
    return withOlder ? t.pending.splice(0, i + 1) : t.pending.splice(i, 1);
  }

  /** Convergence: commit of the change → ACK of a response pushed for it, once per type and revision. */
  private converged(t: TypeStatus, type: string, r: SentResponse, at: Date): void {
    if (r.publishedAt === undefined || !r.committedAt || r.revision <= t.convergedRevision) return;
    t.convergedRevision = r.revision;
    this.metrics.convergence.observe({ type }, Math.max(0, at.getTime() - r.committedAt.getTime()) / 1000);
  }

  private typeOf(s: ProxyStatus, typeUrl: TypeUrl): TypeStatus {
    const key = SHORT_NAMES[typeUrl];
    let t = s.types[key];
    if (!t) {
      t = { held: new HeldResources(), pending: [], convergedRevision: -1 };
      s.types[key] = t;
      this.metrics.connectedStreams.inc({ variant: s.variant, type: key });
    }
    return t;
  }
}
