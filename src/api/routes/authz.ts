/**
 * `/api/v1/authorization-policies` (CRUD; every write takes `?dryRun=true` and `If-Match`) and
 * `GET /api/v1/authorization/check?from=&to=&path=&method=`, which answers "can A reach B?" with the
 * policy that decided and what shadow-mode policies would have decided.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Issue } from '../../lib/result.ts';
import type { AuthorizationPolicySpec, AuthzDefault } from '../../model/authz.ts';
import { decide } from '../../model/authz-eval.ts';
import { checkAuthorizationPolicy } from '../../model/authz-validate.ts';
import { DEFAULT_NAMESPACE, serviceRefOfKey } from '../../model/names.ts';
import { checkDnsLabel } from '../../model/specs.ts';
import { authzSpecOf, createAuthzPolicy, deleteAuthzPolicy, getAuthzPolicy, listAuthzPolicies, updateAuthzPolicy } from '../../registry/authz.ts';
import type { Db } from '../../registry/db.ts';
import type { AuthzPolicyRow } from '../../registry/schema.ts';
import { getService } from '../../registry/services.ts';
import { AccessCheckQuery, AuthzPolicyBody, AuthzPolicyPath, AuthzPolicyQuery, AuthzPolicyUpdate } from '../authz-schemas.ts';
import { ifMatchRevision, writeSender, type PreviewWrite, type Shown } from '../preconditions.ts';
import { problem, sendIssues, sendProblem } from '../problems.ts';
import { problemResponses } from '../schemas.ts';
import { DRY_RUN_QUERY, isDryRun } from '../schema-base.ts';

const BASE = '/api/v1/authorization-policies';

/** The API view of a policy: its spec, revision and timestamps. */
function policyView(row: AuthzPolicyRow) {
  return { ...authzSpecOf(row), revision: row.revision, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() };
}

const asPolicy = { key: 'policy', view: policyView, location: (r: AuthzPolicyRow) => `${BASE}/${r.namespace}/${r.name}` } satisfies Shown<AuthzPolicyRow>;

/** The spec a body describes, defaults filled in. */
function specOf(namespace: string, name: string, body: Omit<AuthzPolicyBody, 'namespace' | 'name'>): AuthorizationPolicySpec {
  const target = { namespace: body.target.namespace ?? namespace, ...(body.target.service ? { service: body.target.service } : {}) };
  return { namespace, name, target, action: body.action, mode: body.mode ?? 'enforce', rules: body.rules as AuthorizationPolicySpec['rules'] };
}

/** `<namespace>/<service>` as an authorization peer, or an issue at `path`. */
function peerOf(text: string, path: string): { namespace: string; service: string } | Issue {
  const ref = serviceRefOfKey(text);
  return ref ? { namespace: ref.namespace, service: ref.name } : { path, message: `must be <namespace>/<service> (DNS labels), got ${JSON.stringify(text.slice(0, 100))}` };
}

type AuthzBody = Omit<AuthzPolicyBody, 'namespace' | 'name'>;

