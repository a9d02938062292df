/** Cluster stats out of metric families that went through Envoy's protos: both naming forms, dotted cluster names, bounds, junk. */
import { describe, expect, it } from 'vitest';
import { messageType } from '../protos/loader.ts';
import { TELEMETRY_MESSAGES, decodeStreamMetricsMessage } from '../protos/telemetry.ts';
import type { Plain } from '../protos/type-urls.ts';
import { CLUSTER_STATS, MAX_CLUSTER_STATS_PER_MESSAGE, clusterStatsOf, type ClusterStat } from './cluster-stats.ts';

/** Families as Envoy sends them: encoded in a StreamMetricsMessage, then decoded the way the receiver decodes them. */
function roundTrip(families: Plain[]): Plain[] {
  const type = messageType(TELEMETRY_MESSAGES.streamMetrics);
  const bytes = type.encode(type.fromObject({ identifier: { node: { id: 'sidecar~10.0.0.1~web-1.shop~shop.svc' } }, envoyMetrics: families })).finish();
  const decoded = decodeStreamMetricsMessage(bytes);
  if (!decoded.ok) throw new Error(JSON.stringify(decoded.issues));
  return decoded.value.envoyMetrics ?? [];
}

type Label = [string, string];
const labels = (pairs: Label[]) => (pairs.length ? { label: pairs.map(([name, value]) => ({ name, value })) } : {});
const counter = (name: string, value: number, ...l: Label[]): Plain => ({ name, type: 'COUNTER', metric: [{ ...labels(l), counter: { value }, timestampMs: 1_700_000_000_000 }] });
const gauge = (name: string, value: number, ...l: Label[]): Plain => ({ name, type: 'GAUGE', metric: [{ ...labels(l), gauge: { value } }] });
const stat = (cluster: string, s: ClusterStat['stat'], value: number): ClusterStat => ({ cluster, stat: s, value });

const CLUSTER: Label = ['envoy_cluster_name', 'orders.shop'];
const cls = (c: string): Label => ['envoy_response_code_class', c];

const cases: Array<{ name: string; families: Plain[]; stats: ClusterStat[]; skipped?: number }> = [
  {
    name: 'every kept stat, untagged, of a cluster whose name has a dot',
    families: CLUSTER_STATS.map((s, i) => (s.includes('active') || s.startsWith('membership') ? gauge : counter)(`cluster.orders.shop.${s}`, i)),
    stats: CLUSTER_STATS.map((s, i) => stat('orders.shop', s, i)).sort((a, b) => (a.stat < b.stat ? -1 : 1)),
  },
  {
    name: 'subset, outbound-style and inbound clusters (Envoy writes `inbound:` as `inbound_`)',
    families: [
      counter('cluster.orders.shop|version=v2.upstream_rq_5xx', 3),
      counter('cluster.outbound|8080||web.shop.upstream_rq_retry_overflow', 1),
      gauge('cluster.inbound_orders.shop.upstream_cx_active', 4),
    ],
    stats: [stat('inbound:orders.shop', 'upstream_cx_active', 4), stat('orders.shop|version=v2', 'upstream_rq_5xx', 3), stat('outbound|8080||web.shop', 'upstream_rq_retry_overflow', 1)],
  },
  {
    name: 'tagged: the code class as a label, with or without `xx`',
    families: [counter('cluster.upstream_rq', 7, CLUSTER, cls('5')), counter('cluster.upstream_rq', 9, CLUSTER, cls('2xx')), counter('cluster.upstream_rq_total', 16, CLUSTER)],
    stats: [stat('orders.shop', 'upstream_rq_2xx', 9), stat('orders.shop', 'upstream_rq_5xx', 7), stat('orders.shop', 'upstream_rq_total', 16)],
  },
  {
    name: "tagged with Envoy's default cluster tag, which stops at the first dot",
    families: [
      counter('cluster.shop.upstream_rq', 2, ['envoy_cluster_name', 'orders'], cls('4')),
      gauge('cluster.shop|version=v2.outlier_detection.ejections_active', 1, ['envoy_cluster_name', 'orders']),
      gauge('cluster.shop.membership_healthy', 3, ['envoy_cluster_name', 'inbound_orders']),
    ],
    stats: [stat('inbound:orders.shop', 'membership_healthy', 3), stat('orders.shop', 'upstream_rq_4xx', 2), stat('orders.shop|version=v2', 'outlier_detection.ejections_active', 1)],
  },
  {
    name: 'Prometheus-style names with labels',
    families: [
      counter('envoy_cluster_upstream_rq', 5, CLUSTER, cls('3')),
      gauge('envoy_cluster_outlier_detection_ejections_active', 2, CLUSTER),
      counter('envoy_cluster_outlier_detection_ejections_enforced_total', 6, CLUSTER),
      gauge('envoy_cluster_membership_total', 3, CLUSTER),
    ],
    stats: [
      stat('orders.shop', 'membership_total', 3),
      stat('orders.shop', 'outlier_detection.ejections_active', 2),
      stat('orders.shop', 'outlier_detection.ejections_enforced_total', 6),
      stat('orders.shop', 'upstream_rq_3xx', 5),
    ],
  },
  {
    name: 'stats that do not matter are ignored, not counted',
    families: [
      counter('http.ingress.downstream_rq_2xx', 1),
      counter('cluster.orders.shop.upstream_cx_total', 1),
      counter('cluster.orders.shop.upstream_rq_200', 1),
      counter('cluster.upstream_rq', 1, CLUSTER, ['envoy_response_code', '503']),
      counter('cluster.upstream_rq', 1, CLUSTER, cls('1')),
      gauge('cluster_manager.active_clusters', 4),
      counter('envoy_cluster_manager_cluster_added', 4),
      counter('cluster.orders.shop.foo_ejections_active', 1),
      { name: 'cluster.orders.shop.upstream_rq_time', type: 'HISTOGRAM', metric: [{ histogram: { sampleCount: 1, sampleSum: 2 } }] },
    ],
    stats: [],
  },
  {
    name: 'a zero counter, set or left unset, is 0',
    families: [counter('cluster.orders.shop.upstream_rq_timeout', 0), { name: 'cluster.orders.shop.upstream_rq_retry', type: 'COUNTER', metric: [{ counter: {} }] }],
    stats: [stat('orders.shop', 'upstream_rq_retry', 0), stat('orders.shop', 'upstream_rq_timeout', 0)],
  },
  {
    name: 'malformed values and names are skipped and counted',
    families: [
      { name: 'cluster.orders.shop.upstream_rq_2xx', type: 'HISTOGRAM', metric: [{ histogram: { sampleCount: 1 } }] },
      { name: 'cluster.orders.shop.upstream_rq_3xx', type: 'COUNTER', metric: [{ gauge: { value: 1 } }] },
      counter('cluster.orders.shop.upstream_rq_4xx', Number.NaN),
      counter('cluster.orders.shop.upstream_rq_5xx', Number.POSITIVE_INFINITY),
      gauge('cluster.orders.shop.upstream_cx_active', -1),
      counter('envoy_cluster_upstream_rq_total', 1),
      counter('cluster.upstream_rq_total', 1),
      counter(`cluster.${'a'.repeat(1_100)}.shop.upstream_rq_total`, 1),
      counter('cluster.orders.shop.upstream_rq_retry', 1),
    ],
    stats: [stat('orders.shop', 'upstream_rq_retry', 1)],
    skipped: 8,
  },
  {
    name: "response codes charged again under a cluster's internal, external, canary and zone scopes are dropped",
    families: [
      gauge('cluster.orders.shop.membership_total', 2),
      counter('cluster.orders.shop.upstream_rq_2xx', 10),
      counter('cluster.orders.shop.internal.upstream_rq_2xx', 4),
      counter('cluster.orders.shop.external.upstream_rq_2xx', 6),
      counter('cluster.orders.shop.canary.upstream_rq_5xx', 1),
      counter('cluster.orders.shop.zone.eu-1a.eu-1b.upstream_rq_2xx', 3),
      counter('cluster.api.internal.upstream_rq_2xx', 8), // namespace `internal`: there is no `api` cluster
    ],
    stats: [stat('api.internal', 'upstream_rq_2xx', 8), stat('orders.shop', 'membership_total', 2), stat('orders.shop', 'upstream_rq_2xx', 10)],
  },
  {
    name: 'the same stat twice: the last one wins, the first is counted',
    families: [counter('cluster.orders.shop.upstream_rq_total', 1), counter('cluster.upstream_rq_total', 2, CLUSTER)],
    stats: [stat('orders.shop', 'upstream_rq_total', 2)],
    skipped: 1,
  },
];

