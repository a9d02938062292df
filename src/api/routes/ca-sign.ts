/**
 * `POST /api/v1/ca/sign`: a workload that holds a join token has its own key's CSR signed. The
 * identity (the one URI SAN) is the token's, never anything the CSR asks for, so a token for one
 * service cannot obtain another service's certificate.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { bearerToken, verifyJoinToken, type TokenIdentity } from '../../ca/join-tokens.ts';
import type { CaWriteOptions, SignedCertificate } from '../../ca/mesh-ca.ts';
import type { Result } from '../../lib/result.ts';
import type { Db } from '../../registry/db.ts';
import { problem, sendIssues, sendProblem } from '../problems.ts';
import { DRY_RUN_QUERY, isDryRun } from '../schema-base.ts';
import { DateTime, problemResponses } from '../schemas.ts';

/** What the route needs of the CA (MeshCa.sign). */
export interface CsrSigner {
  sign(namespace: string, service: string, csrPem: string, options?: CaWriteOptions): Promise<Result<SignedCertificate>>;
}

const SignBody = Type.Object({ csr: Type.String({ minLength: 1, maxLength: 16_384, description: 'PEM PKCS#10 request; only its key is used' }) }, { additionalProperties: false });

const Signed = Type.Object({
  spiffeId: Type.String(),
  certificate: Type.String({ description: 'the certificate followed by the intermediates (PEM)' }),
  bundle: Type.String({ description: 'the trust bundle: the roots peers are checked against (PEM)' }),
  serial: Type.String(),
  notAfter: DateTime,
});

const DryRunSigned = Type.Object({
  dryRun: Type.Literal(true),
  certificate: Type.Object({ namespace: Type.String(), service: Type.String(), spiffeId: Type.String(), channel: Type.Literal('csr') }),
  changes: Type.Array(Type.Unknown(), { maxItems: 0 }),
  issues: Type.Array(Type.Unknown(), { maxItems: 0 }),
});

/** A 401 problem, with the RFC 6750 challenge. */
function sendUnauthenticated(reply: FastifyReply, detail: string, instance: string): FastifyReply {
  return sendProblem(reply.header('www-authenticate', 'Bearer realm="apg-mesh"'), problem('unauthenticated', detail, undefined, instance));
}

/** Registers `POST /api/v1/ca/sign`. */
export function caSignRoutes(app: FastifyInstance, db: Db, ca: CsrSigner): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const callers = new WeakMap<FastifyRequest, TokenIdentity>();

  api.post(
    '/api/v1/ca/sign',
    {
      schema: { tags: ['ca'], body: SignBody, querystring: DRY_RUN_QUERY, response: { 200: Type.Union([Signed, DryRunSigned]), ...problemResponses(400, 401) } },
      // Before the body is read or validated: an unauthenticated caller learns nothing about its request.
      onRequest: async (req, reply) => {
        const token = bearerToken(req.headers.authorization);
        const caller = token && (await verifyJoinToken(db, token));
        if (!caller) return sendUnauthenticated(reply, token ? 'the join token is not valid (unknown, revoked or expired)' : 'authorization: Bearer <join token> is required', req.url);
        callers.set(req, caller);
      },
    },
    async (req, reply) => {
      const { namespace, service } = callers.get(req)!;
      const dryRun = isDryRun(req.query);
      const signed = await ca.sign(namespace, service, req.body.csr, { dryRun });
      if (!signed.ok) return sendIssues(reply, signed.issues.map((i) => ({ path: i.path === 'csr' ? 'body.csr' : i.path, message: i.message })), req.url);
      const { spiffeId, chainPem, bundlePem, serial, notAfter } = signed.value;
      if (dryRun) return { dryRun: true as const, certificate: { namespace, service, spiffeId, channel: 'csr' as const }, changes: [], issues: [] };
      req.log.info({ namespace, service, serial }, 'CSR signed');
      return { spiffeId, certificate: chainPem, bundle: bundlePem, serial, notAfter: notAfter.toISOString() };
    },
  );
}
