/** `/api/v1/services/{namespace}/{name}/endpoints`: a service's instances, their health and heartbeats. */
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
import { ifMatchRevision } from '../preconditions.ts';
import { problem, sendIssues, sendProblem } from '../problems.ts';
import { EndpointPath, EndpointSpec, Heartbeat, problemResponses, ServicePath } from '../schemas.ts';
import { sendWrite } from './services.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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

/** Registers the endpoint routes. */
export function endpointRoutes(app: FastifyInstance, db: Db): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['endpoints'];
  const base = '/api/v1/services/:namespace/:name/endpoints';
  const notFound = (url: string, what: string) => problem('not-found', `${what} does not exist`, undefined, url);

  api.post(base, { schema: { tags, params: ServicePath, body: EndpointSpec, response: { 201: { $ref: 'Endpoint' }, ...problemResponses(400, 404, 409, 503) } } }, async (req, reply) => {
    const { input, issues } = toInput(req.body);
    if (issues.length) return sendIssues(reply, issues, req.url);
    const result = await createEndpoint(db, req.params.namespace, req.params.name, input);
    if (result.ok) reply.header('location', `${(req.url.split('?')[0] ?? '').replace(/\/$/, '')}/${result.value.id}`);
    return sendWrite(reply, result, 201, endpointView);
  });

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
    { schema: { tags, params: EndpointPath, body: EndpointSpec, response: { 200: { $ref: 'Endpoint' }, ...problemResponses(400, 404, 409, 412, 503) } } },
    async (req, reply) => {
      const { namespace, name, id } = req.params;
      if (!UUID.test(id)) return sendProblem(reply, notFound(req.url, `endpoint ${id}`));
      const { input, issues } = toInput(req.body);
      const ifRevision = ifMatchRevision(req.headers['if-match']);
      if (!ifRevision.ok) issues.push(...ifRevision.issues);
      if (issues.length || !ifRevision.ok) return sendIssues(reply, issues, req.url);
      return sendWrite(reply, await updateEndpoint(db, namespace, name, id, input, ifRevision.value), 200, endpointView);
    },
  );

  api.delete(`${base}/:id`, { schema: { tags, params: EndpointPath, response: problemResponses(400, 404, 412, 503) } }, async (req, reply) => {
    const { namespace, name, id } = req.params;
    if (!UUID.test(id)) return sendProblem(reply, notFound(req.url, `endpoint ${id}`));
    const ifRevision = ifMatchRevision(req.headers['if-match']);
    if (!ifRevision.ok) return sendIssues(reply, ifRevision.issues, req.url);
    const result = await deleteEndpoint(db, namespace, name, id, ifRevision.value);
    if (!result.ok) return sendWrite(reply, result, 204, endpointView);
    return reply.code(204).send();
  });

  api.put(
    `${base}/:id/heartbeat`,
    { schema: { tags, params: EndpointPath, body: Heartbeat, response: { 200: { $ref: 'Endpoint' }, ...problemResponses(400, 404, 503) } } },
    async (req, reply) => {
      const { namespace, name, id } = req.params;
      if (!UUID.test(id)) return sendProblem(reply, notFound(req.url, `endpoint ${id}`));
      return sendWrite(reply, await heartbeat(db, namespace, name, id, req.body?.health), 200, endpointView);
    },
  );
}