describe('clusterStatsOf', () => {
  for (const c of cases) {
    it(c.name, () => {
      expect(clusterStatsOf(roundTrip(c.families))).toEqual({ stats: c.stats, skipped: c.skipped ?? 0 });
    });
  }

  it('keeps at most the bound, the first by cluster and stat, and counts the rest', () => {
    const families = roundTrip(['c', 'a', 'd', 'b'].map((n) => counter(`cluster.${n}.shop.upstream_rq_total`, 1)));
    expect(clusterStatsOf(families, 2)).toEqual({ stats: [stat('a.shop', 'upstream_rq_total', 1), stat('b.shop', 'upstream_rq_total', 1)], skipped: 2 });
  });

  it(`keeps ${MAX_CLUSTER_STATS_PER_MESSAGE} stats of one message by default`, () => {
    const families = roundTrip(Array.from({ length: MAX_CLUSTER_STATS_PER_MESSAGE + 250 }, (_, i) => gauge(`cluster.svc-${i}.shop.membership_total`, 1)));
    const { stats, skipped } = clusterStatsOf(families);
    expect(stats).toHaveLength(MAX_CLUSTER_STATS_PER_MESSAGE);
    expect(skipped).toBe(250);
  });

  it('counts junk that never came through protobuf instead of throwing', () => {
    const junk = [
      null,
      7,
      [],
      { name: 5 },
      { type: 'COUNTER' },
      { name: 'cluster.x.shop.upstream_rq_total', metric: 'many' },
      { name: 'cluster.x.shop.upstream_rq_total', metric: [null, { label: 'x', counter: { value: 1 } }, { counter: { value: '12' } }, { counter: null }] },
      { name: 'cluster.x.shop.upstream_rq_total', metric: [{ label: [null, { name: 1 }], counter: { value: 3 } }] },
      { name: 'unrelated', metric: 'ignored without looking' },
    ] as unknown as Plain[];
    expect(clusterStatsOf(junk)).toEqual({ stats: [stat('x.shop', 'upstream_rq_total', 3)], skipped: 10 });
    expect(clusterStatsOf(undefined as unknown as Plain[])).toEqual({ stats: [], skipped: 1 });
    expect(clusterStatsOf([])).toEqual({ stats: [], skipped: 0 });
  });
});
