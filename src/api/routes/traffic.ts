/**
 * `/api/v1/routes` (CRUD) and `POST /api/v1/traffic/split` (the short form of a weighted split). Every
 * write is checked against the registry inside its own transaction (services and subsets must exist,
 * a second route may not claim the same host, priority and match: 409 naming both) and takes
 * `?dryRun=true`, which stores nothing and answers with the Envoy resources the write would change.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Issue } from '../../lib/result.ts';
import { DEFAULT_NAMESPACE, serviceKeyOf } from '../../model/names.ts';
import { effectiveHosts } from '../../model/routing.ts';
import { checkDnsLabel } from '../../model/specs.ts';
import type { RouteSpec } from '../../model/traffic.ts';
import { checkRoute, routeConflicts } from '../../model/traffic-validate.ts';
import type { Db, Tx } from '../../registry/db.ts';
import { dryRun } from '../../registry/dry-run.ts';
import { createRoute, deleteRoute, getRoute, listRoutes, routeSpecOf, updateRoute, type RouteCheck, type RouteWriteResult } from '../../registry/routes.ts';
import type { RouteRow } from '../../registry/schema.ts';
import type { Preview } from '../../xds/preview.ts';
import { problem, sendIssues, sendProblem } from '../problems.ts';
import { ifMatchRevision } from '../preconditions.ts';
import { problemResponses } from '../schemas.ts';
import { DRY_RUN_QUERY, isDryRun, RouteBody, RoutePath, RouteQuery, RouteUpdate, TrafficSplitBody } from '../traffic-schemas.ts';

/** What a dry run answers with: the Envoy resources the write would change, computed in its transaction. */
export type PreviewWrite = (tx: Tx) => Promise<Preview>;

/** The API view of a route: its spec, revision and timestamps. */
export function routeView(row: RouteRow) {
  return { ...routeSpecOf(row), revision: row.revision, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() };
}

/** Issues with `body.` in front of the validator's field paths. */
const inBody = (issues: Issue[]): Issue[] => issues.map((i) => ({ ...i, path: `body.${i.path}` }));

/** The registry check of one route: field issues, then a conflict with another route's host, priority and match. */
function routeCheck(spec: RouteSpec): RouteCheck {
  return (ctx) => {
    const issues = inBody(checkRoute(spec, ctx));
    if (issues.length) return { issues };
    const others = ctx.routes.map(routeSpecOf);
    const withHosts = (r: RouteSpec) => ({ ...r, hosts: effectiveHosts(r) });
    const clash = routeConflicts([withHosts(spec), ...others.map(withHosts)]).find((c) => [c.a, c.b].includes(serviceKeyOf(spec)));
    if (!clash) return { issues: [] };
    const other = clash.a === serviceKeyOf(spec) ? clash.b : clash.a;
    return { issues: [], conflict: `route ${serviceKeyOf(spec)} and route ${other} both claim host ${clash.host} with the same priority and match` };
  };
}

/** The spec a POST or PUT body describes, with defaults filled in. */
function specOf(namespace: string, name: string, body: Omit<RouteBody, 'namespace' | 'name'>): RouteSpec {
  return { ...body, namespace, name, hosts: body.hosts ?? [], priority: body.priority ?? 0, match: body.match ?? {} } as RouteSpec;
}

