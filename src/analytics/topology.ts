/**
 * The live topology, Kiali-style: every service is a node (with its endpoints' health and the
 * traffic it received), every caller → service pair seen in the window is an edge (rate, error
 * rate, p99). Colouring: degraded at a 5xx ratio of at least `degraded`, failing above `failing`.
 * Pure: the API reads the registry and the edge rollups and hands them in.
 */
import type { RollupReporter } from '../registry/schema.ts';
import type { RollupCounts } from './rollup.ts';
import { oneReporter, summaryOf, total, type TrafficSummary } from './series.ts';

/** Callers the proxies could not name (no identity, outside the mesh) are this node. */
export const UNKNOWN_NODE = 'unknown';

export type Status = 'healthy' | 'degraded' | 'failing' | 'idle';

export interface Thresholds {
  degraded: number;
  failing: number;
}

export interface ServiceHealthInput {
  service: string;
  protocol: string;
  total: number;
  healthy: number;
}

export interface TopologyNode {
  id: string;
  /** False for callers seen in traffic that are no registered service (including `unknown`). */
  registered: boolean;
  protocol?: string;
  endpoints?: { total: number; healthy: number };
  /** What the service received in the window, null without traffic. */
  traffic: TrafficSummary | null;
  status: Status;
}

export interface TopologyEdge {
  source: string;
  destination: string;
  traffic: TrafficSummary;
  status: Status;
}

export interface Topology {
  window: { from: string; to: string };
  nodes: TopologyNode[];
  edges: TopologyEdge[];
}

type EdgeRow = RollupCounts & { source: string; destination: string; reporter: RollupReporter };

/** The colour of a traffic summary. */
export function statusOf(t: TrafficSummary | null, th: Thresholds): Status {
  if (!t || t.requests === 0) return 'idle';
  if (t.errorRate > th.failing) return 'failing';
  if (t.errorRate >= th.degraded) return 'degraded';
  return 'healthy';
}

/** A node's colour: its traffic's, made worse when none of its endpoints is healthy (failing) or some are not (degraded). */
function nodeStatus(traffic: TrafficSummary | null, health: ServiceHealthInput | undefined, th: Thresholds): Status {
  const byTraffic = statusOf(traffic, th);
  if (!health || health.total === 0) return byTraffic;
  if (health.healthy === 0) return 'failing';
  if (health.healthy < health.total && (byTraffic === 'healthy' || byTraffic === 'idle')) return 'degraded';
  return byTraffic;
}

/** Builds the graph of a window from the registry's services and the window's edge rows. */
export function topologyOf(services: readonly ServiceHealthInput[], edgeRows: readonly EdgeRow[], from: Date, to: Date, th: Thresholds): Topology {
  const seconds = (to.getTime() - from.getTime()) / 1000;
  // The caller's proxy sees failures the destination never does (no connection, no healthy host).
  const rows = oneReporter(edgeRows, (r) => `${r.source}\u0000${r.destination}`, 'source');
  const byEdge = new Map<string, EdgeRow[]>();
  for (const r of rows) {
    const id = `${r.source || UNKNOWN_NODE}\u0000${r.destination}`;
    byEdge.set(id, [...(byEdge.get(id) ?? []), r]);
  }
  const edges = [...byEdge.entries()]
    .map(([id, group]): TopologyEdge => {
      const [source, destination] = id.split('\u0000') as [string, string];
      const traffic = summaryOf(total(group), seconds);
      return { source, destination, traffic, status: statusOf(traffic, th) };
    })
    .sort((a, b) => a.source.localeCompare(b.source) || a.destination.localeCompare(b.destination));

  const inbound = new Map<string, EdgeRow[]>();
  for (const r of rows) inbound.set(r.destination, [...(inbound.get(r.destination) ?? []), r]);
  const health = new Map(services.map((s) => [s.service, s]));
  const ids = new Set([...services.map((s) => s.service), ...edges.flatMap((e) => [e.source, e.destination])]);
  const nodes = [...ids].sort().map((id): TopologyNode => {
    const h = health.get(id);
    const received = inbound.get(id);
    const traffic = received ? summaryOf(total(received), seconds) : null;
    return {
      id,
      registered: h !== undefined,
      ...(h ? { protocol: h.protocol, endpoints: { total: h.total, healthy: h.healthy } } : {}),
      traffic,
      status: nodeStatus(traffic, h, th),
    };
  });
  return { window: { from: from.toISOString(), to: to.toISOString() }, nodes, edges };
}
