/**
 * Authorization in the domain model: policies that allow or deny requests to a service by who sends
 * them (source identity: service and namespace, with `*` wildcards) and, for HTTP, what they ask for
 * (paths, methods, headers). Plain data as the API stores it; evaluation and validation beside it.
 *
 * Precedence, as Istio's: a matching `deny` policy denies; otherwise, if any `allow` policy applies
 * to the destination, the request must match one of them; otherwise the mesh default decides.
 * Policies in `shadow` mode never change the outcome: they are evaluated and logged only.
 */
import type { ServiceRef } from './names.ts';
import type { HeaderMatch } from './traffic.ts';

export type AuthzAction = 'allow' | 'deny';
export type AuthzMode = 'enforce' | 'shadow';
/** What happens to a request no policy speaks for. */
export type AuthzDefault = 'allow' | 'deny';

/**
 * A caller: a service in a namespace; `*` or absent means any, `prefix*` a prefix. It matches only a
 * caller with a mesh identity (an mTLS certificate): an unauthenticated caller matches no source.
 */
export interface AuthzSource {
  namespace?: string;
  service?: string;
}

/**
 * What an HTTP request asks for; every part given must match: one of the paths, one of the methods,
 * and every header match. TCP services have no requests to look into (see src/envoy/rbac.ts).
 */
export interface AuthzRequestMatch {
  /** Exact paths, or `prefix*` / `*suffix` forms; matched without the query string. */
  paths?: string[];
  /** Upper-case HTTP methods, matched exactly. */
  methods?: string[];
  headers?: HeaderMatch[];
}

/** One rule: from any of `from` (any caller when absent) and, when given, a request matching `to`. */
export interface AuthzRule {
  from?: AuthzSource[];
  to?: AuthzRequestMatch;
}

/** A policy: for requests to `target`, `action` when any rule matches. */
export interface AuthorizationPolicySpec extends ServiceRef {
  /** The destination: one service of a namespace, or every service of it when `service` is absent. */
  target: { namespace: string; service?: string };
  action: AuthzAction;
  /** A policy with no rules matches nothing (an allow policy with none allows nothing). */
  rules: AuthzRule[];
  mode: AuthzMode;
}