/** Registers the route and traffic-split endpoints. */
export function trafficRoutes(app: FastifyInstance, db: Db, previewWrite: PreviewWrite): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['routes'];

  /** Runs a write, for real or as a dry run, and sends its result. */
  async function send(reply: FastifyReply, dry: boolean, status: number, write: (db: Db) => Promise<RouteWriteResult>) {
    if (!dry) return sendResult(reply, await write(db), status);
    const { result, preview } = await dryRun(db, write, previewWrite);
    if (!result.ok) return sendResult(reply, result, status);
    return reply.code(200).send({ dryRun: true, route: routeView(result.value), ...preview });
  }

  function sendResult(reply: FastifyReply, result: RouteWriteResult, status: number) {
    if (!result.ok) {
      if (result.reason === 'invalid') return sendIssues(reply, result.issues, reply.request.url);
      return sendProblem(reply, problem(result.reason, result.detail, undefined, reply.request.url));
    }
    const view = routeView(result.value);
    reply.header('etag', `"${view.revision}"`);
    if (status === 201) reply.header('location', `/api/v1/routes/${view.namespace}/${view.name}`);
    return reply.code(status).send(view);
  }

  api.post(
    '/api/v1/routes',
    { schema: { tags, body: RouteBody, querystring: DRY_RUN_QUERY, response: problemResponses(400, 409, 503) } },
    async (req, reply) => {
      const { namespace = DEFAULT_NAMESPACE, name, ...body } = req.body;
      const issues = [...checkDnsLabel(namespace, 'body.namespace'), ...checkDnsLabel(name, 'body.name')];
      if (issues.length) return sendIssues(reply, issues, req.url);
      const spec = specOf(namespace, name, body);
      const { namespace: _n, name: _m, hosts, priority, ...rest } = spec;
      return send(reply, isDryRun(req.query), 201, (d) => createRoute(d, { namespace, name, hosts, priority, spec: rest }, routeCheck(spec)));
    },
  );

  api.get('/api/v1/routes', { schema: { tags, querystring: RouteQuery, response: { 200: { $ref: 'RouteList' } } } }, async (req) => ({
    items: (await listRoutes(db, req.query)).map(routeView),
  }));

  api.get('/api/v1/routes/:namespace/:name', { schema: { tags, params: RoutePath, response: { 200: { $ref: 'Route' }, ...problemResponses(404) } } }, async (req, reply) => {
    const row = await getRoute(db, req.params.namespace, req.params.name);
    if (!row) return sendProblem(reply, problem('not-found', `route ${req.params.namespace}/${req.params.name} does not exist`, undefined, req.url));
    reply.header('etag', `"${row.revision}"`);
    return routeView(row);
  });

  api.put(
    '/api/v1/routes/:namespace/:name',
    { schema: { tags, params: RoutePath, body: RouteUpdate, querystring: DRY_RUN_QUERY, response: problemResponses(400, 404, 409, 412, 503) } },
    async (req, reply) => {
      const { namespace, name } = req.params;
      const { namespace: bodyNs, name: bodyName, ...body } = req.body;
      const issues: Issue[] = [];
      if (bodyNs !== undefined && bodyNs !== namespace) issues.push({ path: 'body.namespace', message: `must match the URL (${namespace})` });
      if (bodyName !== undefined && bodyName !== name) issues.push({ path: 'body.name', message: `must match the URL (${name}); rename by creating a new route` });
      const ifRevision = ifMatchRevision(req.headers['if-match']);
      if (!ifRevision.ok) issues.push(...ifRevision.issues);
      if (issues.length || !ifRevision.ok) return sendIssues(reply, issues, req.url);
      const spec = specOf(namespace, name, body);
      const { namespace: _n, name: _m, hosts, priority, ...rest } = spec;
      const input = { namespace, name, hosts, priority, spec: rest };
      return send(reply, isDryRun(req.query), 200, (d) => updateRoute(d, input, routeCheck(spec), { ifRevision: ifRevision.value }));
    },
  );

  api.delete(
    '/api/v1/routes/:namespace/:name',
    { schema: { tags, params: RoutePath, querystring: DRY_RUN_QUERY, response: problemResponses(400, 404, 412, 503) } },
    async (req, reply) => {
      const ifRevision = ifMatchRevision(req.headers['if-match']);
      if (!ifRevision.ok) return sendIssues(reply, ifRevision.issues, req.url);
      const write = (d: Db) => deleteRoute(d, req.params.namespace, req.params.name, { ifRevision: ifRevision.value });
      if (isDryRun(req.query)) return send(reply, true, 200, write);
      const result = await write(db);
      if (!result.ok) return sendResult(reply, result, 204);
      return reply.code(204).send();
    },
  );

  api.post(
    '/api/v1/traffic/split',
    { schema: { tags: ['traffic'], body: TrafficSplitBody, querystring: DRY_RUN_QUERY, response: problemResponses(400, 409, 503) } },
    async (req, reply) => {
      const { namespace = DEFAULT_NAMESPACE, service, subsetLabel = 'version', weights } = req.body;
      const name = req.body.name ?? `${service}-split`;
      const issues = [...checkDnsLabel(namespace, 'body.namespace'), ...checkDnsLabel(service, 'body.service'), ...checkDnsLabel(name, 'body.name')];
      if (issues.length) return sendIssues(reply, issues, req.url);
      const destinations = Object.entries(weights)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([value, weight]) => ({ namespace, name: service, subset: { [subsetLabel]: value }, weight }));
      const spec: RouteSpec = { namespace, name, hosts: [], priority: 0, match: {}, destinations };
      const stored = { namespace, name, hosts: [], priority: 0, spec: { match: {}, destinations } };
      const check = splitCheck(routeCheck(spec));
      // Create or replace: a split is "the" weighting of the service, set again whenever it changes.
      const exists = await getRoute(db, namespace, name);
      if (exists) return send(reply, isDryRun(req.query), 200, (d) => updateRoute(d, stored, check));
      return send(reply, isDryRun(req.query), 201, (d) => createRoute(d, stored, check));
    },
  );
}

/** The split's issues name its own fields: `destinations[i]` of the route is the i-th weight (sorted by label value). */
function splitCheck(check: RouteCheck): RouteCheck {
  return (ctx) => {
    const verdict = check(ctx);
    return { ...verdict, issues: verdict.issues.map((i) => ({ ...i, path: i.path.replace(/^body\.destinations(\[\d+\])?(\.weight)?/, 'body.weights') })) };
  };
}
