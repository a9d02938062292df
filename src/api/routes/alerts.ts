/**
 * Alerting over REST: rules (`/api/v1/alert-rules`, CRUD; writes take `?dryRun=true`, names are
 * unique) and the alert history the leader's evaluator writes (`GET /api/v1/alerts`, newest first,
 * filtered by state, rule and time; `GET /api/v1/alerts/{id}` with its webhook deliveries).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { checkAlertRule } from '../../analytics/alert-rules.ts';
import { alertRuleView, alertView } from '../../analytics/alert-views.ts';
import { createAlertRule, deleteAlertRule, getAlert, getAlertRule, listAlertRules, listAlerts, updateAlertRule, type AlertFilter, type DeliveryAttempt } from '../../registry/alerts.ts';
import type { Db } from '../../registry/db.ts';
import { dryRun } from '../../registry/dry-run.ts';
import type { AlertRow, AlertRuleRow } from '../../registry/schema.ts';
import type { WriteResult } from '../../registry/services.ts';
import { Alert, AlertQuery, AlertRule, AlertRuleBody, AlertRuleDryRun, IdPath } from '../alert-schemas.ts';
import { problem, sendIssues, sendProblem } from '../problems.ts';
import { DRY_RUN_QUERY, isDryRun, UUID } from '../schema-base.ts';
import { problemResponses } from '../schemas.ts';

const RULES = '/api/v1/alert-rules';
const ALERTS = '/api/v1/alerts';

/** An alert with its webhook deliveries. */
const alertDetail = (a: AlertRow) => ({ ...alertView(a), deliveries: a.deliveries as DeliveryAttempt[] });

/** Runs a rule write, rolled back when it is a dry run, and answers it. */
async function sendRuleWrite(reply: FastifyReply, db: Db, dry: boolean, status: 200 | 201 | 204, run: (d: Db) => Promise<WriteResult<AlertRuleRow>>) {
  const url = reply.request.url;
  const result = dry ? (await dryRun(db, run, async () => undefined)).result : await run(db);
  if (!result.ok) return sendProblem(reply, problem(result.reason, result.detail, undefined, url));
  if (dry) return reply.code(200).send({ dryRun: true, alertRule: alertRuleView(result.value), changes: [], issues: [] });
  if (status === 204) return reply.code(204).send();
  if (status === 201) reply.header('location', `${RULES}/${result.value.id}`);
  return reply.code(status).send(alertRuleView(result.value));
}

/** Registers the alert routes. */
export function alertRoutes(app: FastifyInstance, db: Db): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['alerts'];
  const noRule = (reply: FastifyReply, id: string) => sendProblem(reply, problem('not-found', `alert rule ${id.slice(0, 80)} does not exist`, undefined, reply.request.url));

  api.get(RULES, { schema: { tags, response: { 200: Type.Object({ items: Type.Array(AlertRule) }) } } }, async () => ({
    items: (await listAlertRules(db)).map(alertRuleView),
  }));

  api.post(
    RULES,
    { schema: { tags, body: AlertRuleBody, querystring: DRY_RUN_QUERY, response: { 200: AlertRuleDryRun, 201: AlertRule, ...problemResponses(400, 409) } } },
    async (req, reply) => {
      const rule = checkAlertRule(req.body);
      if (!rule.ok) return sendIssues(reply, rule.issues, req.url);
      return sendRuleWrite(reply, db, isDryRun(req.query), 201, (d) => createAlertRule(d, rule.value));
    },
  );

  api.get(`${RULES}/:id`, { schema: { tags, params: IdPath, response: { 200: AlertRule, ...problemResponses(404) } } }, async (req, reply) => {
    const row = UUID.test(req.params.id) ? await getAlertRule(db, req.params.id) : undefined;
    return row ? alertRuleView(row) : noRule(reply, req.params.id);
  });

  api.put(
    `${RULES}/:id`,
    { schema: { tags, params: IdPath, body: AlertRuleBody, querystring: DRY_RUN_QUERY, response: { 200: Type.Union([AlertRule, AlertRuleDryRun]), ...problemResponses(400, 404, 409) } } },
    async (req, reply) => {
      const { id } = req.params;
      const rule = checkAlertRule(req.body);
      if (!rule.ok) return sendIssues(reply, rule.issues, req.url);
      if (!UUID.test(id)) return noRule(reply, id);
      return sendRuleWrite(reply, db, isDryRun(req.query), 200, (d) => updateAlertRule(d, id, rule.value));
    },
  );

  api.delete(
    `${RULES}/:id`,
    { schema: { tags, params: IdPath, querystring: DRY_RUN_QUERY, response: { 200: AlertRuleDryRun, 204: Type.Null({ description: 'deleted' }), ...problemResponses(404) } } },
    async (req, reply) => {
      const { id } = req.params;
      if (!UUID.test(id)) return noRule(reply, id);
      return sendRuleWrite(reply, db, isDryRun(req.query), 204, (d) => deleteAlertRule(d, id, new Date()));
    },
  );

  api.get(
    ALERTS,
    {
      schema: {
        tags,
        querystring: AlertQuery,
        response: { 200: Type.Object({ items: Type.Array(Alert), truncated: Type.Boolean({ description: 'more alerts match than the limit' }) }), ...problemResponses(400) },
      },
    },
    async (req, reply) => {
      const { state, rule, since, limit = '100' } = req.query;
      const filter: AlertFilter = { state };
      if (rule !== undefined) Object.assign(filter, UUID.test(rule) ? { ruleId: rule } : { ruleName: rule });
      if (since !== undefined) {
        const at = /^\d{4}-\d{2}-\d{2}T/.test(since) ? new Date(since) : new Date(NaN);
        if (Number.isNaN(at.getTime())) return sendIssues(reply, [{ path: 'query.since', message: 'must be an RFC 3339 date-time such as 2025-01-31T12:00:00Z' }], req.url);
        filter.since = at;
      }
      // One more than asked tells whether the list was cut.
      const rows = await listAlerts(db, filter, Number(limit) + 1);
      return { items: rows.slice(0, Number(limit)).map(alertDetail), truncated: rows.length > Number(limit) };
    },
  );

  api.get(`${ALERTS}/:id`, { schema: { tags, params: IdPath, response: { 200: Alert, ...problemResponses(404) } } }, async (req, reply) => {
    const row = UUID.test(req.params.id) ? await getAlert(db, req.params.id) : undefined;
    return row ? alertDetail(row) : sendProblem(reply, problem('not-found', `alert ${req.params.id.slice(0, 80)} does not exist`, undefined, req.url));
  });
}