/** Registers the authorization routes; `meshDefault` decides for requests no policy speaks for. */
export function authzRoutes(app: FastifyInstance, db: Db, previewWrite: PreviewWrite, meshDefault: AuthzDefault): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['authorization'];
  const sendWrite = writeSender(db, previewWrite);

  api.post(BASE, { schema: { tags, body: AuthzPolicyBody, querystring: DRY_RUN_QUERY, response: problemResponses(400, 409, 503) } }, async (req, reply) => {
    const { namespace = DEFAULT_NAMESPACE, name, ...body } = req.body;
    const spec = specOf(namespace, name, body as AuthzBody);
    const issues = checkAuthorizationPolicy(spec, 'body');
    if (issues.length) return sendIssues(reply, issues, req.url);
    return sendWrite(reply, isDryRun(req.query), { ...asPolicy, status: 201, run: (d) => createAuthzPolicy(d, spec) });
  });

  api.get(BASE, { schema: { tags, querystring: AuthzPolicyQuery } }, async (req) => ({ items: (await listAuthzPolicies(db, req.query)).map(policyView) }));

  api.get(`${BASE}/:namespace/:name`, { schema: { tags, params: AuthzPolicyPath, response: problemResponses(404) } }, async (req, reply) => {
    const row = await getAuthzPolicy(db, req.params.namespace, req.params.name);
    if (!row) return sendProblem(reply, problem('not-found', `authorization policy ${req.params.namespace}/${req.params.name} does not exist`, undefined, req.url));
    reply.header('etag', `"${row.revision}"`);
    return policyView(row);
  });

  api.put(
    `${BASE}/:namespace/:name`,
    { schema: { tags, params: AuthzPolicyPath, body: AuthzPolicyUpdate, querystring: DRY_RUN_QUERY, response: problemResponses(400, 404, 412, 503) } },
    async (req, reply) => {
      const { namespace, name } = req.params;
      const { namespace: bodyNs, name: bodyName, ...body } = req.body;
      const issues = [...checkDnsLabel(namespace, 'params.namespace'), ...checkDnsLabel(name, 'params.name')];
      if (bodyNs !== undefined && bodyNs !== namespace) issues.push({ path: 'body.namespace', message: `must match the URL (${namespace})` });
      if (bodyName !== undefined && bodyName !== name) issues.push({ path: 'body.name', message: `must match the URL (${name})` });
      const ifRevision = ifMatchRevision(req.headers['if-match']);
      if (!ifRevision.ok) issues.push(...ifRevision.issues);
      const spec = specOf(namespace, name, body as AuthzBody);
      const all = issues.length ? issues : checkAuthorizationPolicy(spec, 'body');
      if (all.length || !ifRevision.ok) return sendIssues(reply, all, req.url);
      return sendWrite(reply, isDryRun(req.query), { ...asPolicy, status: 200, run: (d) => updateAuthzPolicy(d, spec, ifRevision.value) });
    },
  );

  api.delete(
    `${BASE}/:namespace/:name`,
    { schema: { tags, params: AuthzPolicyPath, querystring: DRY_RUN_QUERY, response: problemResponses(400, 404, 412, 503) } },
    async (req, reply) => {
      const ifRevision = ifMatchRevision(req.headers['if-match']);
      if (!ifRevision.ok) return sendIssues(reply, ifRevision.issues, req.url);
      return sendWrite(reply, isDryRun(req.query), { ...asPolicy, status: 204, run: (d) => deleteAuthzPolicy(d, req.params.namespace, req.params.name, ifRevision.value) });
    },
  );

  api.get('/api/v1/authorization/check', { schema: { tags, querystring: AccessCheckQuery, response: problemResponses(400, 404) } }, async (req, reply) => {
    const to = peerOf(req.query.to, 'query.to');
    const from = req.query.from === undefined ? undefined : peerOf(req.query.from, 'query.from');
    const issues = [to, from].filter((r): r is Issue => r !== undefined && 'message' in r);
    if (issues.length) return sendIssues(reply, issues, req.url);
    const destination = to as { namespace: string; service: string };
    const target = await getService(db, destination.namespace, destination.service);
    if (!target) return sendProblem(reply, problem('not-found', `service ${req.query.to} does not exist`, undefined, req.url));
    const policies = (await listAuthzPolicies(db, { targetNamespace: destination.namespace })).map(authzSpecOf);
    // A TCP service is matched on the caller alone (see src/envoy/rbac.ts).
    const protocol = target.protocol === 'tcp' ? ('tcp' as const) : ('http' as const);
    const request = { source: from as { namespace: string; service: string } | undefined, destination, path: req.query.path, method: req.query.method, protocol };
    return { from: req.query.from ?? null, to: req.query.to, meshDefault, ...decide(policies, request, meshDefault) };
  });
}
