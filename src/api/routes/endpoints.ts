/** `/api/v1/services/{namespace}/{name}/endpoints`: a service's instances, their health and heartbeats; every write takes `?dryRun=true`. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { checkAddress, checkLabels } from '../../model/specs.ts';
import type { Db } from '../../registry/db.ts';
import {
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  heartbeat,
  listEndpoints,
  updateEndpoint,
  type EndpointInput,
} from '../../registry/endpoints.ts';
import type { EndpointRow } from '../../registry/schema.ts';
import { ifMatchRevision, writeSender, type PreviewWrite, type Shown } from '../preconditions.ts';
import { problem, sendIssues, sendProblem } from '../problems.ts';
import { dryRunOf, EndpointPath, EndpointSpec, Heartbeat, problemResponses, ServicePath, writtenOrDryRun } from '../schemas.ts';
import { DRY_RUN_QUERY, isDryRun, UUID } from '../schema-base.ts';


/** The API view of an endpoint. */
export function endpointView(e: EndpointRow) {
  return {
    id: e.id,
    address: e.address,
    port: e.port,
    weight: e.weight,
    region: e.region,
    zone: e.zone,
    subZone: e.subZone,
    labels: e.labels,
    health: e.health,
    ttlSeconds: e.ttlSeconds,
    lastHeartbeatAt: e.lastHeartbeatAt?.toISOString() ?? null,
    revision: e.revision,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
  };
}

function toInput(body: EndpointSpec) {
  const input: EndpointInput = {
    address: body.address,
    port: body.port,
    weight: body.weight ?? 1,
    region: body.region ?? '',
    zone: body.zone ?? '',
    subZone: body.subZone ?? '',
    labels: body.labels ?? {},
    health: body.health ?? 'healthy',
    ttlSeconds: body.ttlSeconds ?? null,
  };
  return { input, issues: [...checkAddress(input.address, 'body.address'), ...checkLabels(input.labels, 'body.labels')] };
}

/** How an endpoint write is answered: as `endpoint` in a dry run. */
const asEndpoint = { key: 'endpoint', view: endpointView } satisfies Shown<EndpointRow>;

/** Registers the endpoint routes. */
export function endpointRoutes(app: FastifyInstance, db: Db, previewWrite: PreviewWrite): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['endpoints'];
  const base = '/api/v1/services/:namespace/:name/endpoints';
  const notFound = (url: string, what: string) => problem('not-found', `${what} does not exist`, undefined, url);
  const sendWrite = writeSender(db, previewWrite);
  const querystring = DRY_RUN_QUERY;

  api.post(
    base,
    { schema: { tags, params: ServicePath, body: EndpointSpec, querystring, response: { 201: { $ref: 'Endpoint' }, 200: dryRunOf('endpoint', 'Endpoint'), ...problemResponses(400, 404, 409, 503) } } },
    async (req, reply) => {
      const { input, issues } = toInput(req.body);
      if (issues.length) return sendIssues(reply, issues, req.url);
      const location = (e: EndpointRow) => `${(req.url.split('?')[0] ?? '').replace(/\/$/, '')}/${e.id}`;
      const run = (d: Db) => createEndpoint(d, req.params.namespace, req.params.name, input);
      return sendWrite(reply, isDryRun(req.query), { ...asEndpoint, status: 201, run, location });
    },
  );

  api.get(base, { schema: { tags, params: ServicePath, response: { 200: { $ref: 'EndpointList' }, ...problemResponses(404) } } }, async (req, reply) => {
    const rows = await listEndpoints(db, req.params.namespace, req.params.name);
    if (!rows) return sendProblem(reply, notFound(req.url, `service ${req.params.namespace}/${req.params.name}`));
    return { items: rows.map(endpointView) };
  });

  api.get(`${base}/:id`, { schema: { tags, params: EndpointPath, response: { 200: { $ref: 'Endpoint' }, ...problemResponses(404) } } }, async (req, reply) => {
    const { namespace, name, id } = req.params;
    const row = UUID.test(id) ? await getEndpoint(db, namespace, name, id) : undefined;
    if (!row) return sendProblem(reply, notFound(req.url, `endpoint ${id} of service ${namespace}/${name}`));
    reply.header('etag', `"${row.revision}"`);
    return endpointView(row);
  });

  api.put(
    `${base}/:id`,
    { schema: { tags, params: EndpointPath, body: EndpointSpec, querystring, response: { 200: writtenOrDryRun('endpoint', 'Endpoint'), ...problemResponses(400, 404, 409, 412, 503) } } },
    async (req, reply) => {
      const { namespace, name, id } = req.params;
      if (!UUID.test(id)) return sendProblem(reply, notFound(req.url, `endpoint ${id}`));
      const { input, issues } = toInput(req.body);
      const ifRevision = ifMatchRevision(req.headers['if-match']);
      if (!ifRevision.ok) issues.push(...ifRevision.issues);
      if (issues.length || !ifRevision.ok) return sendIssues(reply, issues, req.url);
      const run = (d: Db) => updateEndpoint(d, namespace, name, id, input, ifRevision.value);
      return sendWrite(reply, isDryRun(req.query), { ...asEndpoint, status: 200, run });
    },
  );

  api.delete(
    `${base}/:id`,
    { schema: { tags, params: EndpointPath, querystring, response: { 200: dryRunOf('endpoint', 'Endpoint'), ...problemResponses(400, 404, 412, 503) } } },
    async (req, reply) => {
      const { namespace, name, id } = req.params;
      if (!UUID.test(id)) return sendProblem(reply, notFound(req.url, `endpoint ${id}`));
      const ifRevision = ifMatchRevision(req.headers['if-match']);
      if (!ifRevision.ok) return sendIssues(reply, ifRevision.issues, req.url);
      const run = (d: Db) => deleteEndpoint(d, namespace, name, id, ifRevision.value);
      return sendWrite(reply, isDryRun(req.query), { ...asEndpoint, status: 204, run });
    },
  );

  // A heartbeat is a write too: the health it records can change what proxies are sent.
  api.put(
    `${base}/:id/heartbeat`,
    { schema: { tags, params: EndpointPath, body: Heartbeat, querystring, response: { 200: writtenOrDryRun('endpoint', 'Endpoint'), ...problemResponses(400, 404, 503) } } },
    async (req, reply) => {
      const { namespace, name, id } = req.params;
      if (!UUID.test(id)) return sendProblem(reply, notFound(req.url, `endpoint ${id}`));
      const run = (d: Db) => heartbeat(d, namespace, name, id, req.body?.health);
      return sendWrite(reply, isDryRun(req.query), { ...asEndpoint, status: 200, run });
    },
  );
}
