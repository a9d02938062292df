/**
 * The mesh CA over REST: its trust bundle and authorities (`/api/v1/ca/roots`), the inventory of
 * workload certificates (`GET /api/v1/certificates`), issuing one with its key for a workload
 * that reads certificates from disk (`POST /api/v1/certificates`, what `apg-mesh cert issue` calls),
 * rotating the CA (`POST /api/v1/ca/rotate`) and revoking an identity's certificates
 * (`POST /api/v1/certificates/revoke`).
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CaWriteOptions, IssuedCertificate } from '../../ca/mesh-ca.ts';
import type { RotationKind } from '../../ca/rotation.ts';
import { spiffeIdOf } from '../../ca/spiffe.ts';
import type { Result } from '../../lib/result.ts';
import { DEFAULT_NAMESPACE } from '../../model/names.ts';
import { checkDnsLabel } from '../../model/specs.ts';
import { listCertificates } from '../../registry/ca.ts';
import type { Db } from '../../registry/db.ts';
import type { CaAuthorityRow, CertificateRow } from '../../registry/schema.ts';
import { getService } from '../../registry/services.ts';
import { problem, sendIssues, sendProblem } from '../problems.ts';
import { DRY_RUN_QUERY, isDryRun, stringEnum } from '../schema-base.ts';
import { DateTime, problemResponses } from '../schemas.ts';

/** What the routes need of the CA (src/ca/mesh-ca.ts). */
export interface CaService {
  readonly trustDomain: string;
  readonly inUse: readonly CaAuthorityRow[];
  bundlePem(): string;
  issue(namespace: string, service: string, channel: CertificateRow['channel']): Promise<Result<IssuedCertificate>>;
  rotate(kind: RotationKind, options?: CaWriteOptions): Promise<Result<readonly CaAuthorityRow[]>>;
  revokeIdentity(namespace: string, service: string, options?: CaWriteOptions): Promise<string[] | undefined>;
}

const HOUR_MS = 3_600_000;

/** The API view of a CA certificate. */
function authorityView(a: CaAuthorityRow) {
  const cert = new X509Certificate(a.certPem);
  return {
    id: a.id,
    role: a.role,
    source: a.source,
    status: a.status,
    algorithm: a.algorithm,
    subject: cert.subject,
    serial: cert.serialNumber.toLowerCase(),
    fingerprintSha256: createHash('sha256').update(cert.raw).digest('hex'),
    notBefore: a.notBefore.toISOString(),
    notAfter: a.notAfter.toISOString(),
    certPem: a.certPem,
  };
}

/** The API view of an issued certificate (never its key). */
function certificateView(c: CertificateRow) {
  return {
    namespace: c.namespace,
    service: c.service,
    spiffeId: c.spiffeId,
    serial: c.serial,
    channel: c.channel,
    status: c.status,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
  };
}

const Certificate = Type.Object({
  namespace: Type.String(),
  service: Type.String(),
  spiffeId: Type.String(),
  serial: Type.String(),
  channel: stringEnum(['sds', 'csr', 'cli'] as const, { description: 'how it was issued: pushed over SDS, a signed CSR, or with its key for a file' }),
  status: stringEnum(['active', 'superseded', 'revoked'] as const),
  notBefore: DateTime,
  notAfter: DateTime,
});

const CertificateQuery = Type.Object(
  {
    namespace: Type.Optional(Type.String()),
    service: Type.Optional(Type.String()),
    status: Type.Optional(stringEnum(['active', 'superseded', 'revoked'] as const)),
    // Query strings are not coerced (the app's ajv), so a number comes as digits.
    expiringWithinHours: Type.Optional(Type.String({ pattern: '^[0-9]{1,5}$', description: 'only certificates that expire within this many hours' })),
    limit: Type.Optional(Type.String({ pattern: '^([1-9][0-9]{0,2}|1000)$', description: 'at most this many, newest first (1-1000, default 500)' })),
  },
  { additionalProperties: false },
);

const RotateBody = Type.Object(
  { kind: stringEnum(['intermediate', 'root'] as const, { description: 'a new intermediate under the active root, or a new root and intermediate' }) },
  { additionalProperties: false },
);

const RevokeBody = Type.Object({ namespace: Type.String(), service: Type.String() }, { additionalProperties: false });

