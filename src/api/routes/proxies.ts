/** `/api/v1/proxies`: every connected proxy of the mesh, its xDS status, and the config it was sent. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { FORWARDED_HEADER, ReplicaUnreachableError, type ProxyDirectory } from '../proxy-directory.ts';
import { problem, sendProblem } from '../problems.ts';
import { problemResponses, ProxyPath } from '../schemas.ts';

export type { ProxyDirectory } from '../proxy-directory.ts';

/** Registers the proxy status routes. */
export function proxyRoutes(app: FastifyInstance, proxies: ProxyDirectory): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['proxies'];
  const unknown = (id: string, url: string) => problem('not-found', `no proxy with node id "${id}" is connected to the mesh`, undefined, url);

  api.get('/api/v1/proxies', { schema: { tags, response: { 200: { $ref: 'ProxyList' } } } }, async () => proxies.list());

  api.get(
    '/api/v1/proxies/:id',
    { schema: { tags, params: ProxyPath, response: { 200: { $ref: 'Proxy' }, ...problemResponses(404) } } },
    async (req, reply) => (await proxies.get(req.params.id)) ?? sendProblem(reply, unknown(req.params.id, req.url)),
  );

  api.get(
    '/api/v1/proxies/:id/config',
    { schema: { tags, params: ProxyPath, response: { 200: { $ref: 'ProxyConfig' }, ...problemResponses(404, 502) } } },
    async (req, reply) => {
      try {
        const config = await proxies.config(req.params.id, req.headers[FORWARDED_HEADER] !== undefined);
        return config ?? sendProblem(reply, unknown(req.params.id, req.url));
      } catch (err) {
        if (err instanceof ReplicaUnreachableError) return sendProblem(reply, problem('replica-unreachable', err.message, undefined, req.url));
        throw err;
      }
    },
  );
}
