/**
 * Join tokens over REST: `POST /api/v1/join-tokens` issues one for a service and shows it once,
 * `GET /api/v1/join-tokens` lists them (never the token), `DELETE /api/v1/join-tokens/{id}`
 * revokes one (new xDS streams are refused at once, open ones within a few seconds).
 * Every write takes `?dryRun=true`; tokens change no Envoy resource, so its `changes` are empty.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from 'typebox';
import { issueJoinToken, joinTokenStatus } from '../../ca/join-tokens.ts';
import { DEFAULT_NAMESPACE } from '../../model/names.ts';
import { checkDnsLabel } from '../../model/specs.ts';
import type { Db } from '../../registry/db.ts';
import { getJoinToken, listJoinTokens, revokeJoinToken } from '../../registry/join-tokens.ts';
import type { JoinTokenRow } from '../../registry/schema.ts';
import { getService } from '../../registry/services.ts';
import { problem, sendIssues, sendProblem } from '../problems.ts';
import { DRY_RUN_QUERY, isDryRun, nullable, stringEnum, UUID } from '../schema-base.ts';
import { DateTime, problemResponses } from '../schemas.ts';

const BASE = '/api/v1/join-tokens';

const JoinToken = Type.Object({
  id: Type.String({ format: 'uuid' }),
  namespace: Type.String(),
  service: Type.String(),
  description: nullable(Type.String()),
  status: stringEnum(['active', 'expired', 'revoked'] as const),
  createdAt: DateTime,
  expiresAt: nullable(DateTime),
  revokedAt: nullable(DateTime),
});

const CreatedJoinToken = Type.Object({
  ...JoinToken.properties,
  token: Type.String({ description: 'the token, shown this once: only its hash is stored' }),
});

/** The 200 of a dry run: the token it would issue or revoke (a token to issue has no id yet); tokens change no Envoy resource. */
const dryRunOf = (joinToken: TSchema) =>
  Type.Object(
    { dryRun: Type.Literal(true), joinToken, changes: Type.Array(Type.Unknown(), { maxItems: 0 }), issues: Type.Array(Type.Unknown(), { maxItems: 0 }) },
    { description: 'what the write would do; nothing was stored' },
  );
const DraftJoinToken = Type.Object({ namespace: Type.String(), service: Type.String(), description: nullable(Type.String()), expiresAt: nullable(DateTime) });

const JoinTokenBody = Type.Object(
  {
    namespace: Type.Optional(Type.String()),
    service: Type.String(),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 366 * 86_400, description: 'lifetime; without it the token lives until revoked' })),
    description: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);

const JoinTokenQuery = Type.Object({ namespace: Type.Optional(Type.String()), service: Type.Optional(Type.String()) }, { additionalProperties: false });

/** The API view of a token: never the token, nor its hash. */
function tokenView(row: JoinTokenRow, now = new Date()) {
  return {
    id: row.id,
    namespace: row.namespace,
    service: row.service,
    description: row.description,
    status: joinTokenStatus(row, now),
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

/** Registers the join token routes. */
export function joinTokenRoutes(app: FastifyInstance, db: Db): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['join-tokens'];

  api.post(
    BASE,
    { schema: { tags, body: JoinTokenBody, querystring: DRY_RUN_QUERY, response: { 200: dryRunOf(DraftJoinToken), 201: CreatedJoinToken, ...problemResponses(400, 404) } } },
    async (req, reply) => {
      const { namespace = DEFAULT_NAMESPACE, service, ttlSeconds, description } = req.body;
      const issues = [...checkDnsLabel(namespace, 'body.namespace'), ...checkDnsLabel(service, 'body.service')];
      if (issues.length) return sendIssues(reply, issues, req.url);
      if (!(await getService(db, namespace, service))) {
        return sendProblem(reply, problem('not-found', `service ${namespace}/${service} does not exist`, undefined, req.url));
      }
      const expiresAt = ttlSeconds === undefined ? undefined : new Date(Date.now() + ttlSeconds * 1000);
      if (isDryRun(req.query)) {
        const joinToken = { namespace, service, description: description ?? null, expiresAt: expiresAt?.toISOString() ?? null };
        return { dryRun: true as const, joinToken, changes: [], issues: [] };
      }
      const { token, row } = await issueJoinToken(db, { namespace, service, description, expiresAt });
      req.log.info({ tokenId: row.id, namespace, service }, 'join token issued');
      return reply.code(201).send({ ...tokenView(row), token });
    },
  );

  api.get(BASE, { schema: { tags, querystring: JoinTokenQuery, response: { 200: Type.Object({ items: Type.Array(JoinToken) }) } } }, async (req) => {
    const now = new Date();
    return { items: (await listJoinTokens(db, req.query)).map((r) => tokenView(r, now)) };
  });

  api.delete(
    `${BASE}/:id`,
    { schema: { tags, params: Type.Object({ id: Type.String() }), querystring: DRY_RUN_QUERY, response: { 200: dryRunOf(JoinToken), 204: Type.Null({ description: 'revoked' }), ...problemResponses(404) } } },
    async (req, reply) => {
      const { id } = req.params;
      const notFound = () => sendProblem(reply, problem('not-found', `join token ${id.slice(0, 80)} does not exist`, undefined, req.url));
      if (!UUID.test(id)) return notFound();
      if (isDryRun(req.query)) {
        const row = await getJoinToken(db, id);
        if (!row) return notFound();
        return { dryRun: true as const, joinToken: tokenView({ ...row, revokedAt: row.revokedAt ?? new Date() }), changes: [], issues: [] };
      }
      const revoked = await revokeJoinToken(db, id, new Date());
      if (!revoked) return notFound();
      req.log.info({ tokenId: id, namespace: revoked.namespace, service: revoked.service }, 'join token revoked');
      return reply.code(204).send(null);
    },
  );
}
