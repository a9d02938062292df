/**
 * Decides a request by the authorization policies, as the sidecars' RBAC filters (src/envoy/rbac.ts)
 * would: what `GET /api/v1/authorization/check` answers. Precedence, as Istio's: a matching enforced
 * deny policy denies; otherwise, if enforced allow policies apply to the destination, one of them must
 * match; otherwise the mesh default decides. Shadow policies never change the decision.
 *
 * A condition on something the request does not give does not match: without `headers`, no header
 * condition matches (not even an "absent" or inverted one); without `path` or `method`, no path or
 * method condition does. For a TCP destination the filters see no requests, so `to` is read as
 * rbac.ts writes it: a deny rule denies by its sources alone, an allow rule with `to` matches nothing.
 */
import { RE2JS } from 're2js';
import type { AuthorizationPolicySpec, AuthzAction, AuthzDefault, AuthzRequestMatch, AuthzRule, AuthzSource } from './authz.ts';
import { serviceKeyOf } from './names.ts';
import type { HeaderMatch, StringMatch } from './traffic.ts';

/** A service in a namespace: a caller or a destination. */
export interface AuthzPeer {
  namespace: string;
  service: string;
}

/** What is asked: who calls whom, and (for HTTP) what for. */
export interface AuthzRequest {
  /** The caller's mesh identity; undefined for an unauthenticated (plaintext) caller. */
  source?: AuthzPeer | undefined;
  destination: AuthzPeer;
  /** The request path, query string allowed (it is ignored for path matches). */
  path?: string;
  method?: string;
  /** Request headers by name (any case); absent means "not given", `{}` means "none". */
  headers?: Record<string, string>;
  /** The destination's protocol family; `http` unless told. */
  protocol?: 'http' | 'tcp';
}

/** What a shadow policy would have decided, had it been enforced alongside the enforced ones. */
export interface ShadowOutcome {
  policy: string;
  wouldBe: AuthzAction;
}

/** The decision, why, the policy (`<namespace>/<name>`) that made it, and the shadow policies' outcomes. */
export interface AuthzDecision {
  decision: AuthzAction;
  reason: string;
  policy?: string;
  shadow: ShadowOutcome[];
}

/** True when `policy` speaks for requests to `destination`. */
export function appliesTo(policy: AuthorizationPolicySpec, destination: AuthzPeer): boolean {
  const t = policy.target;
  return t.namespace === destination.namespace && (t.service === undefined || t.service === destination.service);
}

/** True when `value` matches a source pattern: `*` or absent is any, `prefix*` a prefix, else equal. */
export function namePatternMatches(pattern: string | undefined, value: string): boolean {
  if (pattern === undefined || pattern === '*') return true;
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : pattern === value;
}

/** True when `source` (undefined: unauthenticated) is one the pattern names; every pattern needs an identity. */
export function sourceMatches(pattern: AuthzSource, source: AuthzPeer | undefined): boolean {
  return source !== undefined && namePatternMatches(pattern.namespace, source.namespace) && namePatternMatches(pattern.service, source.service);
}

/** True when `rule` matches the request. */
export function ruleMatches(rule: AuthzRule, request: AuthzRequest, action: AuthzAction): boolean {
  const fromOk = rule.from === undefined || rule.from.some((s) => sourceMatches(s, request.source));
  if (!fromOk || rule.to === undefined) return fromOk;
  if (request.protocol === 'tcp') return action === 'deny';
  return toMatches(rule.to, request);
}