const IssueBody = Type.Object({ namespace: Type.Optional(Type.String({ default: DEFAULT_NAMESPACE })), service: Type.String() }, { additionalProperties: false });

/** Registers the CA routes. */
export function caRoutes(app: FastifyInstance, db: Db, ca: CaService): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['ca'];

  const roots = () => ({ trustDomain: ca.trustDomain, bundlePem: ca.bundlePem(), authorities: ca.inUse.map(authorityView) });

  api.get('/api/v1/ca/roots', { schema: { tags } }, async () => roots());

  // The old authorities stay in the bundle (retiring) until nothing live was issued under them.
  // Dry runs list `changes: []` like issuing does: SDS resources are not previewed here.
  api.post('/api/v1/ca/rotate', { schema: { tags, body: RotateBody, querystring: DRY_RUN_QUERY, response: problemResponses(400, 409) } }, async (req, reply) => {
    const dryRun = isDryRun(req.query);
    const rotated = await ca.rotate(req.body.kind, { dryRun });
    if (!rotated.ok) {
      const detail = rotated.issues.map((i) => i.message).join('; ');
      return sendProblem(reply, problem('conflict', detail, rotated.issues, req.url));
    }
    return dryRun ? { dryRun, authorities: rotated.value.map(authorityView), changes: [], issues: [] } : roots();
  });

  api.post('/api/v1/certificates/revoke', { schema: { tags, body: RevokeBody, querystring: DRY_RUN_QUERY, response: problemResponses(400, 404) } }, async (req, reply) => {
    const { namespace, service } = req.body;
    const issues = [...checkDnsLabel(namespace, 'body.namespace'), ...checkDnsLabel(service, 'body.service')];
    if (issues.length) return sendIssues(reply, issues, req.url);
    const dryRun = isDryRun(req.query);
    const revoked = await ca.revokeIdentity(namespace, service, { dryRun });
    if (!revoked) return sendProblem(reply, problem('not-found', `${namespace}/${service} has no certificates`, undefined, req.url));
    return dryRun ? { dryRun, revoked, changes: [], issues: [] } : { revoked };
  });

  api.get(
    '/api/v1/certificates',
    {
      schema: {
        tags,
        querystring: CertificateQuery,
        response: { 200: Type.Object({ items: Type.Array(Certificate), truncated: Type.Boolean({ description: 'more certificates match than the limit' }) }), ...problemResponses(400) },
      },
    },
    async (req) => {
      const { expiringWithinHours, limit = '500', ...filter } = req.query;
      const expiringBy = expiringWithinHours === undefined ? undefined : new Date(Date.now() + Number(expiringWithinHours) * HOUR_MS);
      // One more than asked tells whether the list was cut.
      const rows = await listCertificates(db, { ...filter, expiringBy }, Number(limit) + 1);
      return { items: rows.slice(0, Number(limit)).map(certificateView), truncated: rows.length > Number(limit) };
    },
  );

  api.post('/api/v1/certificates', { schema: { tags, body: IssueBody, querystring: DRY_RUN_QUERY, response: problemResponses(400, 404) } }, async (req, reply) => {
    const namespace = req.body.namespace ?? DEFAULT_NAMESPACE;
    const { service } = req.body;
    const issues = [...checkDnsLabel(namespace, 'body.namespace'), ...checkDnsLabel(service, 'body.service')];
    if (issues.length) return sendIssues(reply, issues, req.url);
    if (!(await getService(db, namespace, service))) {
      return sendProblem(reply, problem('not-found', `service ${namespace}/${service} does not exist`, undefined, req.url));
    }
    if (isDryRun(req.query)) {
      // Issuing changes no Envoy resource; a dry run checks the request and shows the identity it would get.
      const identity = spiffeIdOf(ca.trustDomain, namespace, service);
      if (!identity.ok) return sendIssues(reply, identity.issues, req.url);
      return { dryRun: true, certificate: { namespace, service, spiffeId: identity.value, channel: 'cli' }, changes: [], issues: [] };
    }
    const issued = await ca.issue(namespace, service, 'cli');
    if (!issued.ok) return sendIssues(reply, issued.issues, req.url);
    const { row, keyPem, chainPem, bundlePem } = issued.value;
    reply.code(201);
    return { certificate: certificateView(row), certPem: row.certPem, keyPem, chainPem, bundlePem };
  });
}
