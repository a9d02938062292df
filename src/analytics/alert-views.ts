/** How rules and alerts are shown: the same JSON in the API and in the webhooks' payloads. */
import type { AlertRow, AlertRuleRow } from '../registry/schema.ts';

/** A rule as JSON. */
export function alertRuleView(r: AlertRuleRow) {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    kind: r.kind,
    service: r.service,
    params: r.params,
    forMs: r.forMs,
    severity: r.severity,
    webhookUrl: r.webhookUrl,
    enabled: r.enabled,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

/** An alert as JSON, without its webhook deliveries. */
export function alertView(a: AlertRow) {
  return {
    id: a.id,
    ruleId: a.ruleId,
    ruleName: a.ruleName,
    subject: a.subject,
    state: a.state,
    severity: a.severity,
    value: a.value,
    message: a.message,
    startedAt: a.startedAt.toISOString(),
    firedAt: a.firedAt?.toISOString() ?? null,
    resolvedAt: a.resolvedAt?.toISOString() ?? null,
  };
}

/** What a webhook receives: the event, the alert, and its rule (without the webhook URL, which may hold a secret). */
export function webhookPayload(event: 'firing' | 'resolved', alert: AlertRow, rule: AlertRuleRow) {
  const { webhookUrl: _url, ...shown } = alertRuleView(rule);
  return { event, alert: alertView(alert), rule: shown };
}
