/**
 * Semantic checks of authorization policies: names, wildcard forms, request matches and list bounds.
 * Policies may come from JSON, so shapes are checked too: a wrong type is an issue, never a throw.
 * Each issue names its field below `path`, e.g. `body.rules[0].from[1].service`.
 */
import { issue, type Issue } from '../lib/result.ts';
import type { AuthorizationPolicySpec } from './authz.ts';
import { checkDnsLabel } from './specs.ts';
import { checkMatchHeaderName, checkStringMatch } from './traffic-validate.ts';
import type { HeaderMatch } from './traffic.ts';

/** Bounds that keep one policy's Envoy config (one RBAC policy per rule) small. */
export const MAX_AUTHZ_RULES = 64;
export const MAX_AUTHZ_SOURCES = 64;
/** Most paths, methods or header matches in one rule's `to`. */
export const MAX_AUTHZ_VALUES = 64;
const MAX_PATH_LENGTH = 1024;

/** RFC 9110 token (a method); `checkMatchHeaderName` holds the header rules. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** The start of a DNS label followed by `*`: `team-*` matches `team-a`, `team-b`, ... */
const LABEL_PREFIX_WILDCARD = /^[a-z0-9][-a-z0-9]{0,61}\*$/;

const ACTIONS = ['allow', 'deny'];
const MODES = ['enforce', 'shadow'];

type Obj = Record<string, unknown>;

const at = (base: string, key: string | number): string => (typeof key === 'number' ? `${base}[${key}]` : `${base}.${key}`);
const quote = (s: string): string => `"${s.slice(0, 80)}"`;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Issues for the policy's own namespace and name, its target, action, mode and rules. */
export function checkAuthorizationPolicy(spec: AuthorizationPolicySpec, path = 'body'): Issue[] {
  const raw: unknown = spec;
  if (!isObject(raw)) return [issue(path, 'must be an object')];
  const out: Issue[] = [];
  label(out, raw.namespace, at(path, 'namespace'));
  label(out, raw.name, at(path, 'name'));
  checkTarget(out, raw.target, at(path, 'target'));
  oneOf(out, raw.action, ACTIONS, at(path, 'action'));
  oneOf(out, raw.mode, MODES, at(path, 'mode'));
  // An empty list is allowed: it matches nothing (an allow policy with no rules allows nothing).
  const rules = list(out, raw.rules, at(path, 'rules'), MAX_AUTHZ_RULES, true);
  rules?.forEach((rule, i) => checkRule(out, rule, at(at(path, 'rules'), i)));
  return out;
}

function label(out: Issue[], v: unknown, path: string): void {
  if (typeof v !== 'string') out.push(issue(path, 'must be a string'));
  else out.push(...checkDnsLabel(v, path));
}

function oneOf(out: Issue[], v: unknown, allowed: string[], path: string): void {
  if (typeof v !== 'string' || !allowed.includes(v)) out.push(issue(path, `must be one of ${allowed.join(', ')}`));
}

/** The items of a list with at most `max` items, or undefined (with an issue) when it is not one. */
function list(out: Issue[], v: unknown, path: string, max: number, emptyOk = false): unknown[] | undefined {
  if (!Array.isArray(v)) return void out.push(issue(path, 'must be a list'));
  if (v.length === 0 && !emptyOk) out.push(issue(path, 'must not be empty (leave it out to match anything)'));
  if (v.length > max) out.push(issue(path, `has ${v.length} items; at most ${max} are allowed`));
  return v;
}

function checkTarget(out: Issue[], v: unknown, path: string): void {
  if (!isObject(v)) return void out.push(issue(path, 'must be an object with namespace and, optionally, service'));
  label(out, v.namespace, at(path, 'namespace'));
  if (v.service !== undefined) label(out, v.service, at(path, 'service'));
}

function checkRule(out: Issue[], rule: unknown, path: string): void {
  if (!isObject(rule)) return void out.push(issue(path, 'must be an object'));
  if (rule.from !== undefined) {
    list(out, rule.from, at(path, 'from'), MAX_AUTHZ_SOURCES)?.forEach((s, i) => checkSource(out, s, at(at(path, 'from'), i)));
  }
  if (rule.to !== undefined) checkTo(out, rule.to, at(path, 'to'));
}

