/**
 * Builds the RBAC filters of a service's inbound listener from the authorization policies that target
 * it: `envoy.filters.http.rbac` (`envoy.extensions.filters.http.rbac.v3.RBAC`) before the router for
 * HTTP, `envoy.filters.network.rbac` (`envoy.extensions.filters.network.rbac.v3.RBAC`) before
 * tcp_proxy for TCP. src/model/authz-eval.ts decides requests the same way; keep the two in step.
 *
 * One RBAC filter has one action, so the precedence takes two filters, in this order:
 * - `<filter>.deny`: action DENY with the enforced deny policies (a match is a 403 / a closed connection);
 * - `<filter>.allow`: action ALLOW with the enforced allow policies, so a request none of them matches
 *   is denied. With no allow policy it enforces the mesh default: ALLOW with no policies denies all,
 *   and for a default of allow the filter is left out (or, to carry shadow rules, is DENY with none).
 * Shadow policies go into `shadow_rules` of the filter of their action, together with that filter's
 * enforced policies, so the shadow result is what the filter would decide had they been enforced.
 * `shadow_rules_stat_prefix` (`deny.` / `allow.`) keeps the two filters' shadow stats and dynamic
 * metadata (`<prefix>shadow_effective_policy_id`, `<prefix>shadow_engine_result`) apart.
 *
 * Sources are mTLS identities: `authenticated.principal_name` against the caller's SPIFFE URI SAN
 * `spiffe://<trust domain>/ns/<namespace>/sa/<service>`: exact, or for wildcards one anchored RE2
 * regex with `[^/]` segments, so that a certificate with extra path segments or several URI SANs can
 * never satisfy a pattern piecewise. Behind the `^literal` prefix, which RE2 matches before running
 * the program, the regex stays well under Envoy's program-size limit.
 *
 * TCP has no requests: a rule's `to` cannot be checked. The safer reading is taken: a deny rule with
 * `to` denies its sources' connections outright (over-deny), an allow rule with `to` is left out
 * (under-allow). Validation cannot flag this, since a policy does not know its target's protocol.
 *
 * Proxyless gRPC servers (gRFC A41; @grpc/grpc-js-xds 1.14 with GRPC_XDS_EXPERIMENTAL_RBAC=true) read
 * only `rules` (which must be present, hence DENY-with-none rather than no rules), refuse action LOG
 * and duplicate filter names (hence `.deny` / `.allow`), and ignore the shadow and stat-prefix fields.
 * The filters are not optional: a server that cannot enforce them must refuse the listener, not
 * serve without authorization.
 */
import type { AuthorizationPolicySpec, AuthzAction, AuthzDefault, AuthzRequestMatch, AuthzRule, AuthzSource } from '../model/authz.ts';
import { appliesTo } from '../model/authz-eval.ts';
import { serviceKeyOf, type ServiceRef } from '../model/names.ts';
import { typed, type Plain } from './common.ts';
import { headerMatcher, regexMatcher } from './route-match.ts';

export const HTTP_RBAC_FILTER = 'envoy.filters.http.rbac';
export const NETWORK_RBAC_FILTER = 'envoy.filters.network.rbac';
export const HTTP_RBAC_TYPE = 'envoy.extensions.filters.http.rbac.v3.RBAC';
export const NETWORK_RBAC_TYPE = 'envoy.extensions.filters.network.rbac.v3.RBAC';

export type RbacProtocol = 'http' | 'tcp';
type Kind = 'deny' | 'allow';

/** One RBAC filter to build: enforced action and policies, and the shadow policies when there are any. */
export interface RbacFilterPlan {
  kind: Kind;
  action: 'ALLOW' | 'DENY';
  enforced: AuthorizationPolicySpec[];
  shadow?: AuthorizationPolicySpec[];
}

const RE2_SPECIAL = /[\\^$.|?*+()[\]{}]/g;
const escapeRe2 = (s: string): string => s.replace(RE2_SPECIAL, '\\$&');

