/** `/api/v1/proxies`: the proxies connected to this replica, their xDS status, and the config each was sent. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ProxyConfigView, ProxyView } from '../../xds/server/proxy-views.ts';
import { problem, sendProblem } from '../problems.ts';
import { problemResponses, ProxyPath } from '../schemas.ts';

/** What the routes read: proxies by node id (sorted), as the xDS server's proxy status reports them. */
export interface ProxyDirectory {
  list(): ProxyView[];
  get(nodeId: string): ProxyView | undefined;
  config(nodeId: string): ProxyConfigView | undefined;
}

/** Registers the proxy status routes. */
export function proxyRoutes(app: FastifyInstance, proxies: ProxyDirectory): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['proxies'];
  const unknown = (id: string, url: string) => problem('not-found', `no proxy with node id "${id}" is connected to this replica`, undefined, url);

  api.get('/api/v1/proxies', { schema: { tags, response: { 200: { $ref: 'ProxyList' } } } }, async () => ({ items: proxies.list() }));

  api.get(
    '/api/v1/proxies/:id',
    { schema: { tags, params: ProxyPath, response: { 200: { $ref: 'Proxy' }, ...problemResponses(404) } } },
    async (req, reply) => proxies.get(req.params.id) ?? sendProblem(reply, unknown(req.params.id, req.url)),
  );

  api.get(
    '/api/v1/proxies/:id/config',
    { schema: { tags, params: ProxyPath, response: { 200: { $ref: 'ProxyConfig' }, ...problemResponses(404) } } },
    async (req, reply) => proxies.config(req.params.id) ?? sendProblem(reply, unknown(req.params.id, req.url)),
  );
}
