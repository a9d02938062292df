/**
 * Alert rules: what is measured (a kind and its parameters), over which service, how long the
 * condition must hold before it fires, and whom to tell. Validation only: no I/O, no clock.
 * Every issue names its field (`body.params.threshold`), and the value returned has every default
 * filled in, so what is stored is what is evaluated.
 */
import { issue, ok, type Issue, type Result } from '../lib/result.ts';
import { isDnsLabel, serviceRefOfKey } from '../model/names.ts';

/** The kinds of rule, as the `alert_rules.kind` column stores them. */
export const ALERT_KINDS = ['error-rate', 'latency', 'request-rate', 'endpoint-health', 'certificate-expiry', 'nacks', 'ingestion-drops'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** How urgent a rule's alerts are (passed on to the webhook; `warning` by default). */
export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The percentiles a latency rule may watch. */
const PERCENTILES = [50, 90, 95, 99, 99.9] as const;

/** Kinds measured per service, which may name one service (the others measure the mesh). */
const SERVICE_KINDS: readonly AlertKind[] = ['error-rate', 'latency', 'request-rate', 'endpoint-health', 'certificate-expiry', 'nacks'];

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** The default window: five minutes of traffic (the rollups are per minute, so a minute at least). */
const DEFAULT_WINDOW_MS = 5 * MINUTE_MS;
/** The longest `forMs` (the column is a 32-bit integer; a week is already long for a condition to hold). */
export const MAX_FOR_MS = 7 * DAY_MS;

export interface ErrorRateParams {
  /** Ratio of 5xx responses over requests above which the condition holds (0..1). */
  threshold: number;
  windowMs: number;
  /** Fewer requests in the window than this: not enough to judge, the condition does not hold. */
  minRequests: number;
}
export interface LatencyParams {
  percentile: (typeof PERCENTILES)[number];
  thresholdMs: number;
  windowMs: number;
  minRequests: number;
}
export interface RequestRateParams {
  /** Requests per second under which the condition holds. */
  below?: number;
  /** Requests per second over which the condition holds. */
  above?: number;
  windowMs: number;
}
export interface EndpointHealthParams {
  /** Healthy endpoints over all endpoints of a service, under which the condition holds. */
  minHealthyRatio: number;
}
export interface CertificateExpiryParams {
  /** Certificates that expire within this long hold the condition. */
  withinMs: number;
}
export type NacksParams = Record<string, never>;
export interface IngestionDropsParams {
  /** Access-log entries dropped in the window above which the condition holds. */
  threshold: number;
  windowMs: number;
}

interface RuleCommon {
  name: string;
  description: string | null;
  /** `<namespace>/<name>`, or null: every service (service kinds) or the mesh. */
  service: string | null;
  forMs: number;
  severity: Severity;
  webhookUrl: string | null;
  enabled: boolean;
}

/** A valid rule, its parameters typed by its kind. */
export type AlertRuleSpec = RuleCommon &
  (
    | { kind: 'error-rate'; params: ErrorRateParams }
    | { kind: 'latency'; params: LatencyParams }
    | { kind: 'request-rate'; params: RequestRateParams }
    | { kind: 'endpoint-health'; params: EndpointHealthParams }
    | { kind: 'certificate-expiry'; params: CertificateExpiryParams }
    | { kind: 'nacks'; params: NacksParams }
    | { kind: 'ingestion-drops'; params: IngestionDropsParams }
  );

/** A stored rule: a valid spec with its id. */
export type AlertRule = AlertRuleSpec & { id: string };

/** Checks one parameter's value; returns why it is wrong, or undefined. */
type Check = (v: unknown) => string | undefined;
interface Field {
  check: Check;
  default?: number;
  optional?: boolean;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const numberIn =
  (min: number, max: number, integer = false): Check =>
  (v) => {
    if (!isNumber(v) || (integer && !Number.isInteger(v))) return `must be ${integer ? 'an integer' : 'a number'}`;
    return v < min || v > max ? `must be between ${min} and ${max}` : undefined;
  };
const above =
  (min: number, max: number): Check =>
  (v) =>
    !isNumber(v) ? 'must be a number' : v <= min || v > max ? `must be greater than ${min} and at most ${max}` : undefined;
const oneOf =
  (values: readonly number[]): Check =>
  (v) =>
    values.includes(v as number) ? undefined : `must be one of ${values.join(', ')}`;

const windowMs: Field = { check: numberIn(MINUTE_MS, DAY_MS, true), default: DEFAULT_WINDOW_MS };
const minRequests: Field = { check: numberIn(0, 1e9, true), default: 10 };
const rps: Field = { check: numberIn(0, 1e9), optional: true };

/** Each kind's parameters, with their checks and defaults. */
const PARAMS: Record<AlertKind, Record<string, Field>> = {
  'error-rate': { threshold: { check: numberIn(0, 1) }, windowMs, minRequests },
  latency: { percentile: { check: oneOf(PERCENTILES) }, thresholdMs: { check: above(0, 3_600_000) }, windowMs, minRequests },
  'request-rate': { below: rps, above: rps, windowMs },
  'endpoint-health': { minHealthyRatio: { check: above(0, 1) } },
  'certificate-expiry': { withinMs: { check: numberIn(MINUTE_MS, 400 * DAY_MS, true) } },
  nacks: {},
  'ingestion-drops': { threshold: { check: numberIn(0, 1e12, true) }, windowMs },
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a kind's parameters against its table; the value has the defaults filled in. */
function checkParams(kind: AlertKind, params: unknown, path: string): { value: Record<string, number>; issues: Issue[] } {
  if (params === undefined) params = {};
  if (!isObject(params)) return { value: {}, issues: [issue(path, 'must be an object')] };
  const fields = PARAMS[kind];
  const issues: Issue[] = [];
  const value: Record<string, number> = {};
  for (const key of Object.keys(params)) if (!(key in fields)) issues.push(issue(`${path}.${key}`, `is not a parameter of ${kind} rules`));
  for (const [key, field] of Object.entries(fields)) {
    const v = params[key] ?? field.default;
    if (v === undefined) {
      if (!field.optional) issues.push(issue(`${path}.${key}`, 'is required'));
      continue;
    }
    const problem = field.check(v);
    if (problem) issues.push(issue(`${path}.${key}`, problem));
    else value[key] = v as number;
  }
  if (kind === 'request-rate' && !issues.length) issues.push(...checkBand(value, path));
  return { value, issues };
}

/** A request-rate rule needs a bound, and a band whose floor is under its ceiling. */
function checkBand(p: Record<string, number>, path: string): Issue[] {
  if (p.below === undefined && p.above === undefined) return [issue(`${path}.below`, 'below or above (requests per second) is required')];
  if (p.below !== undefined && p.above !== undefined && p.below >= p.above) return [issue(`${path}.below`, 'must be less than above')];
  return [];
}

/** Why a webhook URL is refused, or undefined for an absolute http(s) URL. */
function webhookProblem(url: string): string | undefined {
  if (url.length > 2048) return 'must be at most 2048 characters';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an absolute URL';
  }
  return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? undefined : 'must be an http or https URL';
}

/** The string (or null) at `key`, with an issue when it is something else. */
function optionalString(body: Record<string, unknown>, key: string, path: string, issues: Issue[]): string | null {
  const v = body[key];
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  issues.push(issue(`${path}.${key}`, 'must be a string or null'));
  return null;
}

/** Checks the fields every rule has; the kind's parameters are checked apart. */
function checkCommon(body: Record<string, unknown>, kind: AlertKind | undefined, path: string, issues: Issue[]): RuleCommon {
  const name = typeof body.name === 'string' ? body.name : '';
  if (!isDnsLabel(name)) issues.push(issue(`${path}.name`, 'must be a DNS label (lower-case letters, digits and -, 1-63 characters)'));
  const description = optionalString(body, 'description', path, issues);
  if (description !== null && description.length > 1024) issues.push(issue(`${path}.description`, 'must be at most 1024 characters'));
  const service = optionalString(body, 'service', path, issues);
  if (service !== null && !serviceRefOfKey(service)) issues.push(issue(`${path}.service`, 'must be <namespace>/<name> (DNS labels)'));
  if (service !== null && kind && !SERVICE_KINDS.includes(kind)) issues.push(issue(`${path}.service`, `does not apply to ${kind} rules, which watch the mesh`));
  const forMs = body.forMs ?? 0;
  const forProblem = numberIn(0, MAX_FOR_MS, true)(forMs);
  if (forProblem) issues.push(issue(`${path}.forMs`, forProblem));
  const severity = (body.severity ?? 'warning') as Severity;
  if (!SEVERITIES.includes(severity)) issues.push(issue(`${path}.severity`, `must be one of ${SEVERITIES.join(', ')}`));
  const webhookUrl = optionalString(body, 'webhookUrl', path, issues);
  const urlProblem = webhookUrl === null ? undefined : webhookProblem(webhookUrl);
  if (urlProblem) issues.push(issue(`${path}.webhookUrl`, urlProblem));
  const enabled = body.enabled ?? true;
  if (typeof enabled !== 'boolean') issues.push(issue(`${path}.enabled`, 'must be a boolean'));
  return { name, description, service, forMs: forMs as number, severity, webhookUrl, enabled: enabled as boolean };
}

const COMMON_FIELDS = new Set(['name', 'description', 'kind', 'service', 'params', 'forMs', 'severity', 'webhookUrl', 'enabled']);

/** Validates a rule body (`path` prefixes every issue, `body` in the API); the value has every default filled in. */
export function checkAlertRule(body: unknown, path = 'body'): Result<AlertRuleSpec> {
  if (!isObject(body)) return { ok: false, issues: [issue(path, 'must be an object')] };
  const issues: Issue[] = [];
  for (const key of Object.keys(body)) if (!COMMON_FIELDS.has(key)) issues.push(issue(`${path}.${key}`, 'is not a known field'));
  const kind = ALERT_KINDS.includes(body.kind as AlertKind) ? (body.kind as AlertKind) : undefined;
  if (!kind) issues.push(issue(`${path}.kind`, `must be one of ${ALERT_KINDS.join(', ')}`));
  const common = checkCommon(body, kind, path, issues);
  const params = kind ? checkParams(kind, body.params, `${path}.params`) : undefined;
  if (params) issues.push(...params.issues);
  if (issues.length || !kind || !params) return { ok: false, issues };
  return ok({ ...common, kind, params: params.value } as AlertRuleSpec);
}