/** The mesh identity of a service: `spiffe://<trust domain>/ns/<namespace>/sa/<service>` (src/ca/spiffe.ts issues it). */
export function spiffeUri(trustDomain: string, namespace: string, service: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${service}`;
}

/** An RE2 piece for one name pattern: `*` any segment, `prefix*` a segment starting so, else the name. */
function segmentRegex(pattern: string): string {
  if (pattern === '*') return '[^/]+';
  return pattern.endsWith('*') ? `${escapeRe2(pattern.slice(0, -1))}[^/]*` : escapeRe2(pattern);
}

/** `envoy.config.rbac.v3.Principal` for one source: its SPIFFE ID, exact or an anchored regex for wildcards. */
export function sourcePrincipal(source: AuthzSource, trustDomain: string): Plain {
  const ns = source.namespace ?? '*';
  const svc = source.service ?? '*';
  if (!ns.includes('*') && !svc.includes('*')) return { authenticated: { principalName: { exact: spiffeUri(trustDomain, ns, svc) } } };
  const regex = `^${escapeRe2(`spiffe://${trustDomain}/ns/`)}${segmentRegex(ns)}/sa/${segmentRegex(svc)}$`;
  return { authenticated: { principalName: { safeRegex: regexMatcher(regex) } } };
}

/** `envoy.type.matcher.v3.StringMatcher` for a path pattern: `*suffix`, `/prefix*` or exact. */
function pathMatcher(p: string): Plain {
  if (p === '*') return { prefix: '/' };
  if (p.startsWith('*')) return { suffix: p.slice(1) };
  return p.endsWith('*') ? { prefix: p.slice(0, -1) } : { exact: p };
}

const anyOf = (rules: Plain[]): Plain => (rules.length === 1 ? rules[0]! : { orRules: { rules } });

/**
 * `envoy.config.rbac.v3.Permission` for an HTTP request match: one of the paths (url_path, without
 * the query string), one of the methods (`:method`), every header; undefined when an empty list
 * makes it match nothing.
 */
export function requestPermission(to: AuthzRequestMatch | undefined): Plain | undefined {
  if (to === undefined) return { any: true };
  if (to.paths?.length === 0 || to.methods?.length === 0) return undefined;
  const parts: Plain[] = [];
  if (to.paths) parts.push(anyOf(to.paths.map((p) => ({ urlPath: { path: pathMatcher(p) } }))));
  if (to.methods) parts.push(anyOf(to.methods.map((m) => ({ header: { name: ':method', stringMatch: { exact: m } } }))));
  for (const h of to.headers ?? []) parts.push({ header: headerMatcher(h) });
  if (parts.length === 0) return { any: true };
  return parts.length === 1 ? parts[0]! : { andRules: { rules: parts } };
}

/** `envoy.config.rbac.v3.Policy` for one rule, or undefined when the rule matches nothing here. */
export function rulePolicy(rule: AuthzRule, action: AuthzAction, trustDomain: string, protocol: RbacProtocol): Plain | undefined {
  const principals = rule.from === undefined ? [{ any: true }] : rule.from.map((s) => sourcePrincipal(s, trustDomain));
  if (principals.length === 0) return undefined;
  let permission: Plain | undefined;
  if (protocol === 'http') permission = requestPermission(rule.to);
  else if (rule.to === undefined || action === 'deny') permission = { any: true };
  return permission && { permissions: [permission], principals };
}

const byKey = (a: AuthorizationPolicySpec, b: AuthorizationPolicySpec): number => {
  const [x, y] = [serviceKeyOf(a), serviceKeyOf(b)];
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * `envoy.config.rbac.v3.RBAC`: one Envoy policy per rule, named `<namespace>/<name>` (with `[<i>]`
 * when the policy has several rules), inserted sorted so that equal inputs encode to equal bytes.
 */
export function rbacRules(action: 'ALLOW' | 'DENY', policies: readonly AuthorizationPolicySpec[], trustDomain: string, protocol: RbacProtocol): Plain {
  const map: Record<string, Plain> = {};
  for (const p of [...policies].sort(byKey)) {
    p.rules.forEach((rule, i) => {
      const built = rulePolicy(rule, p.action, trustDomain, protocol);
      if (built) map[p.rules.length === 1 ? serviceKeyOf(p) : `${serviceKeyOf(p)}[${i}]`] = built;
    });
  }
  return Object.keys(map).length > 0 ? { action, policies: map } : { action };
}

/** The RBAC filters `destination` needs, deny before allow; none when nothing applies and the default is allow. */
export function rbacFilterPlans(policies: readonly AuthorizationPolicySpec[], destination: ServiceRef, meshDefault: AuthzDefault): RbacFilterPlan[] {
  const applying = policies.filter((p) => appliesTo(p, { namespace: destination.namespace, service: destination.name }));
  const pick = (action: AuthzAction, mode: 'enforce' | 'shadow') => applying.filter((p) => p.action === action && p.mode === mode);
  const [deny, shadowDeny, allow, shadowAllow] = [pick('deny', 'enforce'), pick('deny', 'shadow'), pick('allow', 'enforce'), pick('allow', 'shadow')];
  const out: RbacFilterPlan[] = [];
  if (deny.length > 0 || shadowDeny.length > 0) {
    out.push({ kind: 'deny', action: 'DENY', enforced: deny, ...(shadowDeny.length > 0 ? { shadow: [...deny, ...shadowDeny] } : {}) });
  }
  if (allow.length > 0 || shadowAllow.length > 0 || meshDefault === 'deny') {
    // No allow policy and a default of allow: the filter is here for its shadow rules only, and DENY with no policies denies nothing.
    const action = allow.length === 0 && meshDefault === 'allow' ? 'DENY' : 'ALLOW';
    out.push({ kind: 'allow', action, enforced: allow, ...(shadowAllow.length > 0 ? { shadow: [...allow, ...shadowAllow] } : {}) });
  }
  return out;
}

/** The RBAC config fields both filters share: rules, and shadow rules with their prefix when there are any. */
function rbacConfig(plan: RbacFilterPlan, trustDomain: string, protocol: RbacProtocol): Plain {
  const config: Plain = { rules: rbacRules(plan.action, plan.enforced, trustDomain, protocol) };
  if (!plan.shadow) return config;
  const shadowAction = plan.kind === 'deny' ? 'DENY' : 'ALLOW';
  return { ...config, shadowRules: rbacRules(shadowAction, plan.shadow, trustDomain, protocol), shadowRulesStatPrefix: `${plan.kind}.` };
}

/**
 * HttpFilters `envoy.filters.http.rbac.deny` / `.allow` for the inbound HTTP connection manager of
 * `destination`'s sidecars, to go before the router; `[]` when no policy applies and the default is
 * allow. Stats: `http.<hcm prefix>.rbac.deny.denied`, `...rbac.allow.allowed` and so on.
 */
export function inboundHttpRbacFilters(
  policies: readonly AuthorizationPolicySpec[],
  destination: ServiceRef,
  trustDomain: string,
  meshDefault: AuthzDefault,
): Plain[] {
  return rbacFilterPlans(policies, destination, meshDefault).map((plan) => ({
    name: `${HTTP_RBAC_FILTER}.${plan.kind}`,
    typedConfig: typed(HTTP_RBAC_TYPE, { ...rbacConfig(plan, trustDomain, 'http'), rulesStatPrefix: `${plan.kind}.` }),
  }));
}

/**
 * Network Filters `envoy.filters.network.rbac.deny` / `.allow` for the inbound filter chain of a TCP
 * service, to go before tcp_proxy; principals only (see the header on `to`). Each filter's stat
 * prefix is `<statPrefix>.deny` or `<statPrefix>.allow`.
 */
export function inboundNetworkRbacFilters(
  policies: readonly AuthorizationPolicySpec[],
  destination: ServiceRef,
  trustDomain: string,
  meshDefault: AuthzDefault,
  statPrefix: string,
): Plain[] {
  return rbacFilterPlans(policies, destination, meshDefault).map((plan) => ({
    name: `${NETWORK_RBAC_FILTER}.${plan.kind}`,
    typedConfig: typed(NETWORK_RBAC_TYPE, { ...rbacConfig(plan, trustDomain, 'tcp'), statPrefix: `${statPrefix}.${plan.kind}` }),
  }));
}
