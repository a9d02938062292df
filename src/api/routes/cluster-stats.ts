/**
 * `GET /api/v1/cluster-stats`: the latest value of each cluster stat that matters (requests by code
 * class, connections, retries, timeouts, outlier ejections, membership, circuit-breaker overflows),
 * per proxy and cluster, as the proxies last reported them through the metrics service.
 * Filters: `?proxy=` (a proxy id), `?cluster=` (an exact cluster name), `?service=<namespace>/<name>`
 * (the service's cluster, its subsets and its inbound cluster).
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { CLUSTER_STATS, MAX_CLUSTER_NAME_LENGTH, type ClusterStatName } from '../../analytics/cluster-stats.ts';
import { checkDnsLabel } from '../../model/specs.ts';
import { issue, type Issue } from '../../lib/result.ts';
import type { Db } from '../../registry/db.ts';
import { listClusterStats } from '../../registry/cluster-stats.ts';
import { sendIssues } from '../problems.ts';
import { stringEnum } from '../schema-base.ts';
import { DateTime, problemResponses } from '../schemas.ts';

const BASE = '/api/v1/cluster-stats';
const DEFAULT_LIMIT = 1_000;
const MAX_LIMIT = 10_000;

const ClusterStatItem = Type.Object({
  proxyId: Type.String(),
  cluster: Type.String(),
  stat: stringEnum(CLUSTER_STATS),
  value: Type.Number({ description: "a counter's total since the proxy started, or a gauge's level" }),
  updatedAt: DateTime,
});

const ClusterStatsQuery = Type.Object(
  {
    proxy: Type.Optional(Type.String({ minLength: 1, maxLength: 1_024 })),
    cluster: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_CLUSTER_NAME_LENGTH })),
    service: Type.Optional(Type.String({ maxLength: 127, description: '<namespace>/<name>' })),
    limit: Type.Optional(Type.String({ pattern: '^([1-9][0-9]{0,3}|10000)$', description: `most items returned, 1 to ${MAX_LIMIT} (default ${DEFAULT_LIMIT})` })),
  },
  { additionalProperties: false },
);

const ClusterStatsPage = Type.Object({
  items: Type.Array(ClusterStatItem),
  truncated: Type.Boolean({ description: 'true when more rows matched than the limit' }),
});

/** Registers the cluster stats route. */
export function clusterStatsRoutes(app: FastifyInstance, db: Db): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get(BASE, { schema: { tags: ['telemetry'], querystring: ClusterStatsQuery, response: { 200: ClusterStatsPage, ...problemResponses(400) } } }, async (req, reply) => {
    const { proxy, cluster, service, limit: limitText } = req.query;
    const issues: Issue[] = [];
    if (service !== undefined) {
      const [namespace = '', name = '', ...rest] = service.split('/');
      if (rest.length > 0 || !service.includes('/')) issues.push(issue('query.service', 'must be <namespace>/<name>'));
      else issues.push(...checkDnsLabel(namespace, 'query.service'), ...checkDnsLabel(name, 'query.service'));
    }
    const limit = limitText === undefined ? DEFAULT_LIMIT : Number(limitText);
    if (issues.length) return sendIssues(reply, issues, req.url);
    // One row past the limit tells whether there were more.
    const rows = await listClusterStats(db, { proxyId: proxy, cluster, service, limit: limit + 1 });
    return {
      items: rows.slice(0, limit).map((r) => ({ proxyId: r.proxyId, cluster: r.cluster, stat: r.stat as ClusterStatName, value: r.value, updatedAt: r.updatedAt.toISOString() })),
      truncated: rows.length > limit,
    };
  });
}
