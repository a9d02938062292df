/**
 * Traffic analytics over REST: RED time series per service, route and edge (`/api/v1/metrics`),
 * the live topology (`/api/v1/topology`), the hops of one request (`/api/v1/traces/{id}`) and a
 * search of recent slow or failed requests (`/api/v1/traces`), and the ingestion's own counters
 * (`/api/v1/telemetry`: accepted, stored, dropped, per replica).
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { oneReporter, seriesOf, summaryOf, total } from '../../analytics/series.ts';
import { topologyOf, type Thresholds } from '../../analytics/topology.ts';
import { issue, type Issue } from '../../lib/result.ts';
import { searchAccessLogs, traceEntries, type AccessLogRow } from '../../registry/access-logs.ts';
import type { Db } from '../../registry/db.ts';
import { serviceHealth } from '../../registry/endpoints.ts';
import { readRollups, type Granularity } from '../../registry/rollups.ts';
import type { RollupKind, RollupReporter } from '../../registry/schema.ts';
import { problem, sendIssues, sendProblem } from '../problems.ts';
import { stringEnum } from '../schema-base.ts';
import { problemResponses } from '../schemas.ts';
import { parseDuration, parseRange } from '../time-query.ts';
import { EntryView, MetricsView, TelemetryView, TopologyView } from './analytics-schemas.ts';

export interface AnalyticsDeps {
  db: Db;
  thresholds: Thresholds;
  /** Minute rollups are kept this long; older ranges read the hour rollups. */
  minuteRetentionMs: number;
  /** This replica's live ingestion counters, and every replica's last shared ones. */
  telemetry: () => Promise<{ replicas: { id: string; counters: Record<string, number> }[] }>;
  now?: () => Date;
}

const SERVICE_KEY = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const MAX_POINTS = 1000;
const HOUR_MS = 3_600_000;

