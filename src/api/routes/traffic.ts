/**
 * `/api/v1/routes` (CRUD) and `POST /api/v1/traffic/split` (the short form of a weighted split). Every
 * write is checked against the registry inside its own transaction (services and subsets must exist,
 * a second route may not claim the same host, priority and match: 409 naming both) and takes
 * `?dryRun=true`, which stores nothing and answers with the Envoy resources the write would change.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Issue } from '../../lib/result.ts';
import { DEFAULT_NAMESPACE, serviceHost, serviceKeyOf, serviceRefOfKey } from '../../model/names.ts';
import { effectiveHosts, virtualHostOf } from '../../model/routing.ts';
import { checkDnsLabel } from '../../model/specs.ts';
import type { RouteSpec } from '../../model/traffic.ts';
import { checkRoute, routeConflicts } from '../../model/traffic-validate.ts';
import type { Db } from '../../registry/db.ts';
import { createRoute, deleteRoute, getRoute, listRoutes, routeSpecOf, updateRoute, type RouteCheck } from '../../registry/routes.ts';
import type { RouteRow } from '../../registry/schema.ts';
import { dedupe, problem, sendIssues, sendProblem } from '../problems.ts';
import { ifMatchRevision, writeSender, type PreviewWrite, type Shown } from '../preconditions.ts';
import { problemResponses } from '../schemas.ts';
import { DRY_RUN_QUERY, isDryRun } from '../schema-base.ts';
import { RouteBody, RoutePath, RouteQuery, RouteUpdate, TrafficSplitBody } from '../traffic-schemas.ts';

// app.ts imports the type of the dry-run preview from here.
export type { PreviewWrite };

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
    const serviceHosts = new Set([...ctx.services.keys()].flatMap((key) => {
      const ref = serviceRefOfKey(key);
      return ref ? [serviceHost(ref)] : [];
    }));
    const withHosts = (r: RouteSpec) => ({ ...r, hosts: effectiveHosts(r).map((h) => virtualHostOf(h, serviceHosts)) });
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

/** How a route write is answered: as `route` in a dry run, with a Location when created. */
const asRoute = { key: 'route', view: routeView, location: (r: RouteRow) => `/api/v1/routes/${r.namespace}/${r.name}` } satisfies Shown<RouteRow>;

/** Registers the route and traffic-split endpoints. */
export function trafficRoutes(app: FastifyInstance, db: Db, previewWrite: PreviewWrite): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['routes'];
  const sendWrite = writeSender(db, previewWrite);

  api.post(
    '/api/v1/routes',
    { schema: { tags, body: RouteBody, querystring: DRY_RUN_QUERY, response: problemResponses(400, 409, 503) } },
    async (req, reply) => {
      const { namespace = DEFAULT_NAMESPACE, name, ...body } = req.body;
      const issues = [...checkDnsLabel(namespace, 'body.namespace'), ...checkDnsLabel(name, 'body.name')];
      if (issues.length) return sendIssues(reply, issues, req.url);
      const spec = specOf(namespace, name, body);
      const { namespace: _n, name: _m, hosts, priority, ...rest } = spec;
      return sendWrite(reply, isDryRun(req.query), { ...asRoute, status: 201, run: (d) => createRoute(d, { namespace, name, hosts, priority, spec: rest }, routeCheck(spec)) });
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
      const issues = [...checkDnsLabel(namespace, 'params.namespace'), ...checkDnsLabel(name, 'params.name')];
      if (bodyNs !== undefined && bodyNs !== namespace) issues.push({ path: 'body.namespace', message: `must match the URL (${namespace})` });
      if (bodyName !== undefined && bodyName !== name) issues.push({ path: 'body.name', message: `must match the URL (${name}); rename by creating a new route` });
      const ifRevision = ifMatchRevision(req.headers['if-match']);
      if (!ifRevision.ok) issues.push(...ifRevision.issues);
      if (issues.length || !ifRevision.ok) return sendIssues(reply, issues, req.url);
      const spec = specOf(namespace, name, body);
      const { namespace: _n, name: _m, hosts, priority, ...rest } = spec;
      const input = { namespace, name, hosts, priority, spec: rest };
      return sendWrite(reply, isDryRun(req.query), { ...asRoute, status: 200, run: (d) => updateRoute(d, input, routeCheck(spec), { ifRevision: ifRevision.value }) });
    },
  );

  api.delete(
    '/api/v1/routes/:namespace/:name',
    { schema: { tags, params: RoutePath, querystring: DRY_RUN_QUERY, response: problemResponses(400, 404, 412, 503) } },
    async (req, reply) => {
      const ifRevision = ifMatchRevision(req.headers['if-match']);
      if (!ifRevision.ok) return sendIssues(reply, ifRevision.issues, req.url);
      const run = (d: Db) => deleteRoute(d, req.params.namespace, req.params.name, { ifRevision: ifRevision.value });
      return sendWrite(reply, isDryRun(req.query), { ...asRoute, status: 204, run });
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
      const weighted = Object.entries(weights).sort(([a], [b]) => (a < b ? -1 : 1));
      const destinations = weighted.map(([value, weight]) => ({ namespace, name: service, subset: { [subsetLabel]: value }, weight }));
      const spec: RouteSpec = { namespace, name, hosts: [], priority: 0, match: {}, destinations };
      const stored = { namespace, name, hosts: [], priority: 0, spec: { match: {}, destinations } };
      const check = splitCheck(routeCheck(spec), weighted.map(([value]) => value));
      // Create or replace: a split is "the" weighting of the service, set again whenever it changes.
      const exists = await getRoute(db, namespace, name);
      const write = exists ? { status: 200 as const, run: (d: Db) => updateRoute(d, stored, check) } : { status: 201 as const, run: (d: Db) => createRoute(d, stored, check) };
      return sendWrite(reply, isDryRun(req.query), { ...asRoute, ...write });
    },
  );
}

/**
 * The split's issues name its own fields: destination i of the route is the weight of `values[i]`
 * (the label values, sorted), and what is wrong with the service itself (missing, or tcp), which
 * every destination repeats, is said once at `body.service`.
 */
function splitCheck(check: RouteCheck, values: string[]): RouteCheck {
  return (ctx) => {
    const verdict = check(ctx);
    return { ...verdict, issues: dedupe(verdict.issues.map((i) => ({ ...i, path: splitPath(i.path, values) }))) };
  };
}

/** `body.destinations` → `body.weights`; `body.destinations[i]` → `body.service`; `body.destinations[i].…` → `body.weights.<values[i]>`. */
function splitPath(path: string, values: string[]): string {
  const m = /^body\.destinations(?:\[(\d+)\](\..+)?)?$/.exec(path);
  if (!m) return path;
  if (m[1] === undefined) return 'body.weights';
  // The only issues at a destination itself are about its service: the label values are distinct, so none repeats another.
  if (m[2] === undefined) return 'body.service';
  return `body.weights.${values[Number(m[1])]}`;
}
