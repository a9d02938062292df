/** `/api/v1/services`: register, list, read, replace and delete services; every write takes `?dryRun=true`. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Issue } from '../../lib/result.ts';
import { DEFAULT_NAMESPACE } from '../../model/names.ts';
import { parseSelector } from '../../model/selector.ts';
import { checkDnsLabel, checkLabels } from '../../model/specs.ts';
import type { TrafficPolicy } from '../../model/traffic.ts';
import { checkTrafficPolicy } from '../../model/traffic-validate.ts';
import type { Db } from '../../registry/db.ts';
import {
  createService,
  deleteService,
  getService,
  listServices,
  updateService,
  type ServiceInput,
  type ServiceView,
  type WriteResult,
} from '../../registry/services.ts';
import { problem, sendIssues, sendProblem } from '../problems.ts';
import { ifMatchRevision, writeSender, type PreviewWrite, type Shown } from '../preconditions.ts';
import { dryRunOf, problemResponses, ServiceCreate, ServicePath, ServiceQuery, ServiceUpdate, writtenOrDryRun } from '../schemas.ts';
import { DRY_RUN_QUERY, isDryRun } from '../schema-base.ts';

/** The API view of a service. */
export function serviceView(s: ServiceView) {
  return {
    namespace: s.namespace,
    name: s.name,
    protocol: s.protocol,
    port: s.port,
    tags: s.tags,
    labels: s.labels,
    version: s.version,
    metadata: s.metadata,
    trafficPolicy: s.trafficPolicy ?? null,
    mtls: s.mtls ?? null,
    revision: s.revision,
    health: s.health,
    endpointCount: s.endpointCount,
    healthyEndpointCount: s.healthyCount,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

type Spec = Omit<ServiceCreate, 'namespace' | 'name'>;

/** `at` names where namespace and name came from: the body (POST) or the URL (PUT). */
function toInput(namespace: string, name: string, body: Spec, at: 'body' | 'params'): { input: ServiceInput; issues: Issue[] } {
  const input: ServiceInput = {
    namespace,
    name,
    protocol: body.protocol ?? 'http',
    port: body.port,
    tags: body.tags ?? [],
    labels: body.labels ?? {},
    version: body.version ?? null,
    metadata: body.metadata ?? {},
    trafficPolicy: (body.trafficPolicy as TrafficPolicy | null | undefined) ?? null,
    mtls: body.mtls ?? null,
  };
  const issues = [
    ...checkDnsLabel(namespace, `${at}.namespace`),
    ...checkDnsLabel(name, `${at}.name`),
    ...checkLabels(input.labels, 'body.labels'),
    ...(input.trafficPolicy ? checkTrafficPolicy(input.trafficPolicy, 'body.trafficPolicy') : []),
  ];
  return { input, issues };
}

/** How a service write is answered: as `service` in a dry run, with a Location when created. */
const asService = {
  key: 'service',
  view: serviceView,
  location: (s: ServiceView) => `/api/v1/services/${s.namespace}/${s.name}`,
} satisfies Shown<ServiceView>;

/** Registers the service routes. */
export function serviceRoutes(app: FastifyInstance, db: Db, previewWrite: PreviewWrite): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['services'];
  const sendWrite = writeSender(db, previewWrite);
  const querystring = DRY_RUN_QUERY;

  api.post(
    '/api/v1/services',
    { schema: { tags, body: ServiceCreate, querystring, response: { 201: { $ref: 'Service' }, 200: dryRunOf('service', 'Service'), ...problemResponses(400, 409, 503) } } },
    async (req, reply) => {
      const { namespace = DEFAULT_NAMESPACE, name, ...spec } = req.body;
      const { input, issues } = toInput(namespace, name, spec, 'body');
      if (issues.length) return sendIssues(reply, issues, req.url);
      return sendWrite(reply, isDryRun(req.query), { ...asService, status: 201, run: (d) => createService(d, input) });
    },
  );

  api.get('/api/v1/services', { schema: { tags, querystring: ServiceQuery, response: { 200: { $ref: 'ServiceList' }, ...problemResponses(400) } } }, async (req, reply) => {
    const q = req.query;
    const labels = q.label === undefined ? { ok: true as const, value: [] } : parseSelector(q.label, 'query.label');
    if (!labels.ok) return sendIssues(reply, labels.issues, req.url);
    const tagList = q.tag === undefined ? [] : Array.isArray(q.tag) ? q.tag : [q.tag];
    const items = await listServices(db, { namespace: q.namespace, tags: tagList, labels: labels.value, health: q.health });
    return { items: items.map(serviceView) };
  });

  api.get('/api/v1/services/:namespace/:name', { schema: { tags, params: ServicePath, response: { 200: { $ref: 'Service' }, ...problemResponses(404) } } }, async (req, reply) => {
    const svc = await getService(db, req.params.namespace, req.params.name);
    if (!svc) return sendProblem(reply, problem('not-found', `service ${req.params.namespace}/${req.params.name} does not exist`, undefined, req.url));
    reply.header('etag', `"${svc.revision}"`);
    return serviceView(svc);
  });

  api.put(
    '/api/v1/services/:namespace/:name',
    { schema: { tags, params: ServicePath, body: ServiceUpdate, querystring, response: { 200: writtenOrDryRun('service', 'Service'), ...problemResponses(400, 404, 409, 412, 503) } } },
    async (req, reply) => {
      const { namespace, name } = req.params;
      const { namespace: bodyNs, name: bodyName, ...spec } = req.body;
      const { input, issues } = toInput(namespace, name, spec, 'params');
      if (bodyNs !== undefined && bodyNs !== namespace) issues.push({ path: 'body.namespace', message: `must match the URL (${namespace})` });
      if (bodyName !== undefined && bodyName !== name) issues.push({ path: 'body.name', message: `must match the URL (${name}); rename by creating a new service` });
      if (issues.length) return sendIssues(reply, issues, req.url);
      const ifRevision = ifMatchRevision(req.headers['if-match']);
      if (!ifRevision.ok) return sendIssues(reply, ifRevision.issues, req.url);
      const { namespace: _n, name: _m, ...fields } = input;
      return sendWrite(reply, isDryRun(req.query), { ...asService, status: 200, run: (d) => updateService(d, namespace, name, fields, ifRevision.value) });
    },
  );

  api.delete(
    '/api/v1/services/:namespace/:name',
    { schema: { tags, params: ServicePath, querystring, response: { 200: dryRunOf('service', 'Service'), ...problemResponses(400, 404, 412, 503) } } },
    async (req, reply) => {
      const ifRevision = ifMatchRevision(req.headers['if-match']);
      if (!ifRevision.ok) return sendIssues(reply, ifRevision.issues, req.url);
      return sendWrite(reply, isDryRun(req.query), { ...asService, status: 204, run: (d) => deleteService(d, req.params.namespace, req.params.name, ifRevision.value) });
    },
  );
}