/** True when an HTTP request matches `to`: one of the paths, one of the methods, every header match. */
export function toMatches(to: AuthzRequestMatch, request: AuthzRequest): boolean {
  const path = request.path?.replace(/[?#].*$/s, '');
  if (to.paths && (path === undefined || !to.paths.some((p) => pathMatches(p, path)))) return false;
  if (to.methods && (request.method === undefined || !to.methods.includes(request.method))) return false;
  return (to.headers ?? []).every((h) => headerMatches(h, request));
}

/** `/exact`, `/prefix*` or `*suffix`, as Envoy's url_path compares them. */
function pathMatches(pattern: string, path: string): boolean {
  if (pattern.startsWith('*')) return path.endsWith(pattern.slice(1));
  if (pattern.endsWith('*')) return path.startsWith(pattern.slice(0, -1));
  return pattern === path;
}

/** A header's value, pseudo-headers taken from the request's path and method; undefined when absent. */
function headerValue(name: string, request: AuthzRequest, headers: Record<string, string>): string | undefined {
  if (name === ':path') return request.path;
  if (name === ':method') return request.method;
  if (name === ':authority') return headers[':authority'] ?? headers.host;
  return headers[name];
}

/** Envoy's HeaderMatcher: an absent header matches only an inverted string match or an "absent" test. */
function headerMatches(h: HeaderMatch, request: AuthzRequest): boolean {
  if (request.headers === undefined) return false;
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const value = headerValue(h.name, request, headers);
  const hasForm = h.exact !== undefined || h.prefix !== undefined || h.suffix !== undefined || h.regex !== undefined;
  if (!hasForm) return ((value !== undefined) === (h.present !== false)) !== Boolean(h.invert);
  if (value === undefined) return Boolean(h.invert);
  return stringMatches(h, value) !== Boolean(h.invert);
}

/** Envoy's StringMatcher; a regex must match the whole value (RE2). */
export function stringMatches(m: StringMatch, value: string): boolean {
  const fold = (s: string): string => (m.ignoreCase ? s.toLowerCase() : s);
  if (m.exact !== undefined) return fold(value) === fold(m.exact);
  if (m.prefix !== undefined) return fold(value).startsWith(fold(m.prefix));
  if (m.suffix !== undefined) return fold(value).endsWith(fold(m.suffix));
  if (m.regex === undefined) return false;
  try {
    return RE2JS.matches(m.regex, value);
  } catch {
    return false; // validation rejects such a pattern; Envoy would not load it
  }
}

/** The index of the first rule of `policy` that matches, or -1. */
function matchingRule(policy: AuthorizationPolicySpec, request: AuthzRequest): number {
  return policy.rules.findIndex((r) => ruleMatches(r, request, policy.action));
}

const byKey = (a: AuthorizationPolicySpec, b: AuthorizationPolicySpec): number => {
  const [x, y] = [serviceKeyOf(a), serviceKeyOf(b)];
  return x < y ? -1 : x > y ? 1 : 0;
};

/** The enforced decision of `policies` (all applying to the destination, all read as enforced). */
function enforce(policies: AuthorizationPolicySpec[], request: AuthzRequest, meshDefault: AuthzDefault): Omit<AuthzDecision, 'shadow'> {
  const sorted = [...policies].sort(byKey);
  const unauthenticated = request.source === undefined ? ' (the caller is unauthenticated)' : '';
  for (const p of sorted.filter((x) => x.action === 'deny')) {
    const i = matchingRule(p, request);
    if (i >= 0) return { decision: 'deny', reason: `denied by deny policy ${serviceKeyOf(p)} (rules[${i}])`, policy: serviceKeyOf(p) };
  }
  const allows = sorted.filter((x) => x.action === 'allow');
  for (const p of allows) {
    const i = matchingRule(p, request);
    if (i >= 0) return { decision: 'allow', reason: `allowed by allow policy ${serviceKeyOf(p)} (rules[${i}])`, policy: serviceKeyOf(p) };
  }
  const dest = `${request.destination.namespace}/${request.destination.service}`;
  const n = allows.length === 1 ? '1 allow policy applies' : `${allows.length} allow policies apply`;
  if (allows.length > 0) return { decision: 'deny', reason: `no allow policy matches; ${n} to ${dest}${unauthenticated}` };
  return { decision: meshDefault, reason: `no policy applies to ${dest}; the mesh default is ${meshDefault}` };
}

/**
 * The decision for `request`. Each shadow policy that applies is reported with what the decision
 * would have been had it alone been switched to enforce (sorted by name); it never changes the decision.
 */
export function decide(policies: readonly AuthorizationPolicySpec[], request: AuthzRequest, meshDefault: AuthzDefault): AuthzDecision {
  const applying = policies.filter((p) => appliesTo(p, request.destination));
  const enforced = applying.filter((p) => p.mode === 'enforce');
  const shadow = applying
    .filter((p) => p.mode === 'shadow')
    .sort(byKey)
    .map((p) => ({ policy: serviceKeyOf(p), wouldBe: enforce([...enforced, { ...p, mode: 'enforce' }], request, meshDefault).decision }));
  return { ...enforce(enforced, request, meshDefault), shadow };
}
