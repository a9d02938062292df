/** Liveness, readiness, Prometheus metrics, the OpenAPI document and the xDS build status. */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { problem, sendProblem } from '../problems.ts';

export interface SystemDeps {
  metrics: Registry;
  /** Ready once migrations ran and the first snapshot was built. */
  readiness(): { ready: boolean; reason?: string };
  /** What the last xDS build did (resources, issues held back by the publish gate, errors). */
  buildStatus(): unknown;
}

/** Registers the system routes. */
export function systemRoutes(app: FastifyInstance, deps: SystemDeps): void {
  app.get('/healthz', { schema: { tags: ['system'] } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags: ['system'] } }, async (req, reply) => {
    const r = deps.readiness();
    if (!r.ready) return sendProblem(reply, problem('not-ready', r.reason, undefined, req.url));
    return { status: 'ready' };
  });

  app.get('/metrics', { schema: { tags: ['system'] } }, async (_req, reply) => {
    reply.type(deps.metrics.contentType);
    return deps.metrics.metrics();
  });

  app.get('/api/v1/xds/status', { schema: { tags: ['xds'] } }, async () => deps.buildStatus());

  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