function checkSource(out: Issue[], s: unknown, path: string): void {
  if (!isObject(s) || (s.namespace === undefined && s.service === undefined)) {
    return void out.push(issue(path, 'must name a namespace or a service (use namespace "*" for any authenticated caller)'));
  }
  for (const key of ['namespace', 'service'] as const) {
    const v = s[key];
    if (v === undefined) continue;
    const p = at(path, key);
    if (typeof v !== 'string') out.push(issue(p, 'must be a string'));
    else if (v !== '*' && !LABEL_PREFIX_WILDCARD.test(v) && checkDnsLabel(v, p).length > 0) {
      out.push(issue(p, `${quote(v)} is not a DNS label, "*" or a prefix wildcard such as "team-*"`));
    }
  }
}

function checkTo(out: Issue[], to: unknown, path: string): void {
  if (!isObject(to)) return void out.push(issue(path, 'must be an object'));
  if (to.paths === undefined && to.methods === undefined && to.headers === undefined) {
    return void out.push(issue(path, 'names no paths, methods or headers (leave it out to match every request)'));
  }
  if (to.paths !== undefined) strings(out, to.paths, at(path, 'paths'), checkAuthzPath);
  if (to.methods !== undefined) strings(out, to.methods, at(path, 'methods'), checkMethod);
  if (to.headers !== undefined) {
    list(out, to.headers, at(path, 'headers'), MAX_AUTHZ_VALUES)?.forEach((h, i) => checkHeader(out, h, at(at(path, 'headers'), i)));
  }
}

/** A list of distinct strings, each checked by `check`. */
function strings(out: Issue[], v: unknown, path: string, check: (s: string, p: string) => Issue[]): void {
  const seen = new Map<string, number>();
  list(out, v, path, MAX_AUTHZ_VALUES)?.forEach((s, i) => {
    const p = at(path, i);
    if (typeof s !== 'string') return void out.push(issue(p, 'must be a string'));
    out.push(...check(s, p));
    const first = seen.get(s);
    if (first !== undefined) out.push(issue(p, `repeats ${path}[${first}] (${quote(s)})`));
    else seen.set(s, i);
  });
}

/** Issues for a path: `/exact`, `/prefix*` or `*suffix`, with no query string. */
export function checkAuthzPath(p: string, path: string): Issue[] {
  const form = 'an exact path starting with "/", a "/prefix*" or a "*suffix"';
  if (p === '*') return [issue(path, 'matches every path; leave paths out instead')];
  if (p.length > MAX_PATH_LENGTH) return [issue(path, `is longer than ${MAX_PATH_LENGTH} characters`)];
  // Envoy's url_path and gRPC's :path are plain text: no spaces or control characters.
  if (/[\s\0-\x1f\x7f]/.test(p)) return [issue(path, 'must not contain spaces or control characters')];
  if (/[?#]/.test(p)) return [issue(path, `${quote(p)} has "?" or "#": paths are matched without the query string`)];
  const body = p.startsWith('*') ? p.slice(1) : p.endsWith('*') ? p.slice(0, -1) : p;
  if (body.includes('*')) return [issue(path, `${quote(p)} has "*" in the middle; it must be ${form}`)];
  if (!p.startsWith('*') && !p.startsWith('/')) return [issue(path, `${quote(p)} must be ${form}`)];
  return [];
}

function checkMethod(m: string, path: string): Issue[] {
  if (!TOKEN.test(m)) return [issue(path, `${quote(m)} is not a valid HTTP method`)];
  // Methods are case-sensitive (RFC 9110 §9.1) and every standard one is upper-case.
  return m === m.toUpperCase() ? [] : [issue(path, `${quote(m)} must be upper-case (${m.toUpperCase()})`)];
}

function checkHeader(out: Issue[], h: unknown, path: string): void {
  if (!isObject(h) || typeof h.name !== 'string') return void out.push(issue(at(path, 'name'), 'must be a string'));
  const m = h as unknown as HeaderMatch;
  out.push(...checkMatchHeaderName(m.name, at(path, 'name')), ...checkStringMatch(m, path, true));
}
