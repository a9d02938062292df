/**
 * The Envoy cluster stats worth keeping, picked out of a metrics-service message (Prometheus
 * MetricFamily objects decoded by src/protos/telemetry.ts). Pure; never throws on what Envoy sends.
 *
 * Envoy names a cluster's stats `cluster.<cluster>.<stat>` (docs: configuration/upstream/cluster_manager/
 * cluster_stats). Cluster names contain dots (`orders.shop`, `orders.shop|version=v2`), so a name is
 * split at the known stat suffix, never at the first dot. Envoy replaces `:` with `_` in stat names,
 * which is undone for the sidecar's `inbound:<host>` cluster (see names.ts `inboundName`).
 *
 * With the sink's `emit_tags_as_labels`, the name is the tag-extracted one (`cluster.upstream_rq`, or
 * Prometheus style `envoy_cluster_upstream_rq`) and the cluster and code class are labels. Envoy's
 * default cluster-name tag stops at the first dot, so what is left of the name before the stat
 * (`cluster.shop.upstream_rq` with the label `orders`) is joined back onto the label.
 */
import type { Plain } from '../protos/type-urls.ts';

/** The stats kept, named as in the `stat` column: the part of Envoy's name after the cluster. */
export const CLUSTER_STATS = [
  'upstream_rq_2xx',
  'upstream_rq_3xx',
  'upstream_rq_4xx',
  'upstream_rq_5xx',
  'upstream_rq_total',
  'upstream_rq_timeout',
  'upstream_rq_retry',
  'upstream_cx_active',
  'upstream_cx_connect_fail',
  'outlier_detection.ejections_active',
  'outlier_detection.ejections_enforced_total',
  'membership_healthy',
  'membership_total',
  'upstream_rq_pending_overflow',
  'upstream_cx_overflow',
  'upstream_rq_retry_overflow',
] as const;

export type ClusterStatName = (typeof CLUSTER_STATS)[number];

/** One stat of one cluster, as one proxy last reported it. */
export interface ClusterStat {
  cluster: string;
  stat: ClusterStatName;
  /** A counter's total or a gauge's level: finite and never negative. */
  value: number;
}

export interface ClusterStatsResult {
  /** Sorted by cluster, then stat; one entry per (cluster, stat). */
  stats: ClusterStat[];
  /** Malformed stats, duplicates, and those beyond the per-message bound. */
  skipped: number;
}

/** Most stats kept from one message: a proxy with thousands of clusters must not flood the registry. */
export const MAX_CLUSTER_STATS_PER_MESSAGE = 5_000;

/** Longest cluster name accepted: it is a primary-key column and an API filter, not a blob. */
export const MAX_CLUSTER_NAME_LENGTH = 1_024;

const CLUSTER_LABEL = 'envoy_cluster_name';
const CODE_CLASS_LABEL = 'envoy_response_code_class';
/** The tag-extracted name of `upstream_rq_<N>xx`: the class moved to a label. */
const RQ_BY_CLASS = 'upstream_rq';
const DOTTED_PREFIX = 'cluster.';
const PROMETHEUS_PREFIX = 'envoy_cluster_';
/** What Envoy's stat-name sanitizing makes of the `inbound:` prefix. */
const SANITIZED_INBOUND = 'inbound_';

const lastSegment = (s: string) => s.slice(s.lastIndexOf('.') + 1);
/** Dotted names, looked up by their last segment first (one map lookup for the thousands of other stats). */
const BY_LAST_SEGMENT = new Map<string, string>([...CLUSTER_STATS, RQ_BY_CLASS].map((s) => [lastSegment(s), s]));
/** Prometheus-style names have underscores where Envoy's have dots. */
const BY_UNDERSCORED = new Map<string, string>([...CLUSTER_STATS, RQ_BY_CLASS].map((s) => [s.replaceAll('.', '_'), s]));
const CODE_CLASS_STATS = new Set<string>(['upstream_rq_2xx', 'upstream_rq_3xx', 'upstream_rq_4xx', 'upstream_rq_5xx']);
/**
 * Scopes under which Envoy charges a cluster's response codes a second time
 * (`cluster.<c>.internal.upstream_rq_2xx`, `cluster.<c>.zone.<from>.<to>.upstream_rq_2xx`, canary).
 */
const SUB_SCOPE = /\.(?:canary|internal|external|zone\.[^.]+\.[^.]+)$/;

const MALFORMED = 'malformed';
type Parsed = ClusterStat | typeof MALFORMED | undefined;

const isObject = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The cluster stats that matter in one message's metric families; malformed ones are counted, never thrown. */
export function clusterStatsOf(families: readonly Plain[], maxStats = MAX_CLUSTER_STATS_PER_MESSAGE): ClusterStatsResult {
  if (!Array.isArray(families)) return { stats: [], skipped: 1 };
  let skipped = 0;
  const found = new Map<string, ClusterStat>();
  for (const family of families) {
    if (!isObject(family) || typeof family.name !== 'string') {
      skipped++;
      continue;
    }
    if (!family.name.startsWith(DOTTED_PREFIX) && !family.name.startsWith(PROMETHEUS_PREFIX)) continue;
    if (family.metric !== undefined && !Array.isArray(family.metric)) {
      skipped++;
      continue;
    }
    for (const metric of (family.metric ?? []) as unknown[]) {
      const parsed = parseMetric(family.name, family.type, metric);
      if (parsed === undefined) continue;
      if (parsed === MALFORMED) {
        skipped++;
        continue;
      }
      const key = `${parsed.cluster}\u0000${parsed.stat}`;
      if (found.has(key)) skipped++; // the same stat twice in one message: the last one wins
      found.set(key, parsed);
    }
  }
  const stats = withoutSubScopes([...found.values()]).sort(byClusterThenStat);
  const bound = Math.max(0, Math.floor(maxStats));
  return { stats: stats.slice(0, bound), skipped: skipped + Math.max(0, stats.length - bound) };
}

