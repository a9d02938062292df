/**
 * The proxy status as the management API shows it: proxies by node id with their streams, and the
 * config each stream was sent, decoded to plain Envoy JSON only when it is asked for.
 */
import { shownResource } from '../redact.ts';
import type { ProxyIdentity } from '../../model/proxy.ts';
import { PUSH_ORDER, SHORT_NAMES, type Plain } from '../../protos/type-urls.ts';
import type { SentResponse } from './held-resources.ts';
import type { ProxyStatus, ProxyStatusTracker, TypeStatus } from './proxy-status.ts';
import type { Variant } from './stream-base.ts';

/** The sync state of a type or a resource, named after CSDS's ConfigStatus. */
export type SyncState = 'synced' | 'stale' | 'error';

export interface TypeView {
  state: SyncState;
  sentVersion: string | null;
  sentAt: string | null;
  sentRevision: number | null;
  ackedVersion: string | null;
  ackedAt: string | null;
  lastNack: { version: string; errorDetail: string; at: string } | null;
  resourceCount: number;
}

export interface StreamView {
  id: string;
  replica: string;
  variant: Variant;
  connectedAt: string;
  types: Partial<Record<string, TypeView>>;
}

export interface ProxyView {
  id: string;
  role: string;
  cluster: string;
  service: string | null;
  namespace: string | null;
  region: string | null;
  zone: string | null;
  userAgent: string | null;
  connectedAt: string;
  streams: StreamView[];
}

export interface ResourceView {
  name: string;
  version: string;
  state: SyncState;
  sentAt: string;
  resource: Plain;
}

export interface ProxyConfigView {
  id: string;
  streams: { id: string; replica: string; variant: Variant; types: Partial<Record<string, { version: string | null; resources: ResourceView[] }>> }[];
}

type Identified = ProxyStatus & { proxy: ProxyIdentity };

const iso = (d: Date | undefined) => (d ? d.toISOString() : null);

/** SYNCED when ACKed, ERROR when NACKed, STALE while the proxy has not answered. */
function stateOf(r: SentResponse | undefined): SyncState {
  return r?.outcome === 'acked' ? 'synced' : r?.outcome === 'nacked' ? 'error' : 'stale';
}

function typeView(t: TypeStatus): TypeView {
  return {
    state: stateOf(t.last),
    sentVersion: t.sentVersion ?? null,
    sentAt: iso(t.sentAt),
    sentRevision: t.sentRevision ?? null,
    ackedVersion: t.ackedVersion ?? null,
    ackedAt: iso(t.ackedAt),
    lastNack: t.lastNack ? { version: t.lastNack.version, errorDetail: t.lastNack.errorDetail, at: t.lastNack.at.toISOString() } : null,
    resourceCount: t.held.size,
  };
}

/** The types a stream was sent, by short name in push order. */
function typesOf<T>(s: ProxyStatus, view: (t: TypeStatus) => T): Partial<Record<string, T>> {
  const out: Partial<Record<string, T>> = {};
  for (const url of PUSH_ORDER) {
    const t = s.types[SHORT_NAMES[url]];
    if (t) out[SHORT_NAMES[url]] = view(t);
  }
  return out;
}

function streamView(s: ProxyStatus): StreamView {
  return { id: s.streamId, replica: s.replica, variant: s.variant, connectedAt: s.connectedAt.toISOString(), types: typesOf(s, typeView) };
}

/** A node's identity comes from its newest stream (a reconnect may announce new metadata). */
function proxyView(id: string, streams: Identified[]): ProxyView {
  const p = streams[streams.length - 1]!.proxy;
  return {
    id,
    role: p.role,
    cluster: p.cluster,
    service: p.service ?? null,
    namespace: p.namespace ?? null,
    region: p.region ?? null,
    zone: p.zone ?? null,
    userAgent: p.userAgent ?? null,
    connectedAt: streams[0]!.connectedAt.toISOString(),
    streams: streams.map(streamView),
  };
}

function configTypeView(t: TypeStatus) {
  const resources = t.held.list().map(({ resource, response }) => ({
    name: resource.name,
    version: resource.version,
    state: stateOf(response),
    sentAt: response.at.toISOString(),
    resource: shownResource(resource.typeUrl, resource.encoded),
  }));
  return { version: t.sentVersion ?? null, resources };
}

/** Reads the tracker as the API's proxy directory: proxies sorted by node id, streams oldest first. */
export class ProxyViews {
  constructor(private readonly tracker: ProxyStatusTracker) {}

  /** Every connected proxy that announced its node. */
  list(): ProxyView[] {
    return [...this.byNode()].map(([id, streams]) => proxyView(id, streams));
  }

  /** One proxy by node id, with all its streams. */
  get(nodeId: string): ProxyView | undefined {
    const streams = this.byNode().get(nodeId);
    return streams && proxyView(nodeId, streams);
  }

  /** What each stream of a proxy was last sent, per type, decoded to plain Envoy JSON. */
  config(nodeId: string): ProxyConfigView | undefined {
    const streams = this.byNode().get(nodeId);
    if (!streams) return undefined;
    return {
      id: nodeId,
      streams: streams.map((s) => ({ id: s.streamId, replica: s.replica, variant: s.variant, types: typesOf(s, configTypeView) })),
    };
  }

  private byNode(): Map<string, Identified[]> {
    const nodes = new Map<string, Identified[]>();
    const identified = this.tracker.list().filter((s): s is Identified => !!s.proxy);
    identified.sort((a, b) => (a.proxy.id < b.proxy.id ? -1 : a.proxy.id > b.proxy.id ? 1 : 0));
    for (const s of identified) {
      const list = nodes.get(s.proxy.id);
      if (list) list.push(s);
      else nodes.set(s.proxy.id, [s]);
    }
    return nodes;
  }
}
