/** Builds `envoy.config.route.v3.RouteMatch` and the matchers inside it (`StringMatcher`, `HeaderMatcher`, `QueryParameterMatcher`). */
import type { HeaderMatch, PathMatch, QueryMatch, RouteMatch, StringMatch } from '../model/traffic.ts';
import type { Plain } from './common.ts';

/**
 * `envoy.type.matcher.v3.RegexMatcher` (RE2). No `google_re2` engine: that field is deprecated since
 * v3.0, RE2 is the only engine, and setting it makes Envoy log a deprecation warning on every load.
 */
export function regexMatcher(regex: string): Plain {
  return { regex };
}

/** `envoy.type.matcher.v3.StringMatcher` for the one form `m` gives; `ignoreCase` only where Envoy honours it (not regex). */
export function stringMatcher(m: StringMatch): Plain {
  const ignoreCase = m.ignoreCase ? { ignoreCase: true } : {};
  if (m.exact !== undefined) return { exact: m.exact, ...ignoreCase };
  if (m.prefix !== undefined) return { prefix: m.prefix, ...ignoreCase };
  if (m.suffix !== undefined) return { suffix: m.suffix, ...ignoreCase };
  if (m.regex !== undefined) return { safeRegex: regexMatcher(m.regex) };
  // No form given: the model validator rejects this; an empty matcher fails the publish gate (PGV oneof required).
  return {};
}

/** True when `m` carries one of the string forms (as opposed to a presence test). */
function hasStringForm(m: StringMatch): boolean {
  return m.exact !== undefined || m.prefix !== undefined || m.suffix !== undefined || m.regex !== undefined;
}

/** The path specifier of a RouteMatch: prefix, exact `path` or `safe_regex`; no path at all means every path. */
function pathSpecifier(path: PathMatch | undefined): Plain {
  if (path?.exact !== undefined) return { path: path.exact };
  if (path?.regex !== undefined) return { safeRegex: regexMatcher(path.regex) };
  return { prefix: path?.prefix ?? '/' };
}

/**
 * `envoy.config.route.v3.HeaderMatcher`. "Absent" is written as an inverted presence test, not
 * `present_match: false`: gRPC clients read every present_match as true, so only the inversion means
 * the same thing to Envoy and to proxyless clients.
 */
export function headerMatcher(h: HeaderMatch): Plain {
  const spec = hasStringForm(h) ? { stringMatch: stringMatcher(h) } : { presentMatch: true };
  const absent = !hasStringForm(h) && h.present === false;
  return absent !== Boolean(h.invert) ? { name: h.name, ...spec, invertMatch: true } : { name: h.name, ...spec };
}

/** `envoy.config.route.v3.QueryParameterMatcher`: a string match, or a presence test when no string form is given. */
export function queryParameterMatcher(q: QueryMatch): Plain {
  return hasStringForm(q) ? { name: q.name, stringMatch: stringMatcher(q) } : { name: q.name, presentMatch: q.present ?? true };
}

/** RE2 metacharacters; HTTP method tokens may contain some of them (`*`, `+`, `.`, `|`, `^`). */
const RE2_SPECIAL = /[\\^$.|?*+()[\]{}]/g;

/** A `:method` header matcher: exact for one method, an anchored alternation for several (sorted, so input order changes nothing). */
export function methodMatcher(methods: string[]): Plain {
  const unique = [...new Set(methods)].sort();
  if (unique.length === 1) return { name: ':method', stringMatch: { exact: unique[0] } };
  const alternation = unique.map((m) => m.replace(RE2_SPECIAL, '\\$&')).join('|');
  return { name: ':method', stringMatch: { safeRegex: regexMatcher(`^(${alternation})$`) } };
}

/** `envoy.config.route.v3.RouteMatch`: path (prefix `/` when absent), case sensitivity, headers, methods and query parameters. */
export function routeMatch(match: RouteMatch): Plain {
  const out: Plain = pathSpecifier(match.path);
  // Envoy ignores case_sensitive for safe_regex, so it is only written where it takes effect.
  if (match.path?.caseSensitive === false && match.path.regex === undefined) out.caseSensitive = { value: false };
  const headers = (match.headers ?? []).map(headerMatcher);
  if (match.methods?.length) headers.push(methodMatcher(match.methods));
  if (headers.length) out.headers = headers;
  if (match.query?.length) out.queryParameters = match.query.map(queryParameterMatcher);
  return out;
}