const MetricsQuery = Type.Object(
  {
    service: Type.Optional(Type.String({ pattern: SERVICE_KEY, description: 'destination <namespace>/<name>; unset: the whole mesh' })),
    route: Type.Optional(Type.String({ minLength: 1, maxLength: 300, description: "a route's name: that route's requests" })),
    source: Type.Optional(Type.String({ pattern: SERVICE_KEY, description: 'caller <namespace>/<name>: the edge source → service' })),
    reporter: Type.Optional(stringEnum(['source', 'destination'] as const)),
    from: Type.Optional(Type.String()),
    to: Type.Optional(Type.String()),
    step: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

const TraceSearch = Type.Object(
  {
    service: Type.Optional(Type.String({ pattern: SERVICE_KEY })),
    minDurationMs: Type.Optional(Type.String({ pattern: '^\\d{1,9}(\\.\\d+)?$' })),
    failed: Type.Optional(stringEnum(['true', 'false'] as const)),
    window: Type.Optional(Type.String({ description: 'how far back, e.g. 15m (default 1h, at most 24h)' })),
    limit: Type.Optional(Type.String({ pattern: '^([1-9]\\d{0,2}|1000)$' })),
  },
  { additionalProperties: false },
);

/** Registers the analytics routes. */
export function analyticsRoutes(app: FastifyInstance, deps: AnalyticsDeps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['telemetry'];
  const now = () => deps.now?.() ?? new Date();

  api.get('/api/v1/metrics', { schema: { tags, querystring: MetricsQuery, response: { 200: MetricsView, ...problemResponses(400) } } }, async (req, reply) => {
    const q = req.query;
    const issues: Issue[] = [];
    if (q.route !== undefined && q.source !== undefined) issues.push(issue('query.route', 'cannot be combined with query.source (routes are counted per destination)'));
    if ((q.route !== undefined || q.source !== undefined) && q.service === undefined) issues.push(issue('query.service', `is required with query.${q.route !== undefined ? 'route' : 'source'}`));
    const range = parseRange(q, now(), MAX_POINTS);
    if (!range.ok) issues.push(...range.issues);
    if (issues.length || !range.ok) return sendIssues(reply, issues, req.url);
    const { from, to, stepMs } = range.value;
    const granularity: Granularity = stepMs % HOUR_MS === 0 && (stepMs >= HOUR_MS || from.getTime() < now().getTime() - deps.minuteRetentionMs) ? 'hour' : 'minute';
    if (granularity === 'minute' && from.getTime() < now().getTime() - deps.minuteRetentionMs) {
      return sendIssues(reply, [issue('query.step', 'must be whole hours for a range older than the minute rollups are kept')], req.url);
    }
    const kind: RollupKind = q.route !== undefined ? 'route' : q.source !== undefined ? 'edge' : 'service';
    const rows = await readRollups(deps.db, granularity, { from, to, kind, destination: q.service, route: q.route, source: q.source, reporter: q.reporter });
    const preferred: RollupReporter = q.reporter ?? (kind === 'edge' ? 'source' : 'destination');
    const picked = oneReporter(rows, (r) => `${r.source}\u0000${r.destination}\u0000${r.route}`, preferred);
    return {
      service: q.service ?? null,
      route: q.route ?? null,
      source: q.source ?? null,
      from: from.toISOString(),
      to: to.toISOString(),
      stepSeconds: stepMs / 1000,
      granularity,
      summary: summaryOf(total(picked), (to.getTime() - from.getTime()) / 1000),
      points: seriesOf(picked, from, to, stepMs),
    };
  });

  api.get(
    '/api/v1/topology',
    {
      schema: {
        tags,
        querystring: Type.Object(
          { window: Type.Optional(Type.String({ description: 'e.g. 5m (default), at most 24h' })), degraded: Type.Optional(Type.String()), failing: Type.Optional(Type.String()) },
          { additionalProperties: false },
        ),
        response: { 200: TopologyView, ...problemResponses(400) },
      },
    },
    async (req, reply) => {
      const window = parseDuration(req.query.window ?? '5m', 'query.window', 60_000, 24 * HOUR_MS);
      const th = thresholdsOf(req.query, deps.thresholds);
      const issues = [...(window.ok ? [] : window.issues), ...(th.ok ? [] : th.issues)];
      if (issues.length || !window.ok || !th.ok) return sendIssues(reply, issues, req.url);
      const to = now();
      const from = new Date(to.getTime() - window.value);
      const [services, edges] = await Promise.all([serviceHealth(deps.db), readRollups(deps.db, 'minute', { from, to, kind: 'edge' })]);
      return topologyOf(services, edges, from, to, th.value);
    },
  );

  api.get('/api/v1/traces', { schema: { tags, querystring: TraceSearch, response: { 200: Type.Object({ items: Type.Array(EntryView) }), ...problemResponses(400) } } }, async (req, reply) => {
    const window = parseDuration(req.query.window ?? '1h', 'query.window', 60_000, 24 * HOUR_MS);
    if (!window.ok) return sendIssues(reply, window.issues, req.url);
    const until = now();
    const rows = await searchAccessLogs(deps.db, {
      since: new Date(until.getTime() - window.value),
      until: new Date(until.getTime() + 60_000),
      ...(req.query.minDurationMs !== undefined ? { minDurationMs: Number(req.query.minDurationMs) } : {}),
      failed: req.query.failed === 'true',
      ...(req.query.service !== undefined ? { service: req.query.service } : {}),
      limit: Number(req.query.limit ?? 100),
    });
    return { items: rows.map(entryView) };
  });

  api.get(
    '/api/v1/traces/:traceId',
    { schema: { tags, params: Type.Object({ traceId: Type.String({ minLength: 1, maxLength: 128 }) }), response: { 200: Type.Object({ traceId: Type.String(), entries: Type.Array(EntryView) }), ...problemResponses(404) } } },
    async (req, reply) => {
      const rows = await traceEntries(deps.db, req.params.traceId);
      if (rows.length === 0) return sendProblem(reply, problem('not-found', `no access-log entry carries trace id ${req.params.traceId}`, undefined, req.url));
      return { traceId: req.params.traceId, entries: rows.map(entryView) };
    },
  );

  api.get('/api/v1/telemetry', { schema: { tags, response: { 200: TelemetryView } } }, async () => deps.telemetry());
}

/** The topology thresholds of a request: the server's, or the query's (ratios 0..1, degraded ≤ failing). */
function thresholdsOf(q: { degraded?: string; failing?: string }, base: Thresholds) {
  const ratio = (raw: string | undefined, field: string, fallback: number): number | Issue => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    return raw.trim() !== '' && Number.isFinite(n) && n >= 0 && n <= 1 ? n : issue(field, `must be a ratio from 0 to 1, got ${JSON.stringify(raw.slice(0, 20))}`);
  };
  const degraded = ratio(q.degraded, 'query.degraded', base.degraded);
  const failing = ratio(q.failing, 'query.failing', base.failing);
  const issues = [degraded, failing].filter((x): x is Issue => typeof x === 'object');
  if (issues.length) return { ok: false as const, issues };
  if ((failing as number) < (degraded as number)) return { ok: false as const, issues: [issue('query.failing', `must be at least the degraded ratio (${degraded as number})`)] };
  return { ok: true as const, value: { degraded: degraded as number, failing: failing as number } };
}

/** The API view of a raw entry. */
function entryView(r: AccessLogRow) {
  return { ...r, at: r.at.toISOString() };
}
