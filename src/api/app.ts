/** The management API as a Fastify app, built without listening, so tests drive it with `inject()`. */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { Db } from '../registry/db.ts';
import { handleError, problem, sendProblem } from './problems.ts';
import { endpointRoutes } from './routes/endpoints.ts';
import { proxyRoutes, type ProxyDirectory } from './routes/proxies.ts';
import { serviceRoutes } from './routes/services.ts';
import { systemRoutes, type SystemDeps } from './routes/system.ts';
import { SHARED_SCHEMAS } from './schemas.ts';
import { trafficRoutes, type PreviewWrite } from './routes/traffic.ts';
import { caRoutes, type CaService } from './routes/ca.ts';
import { authzRoutes } from './routes/authz.ts';
import { caSignRoutes, type CsrSigner } from './routes/ca-sign.ts';
import { joinTokenRoutes } from './routes/join-tokens.ts';
import { alertRoutes } from './routes/alerts.ts';
import { clusterStatsRoutes } from './routes/cluster-stats.ts';
import { analyticsRoutes, type AnalyticsDeps } from './routes/analytics.ts';
import { liveReplicas } from '../registry/replicas.ts';
import type { AuthzDefault } from '../model/authz.ts';
import { TRAFFIC_SCHEMAS } from './traffic-schemas.ts';

export interface AppDeps extends SystemDeps {
  db: Db;
  /** The proxies connected to this replica's xDS server, and what each was sent. */
  proxies: ProxyDirectory;
  /** For `?dryRun=true`: the Envoy resources a write would change, read inside its transaction. */
  previewWrite: PreviewWrite;
  /** The mesh CA: trust bundle, inventory, issuing, signing CSRs. */
  ca: CaService & CsrSigner;
  /** What happens to a request no authorization policy speaks for (default allow). */
  authzDefault?: AuthzDefault;
  /** A pino logger to log requests with; none by default (tests). */
  logger?: FastifyBaseLogger;
  /** Largest accepted request body, in bytes. */
  bodyLimit?: number;
  /** Topology thresholds, minute-rollup retention and the telemetry counters; unset: the defaults and the replicas table. */
  analytics?: Partial<Omit<AnalyticsDeps, 'db'>>;
}

/** The analytics settings the server passes, or the defaults (tests). */
function analyticsDeps(deps: AppDeps): AnalyticsDeps {
  const db = deps.db;
  const fromTable = async () => ({ replicas: (await liveReplicas(db, 60_000)).map((r) => ({ id: r.id, counters: r.telemetry })) });
  return { db, thresholds: { degraded: 0.001, failing: 0.1 }, minuteRetentionMs: 7 * 86_400_000, telemetry: fromTable, ...deps.analytics };
}

/** Builds the app with every route registered. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    bodyLimit: deps.bodyLimit ?? 1024 * 1024,
    ajv: {
      // Reject wrong types and unknown fields instead of coercing or silently dropping them.
      customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true, useDefaults: true },
    },
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'APG Service Mesh management API', version: '1' },
      tags: [{ name: 'services' }, { name: 'endpoints' }, { name: 'routes' }, { name: 'traffic' }, { name: 'proxies' }, { name: 'system' }, { name: 'xds' }],
    },
    // Name components after their schema $id (`Service`, `Problem`) rather than `def-0`, `def-1`.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  // The API speaks JSON only: a text/plain body is 415, not a string that fails validation as 400.
  app.removeContentTypeParser('text/plain');
  for (const schema of [...SHARED_SCHEMAS, ...TRAFFIC_SCHEMAS]) app.addSchema(schema);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((req, reply) => sendProblem(reply, problem('not-found', `no route ${req.method} ${req.url.split('?')[0]}`, undefined, req.url)));
  serviceRoutes(app, deps.db, deps.previewWrite);
  endpointRoutes(app, deps.db, deps.previewWrite);
  trafficRoutes(app, deps.db, deps.previewWrite);
  caRoutes(app, deps.db, deps.ca);
  caSignRoutes(app, deps.db, deps.ca);
  joinTokenRoutes(app, deps.db);
  alertRoutes(app, deps.db);
  clusterStatsRoutes(app, deps.db);
  analyticsRoutes(app, analyticsDeps(deps));
  authzRoutes(app, deps.db, deps.previewWrite, deps.authzDefault ?? 'allow');
  proxyRoutes(app, deps.proxies);
  systemRoutes(app, deps);
  await app.ready();
  return app;
}