/** One metric of a family: a kept stat, malformed, or undefined for a stat that does not matter. */
function parseMetric(name: string, type: unknown, metric: unknown): Parsed {
  if (!isObject(metric)) return MALFORMED;
  if (metric.label !== undefined && !Array.isArray(metric.label)) return MALFORMED;
  const labels = labelsOf(metric.label as unknown[] | undefined);
  const named = name.startsWith(DOTTED_PREFIX) ? dotted(name.slice(DOTTED_PREFIX.length), labels) : prometheus(name.slice(PROMETHEUS_PREFIX.length), labels);
  if (named === undefined || named === MALFORMED) return named;
  const value = valueOf(metric, type);
  return value === undefined ? MALFORMED : { ...named, value };
}

type Named = { cluster: string; stat: ClusterStatName } | typeof MALFORMED | undefined;

/** `cluster.<cluster>.<stat>`, or the tag-extracted `cluster.[<rest of the cluster>.]<stat>` with labels. */
function dotted(rest: string, labels: Map<string, string>): Named {
  const stat = BY_LAST_SEGMENT.get(lastSegment(rest));
  if (stat === undefined) return undefined;
  let before: string;
  if (rest === stat) before = '';
  else if (rest.endsWith(`.${stat}`)) before = rest.slice(0, -(stat.length + 1));
  else return undefined; // e.g. `foo_ejections_active`: a different stat with the same last segment
  const label = labels.get(CLUSTER_LABEL);
  const cluster = label === undefined ? before : before === '' ? label : `${label}.${before}`;
  return named(cluster, stat, labels);
}

/** `envoy_cluster_<stat with underscores>`, the cluster only as a label. */
function prometheus(rest: string, labels: Map<string, string>): Named {
  const stat = BY_UNDERSCORED.get(rest);
  if (stat === undefined) return undefined;
  return named(labels.get(CLUSTER_LABEL) ?? '', stat, labels);
}

/** Checks the cluster and turns `upstream_rq` plus its code-class label into `upstream_rq_<N>xx`. */
function named(cluster: string, stat: string, labels: Map<string, string>): Named {
  let kept = stat;
  if (stat === RQ_BY_CLASS) {
    // Without a class label it is the per-code form (`envoy_response_code`), which is not kept.
    const digit = /^([2-5])(?:xx)?$/.exec(labels.get(CODE_CLASS_LABEL) ?? '')?.[1];
    if (digit === undefined) return undefined;
    kept = `upstream_rq_${digit}xx`;
  }
  if (cluster === '' || cluster.length > MAX_CLUSTER_NAME_LENGTH) return MALFORMED;
  const restored = cluster.startsWith(SANITIZED_INBOUND) ? `inbound:${cluster.slice(SANITIZED_INBOUND.length)}` : cluster;
  return { cluster: restored, stat: kept as ClusterStatName };
}

/** The labels of a metric by name; entries without a string name and value are left out. */
function labelsOf(pairs: unknown[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of pairs ?? []) if (isObject(p) && typeof p.name === 'string' && typeof p.value === 'string') out.set(p.name, p.value);
  return out;
}

/** The value a metric carries for its family's type; undefined unless a finite, non-negative number. */
function valueOf(metric: Plain, type: unknown): number | undefined {
  // An unset proto2 enum decodes to nothing: COUNTER is its default.
  const field = type === undefined || type === 'COUNTER' ? 'counter' : type === 'GAUGE' ? 'gauge' : type === 'UNTYPED' ? 'untyped' : undefined;
  const holder = field === undefined ? undefined : metric[field];
  if (!isObject(holder)) return undefined;
  // An unset optional double reads as 0; NaN and ±Inf decode as strings, which are refused here.
  const v = holder.value ?? 0;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/**
 * Drops response codes charged under a sub-scope of a cluster seen in the same message
 * (`orders.shop.internal` when `orders.shop` is there): they would show as clusters that do not
 * exist. A real cluster such as `api.internal` (namespace `internal`) stays, as no `api` cluster is seen.
 */
function withoutSubScopes(stats: ClusterStat[]): ClusterStat[] {
  const bases = new Set(stats.filter((s) => !CODE_CLASS_STATS.has(s.stat)).map((s) => s.cluster));
  return stats.filter((s) => {
    if (!CODE_CLASS_STATS.has(s.stat)) return true;
    const m = SUB_SCOPE.exec(s.cluster);
    return !m || !bases.has(s.cluster.slice(0, m.index));
  });
}

function byClusterThenStat(a: ClusterStat, b: ClusterStat): number {
  return a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : a.stat < b.stat ? -1 : a.stat > b.stat ? 1 : 0;
}
