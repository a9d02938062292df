/** Request and response schemas of the alert routes: rules (`/api/v1/alert-rules`) and alerts (`/api/v1/alerts`). */
import { Type, type Static } from 'typebox';
import { ALERT_KINDS, MAX_FOR_MS, SEVERITIES } from '../analytics/alert-rules.ts';
import { nullable, stringEnum } from './schema-base.ts';
import { DateTime } from './schemas.ts';

const PARAMS_HELP =
  'by kind: error-rate {threshold (5xx/requests, 0-1), windowMs, minRequests}; latency {percentile (50, 90, 95, 99, 99.9), thresholdMs, windowMs, minRequests}; ' +
  'request-rate {below?, above? (requests/s), windowMs}; endpoint-health {minHealthyRatio (0-1]}; certificate-expiry {withinMs}; nacks {}; ' +
  'ingestion-drops {threshold (entries dropped in the window), windowMs}. windowMs defaults to 300000, minRequests to 10.';

/** A rule as written: POST, and PUT which replaces it whole. */
export const AlertRuleBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 63, description: 'unique; a DNS label' }),
    description: Type.Optional(nullable(Type.String({ maxLength: 1024 }))),
    kind: stringEnum(ALERT_KINDS),
    service: Type.Optional(nullable(Type.String({ description: '<namespace>/<name>: one service; null: every service (service kinds only)' }))),
    params: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: PARAMS_HELP })),
    forMs: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_FOR_MS, description: 'how long the condition must hold before the alert fires (default 0)' })),
    severity: Type.Optional(stringEnum(SEVERITIES, { description: 'default warning' })),
    webhookUrl: Type.Optional(nullable(Type.String({ maxLength: 2048, description: 'http(s) URL POSTed {event, alert, rule} when an alert fires and resolves' }))),
    enabled: Type.Optional(Type.Boolean({ description: 'default true; a disabled rule ends its alerts' })),
  },
  { additionalProperties: false },
);
export type AlertRuleBody = Static<typeof AlertRuleBody>;

export const AlertRule = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  description: nullable(Type.String()),
  kind: stringEnum(ALERT_KINDS),
  service: nullable(Type.String()),
  params: Type.Record(Type.String(), Type.Unknown()),
  forMs: Type.Integer(),
  severity: stringEnum(SEVERITIES),
  webhookUrl: nullable(Type.String()),
  enabled: Type.Boolean(),
  createdAt: DateTime,
  updatedAt: DateTime,
});

export const ALERT_STATES = ['pending', 'firing', 'resolved'] as const;

const Delivery = Type.Object({
  event: stringEnum(['firing', 'resolved'] as const),
  at: DateTime,
  attempt: Type.Integer(),
  status: nullable(Type.Integer({ description: 'the HTTP status answered; null: no answer (network error, timeout)' })),
  ok: Type.Boolean(),
  error: Type.Optional(Type.String()),
});

export const Alert = Type.Object({
  id: Type.String({ format: 'uuid' }),
  ruleId: nullable(Type.String({ description: 'null once the rule is deleted' })),
  ruleName: Type.String(),
  subject: Type.String({ description: 'a service (<namespace>/<name>), a proxy id, a certificate SPIFFE ID or ca/<role>/<id>, or mesh' }),
  state: stringEnum(ALERT_STATES),
  severity: stringEnum(SEVERITIES),
  value: nullable(Type.Number({ description: 'the measured value: a ratio, ms, requests/s, ms left, NACKed types or entries dropped' })),
  message: Type.String(),
  startedAt: DateTime,
  firedAt: nullable(DateTime),
  resolvedAt: nullable(DateTime),
  deliveries: Type.Array(Delivery, { description: 'webhook attempts, oldest first' }),
});

export const AlertQuery = Type.Object(
  {
    state: Type.Optional(stringEnum(ALERT_STATES)),
    rule: Type.Optional(Type.String({ maxLength: 128, description: "a rule's id, or the name it had when the alert started" })),
    since: Type.Optional(Type.String({ maxLength: 64, description: 'only alerts that started, fired or resolved at or after this time (RFC 3339)' })),
    // Query strings are not coerced (the app's ajv), so a number comes as digits.
    limit: Type.Optional(Type.String({ pattern: '^([1-9][0-9]{0,2}|1000)$', description: 'at most this many, newest first (1-1000, default 100)' })),
  },
  { additionalProperties: false },
);

export const IdPath = Type.Object({ id: Type.String() });

/** The 200 of a dry run: the rule as it would be stored; rules change no Envoy resource. */
export const AlertRuleDryRun = Type.Object(
  { dryRun: Type.Literal(true), alertRule: AlertRule, changes: Type.Array(Type.Unknown(), { maxItems: 0 }), issues: Type.Array(Type.Unknown(), { maxItems: 0 }) },
  { description: 'what the write would do; nothing was stored' },
);
