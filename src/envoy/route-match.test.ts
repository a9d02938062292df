import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import type { HeaderMatch, QueryMatch, RouteMatch, StringMatch } from '../model/traffic.ts';
import { messageType } from '../protos/loader.ts';
import { validateMessage } from '../protos/validate.ts';
import { expectValidEnvoy } from '../../test/support/envoy.ts';
import type { Plain } from './common.ts';
import { headerMatcher, methodMatcher, queryParameterMatcher, routeMatch, stringMatcher } from './route-match.ts';

describe('stringMatcher', () => {
  const cases: { name: string; m: StringMatch; want: Plain }[] = [
    { name: 'exact', m: { exact: 'v2' }, want: { exact: 'v2' } },
    { name: 'exact empty string (matches an empty value)', m: { exact: '' }, want: { exact: '' } },
    { name: 'prefix', m: { prefix: 'Bearer ' }, want: { prefix: 'Bearer ' } },
    { name: 'suffix, ignoring case', m: { suffix: '.example.com', ignoreCase: true }, want: { suffix: '.example.com', ignoreCase: true } },
    { name: 'exact, ignoring case', m: { exact: 'Beta', ignoreCase: true }, want: { exact: 'Beta', ignoreCase: true } },
    { name: 'ignoreCase false is the default, left out', m: { prefix: 'a', ignoreCase: false }, want: { prefix: 'a' } },
    { name: 'regex as RE2 safe_regex, no deprecated engine field', m: { regex: '^v[0-9]+$' }, want: { safeRegex: { regex: '^v[0-9]+$' } } },
    { name: 'regex drops ignoreCase (Envoy ignores it there)', m: { regex: 'a.*', ignoreCase: true }, want: { safeRegex: { regex: 'a.*' } } },
  ];
  it.each(cases)('$name', ({ m, want }) => {
    const got = stringMatcher(m);
    expect(got).toStrictEqual(want);
    expectValidEnvoy('envoy.type.matcher.v3.StringMatcher', got);
  });

  it('gives an empty matcher for no form, which the publish gate refuses', () => {
    expect(stringMatcher({})).toStrictEqual({});
    expect(validateMessage(messageType('envoy.type.matcher.v3.StringMatcher'), {})).not.toEqual([]);
  });
});

describe('headerMatcher', () => {
  const cases: { name: string; h: HeaderMatch; want: Plain }[] = [
    { name: 'exact', h: { name: 'x-version', exact: 'v2' }, want: { name: 'x-version', stringMatch: { exact: 'v2' } } },
    {
      name: 'prefix ignoring case',
      h: { name: 'user-agent', prefix: 'mozilla', ignoreCase: true },
      want: { name: 'user-agent', stringMatch: { prefix: 'mozilla', ignoreCase: true } },
    },
    { name: 'regex', h: { name: 'x-user', regex: 'u-[0-9]+' }, want: { name: 'x-user', stringMatch: { safeRegex: { regex: 'u-[0-9]+' } } } },
    { name: 'present', h: { name: 'x-debug', present: true }, want: { name: 'x-debug', presentMatch: true } },
    { name: 'a name alone means present', h: { name: 'x-debug' }, want: { name: 'x-debug', presentMatch: true } },
    {
      // gRPC clients read present_match: false as true; an inverted presence test means "absent" to both
      name: 'absent is an inverted presence test',
      h: { name: 'x-debug', present: false },
      want: { name: 'x-debug', presentMatch: true, invertMatch: true },
    },
    {
      name: 'inverted absent is present',
      h: { name: 'x-debug', present: false, invert: true },
      want: { name: 'x-debug', presentMatch: true },
    },
    {
      name: 'inverted string match',
      h: { name: 'x-env', exact: 'prod', invert: true },
      want: { name: 'x-env', stringMatch: { exact: 'prod' }, invertMatch: true },
    },
    { name: 'invert false is the default, left out', h: { name: 'x-env', suffix: 'd', invert: false }, want: { name: 'x-env', stringMatch: { suffix: 'd' } } },
  ];
  it.each(cases)('$name', ({ h, want }) => {
    const got = headerMatcher(h);
    expect(got).toStrictEqual(want);
    expectValidEnvoy('envoy.config.route.v3.HeaderMatcher', got);
  });
});

describe('queryParameterMatcher', () => {
  const cases: { name: string; q: QueryMatch; want: Plain }[] = [
    { name: 'exact', q: { name: 'debug', exact: '1' }, want: { name: 'debug', stringMatch: { exact: '1' } } },
    { name: 'regex', q: { name: 'id', regex: '[0-9]+' }, want: { name: 'id', stringMatch: { safeRegex: { regex: '[0-9]+' } } } },
    { name: 'prefix ignoring case', q: { name: 'q', prefix: 'ab', ignoreCase: true }, want: { name: 'q', stringMatch: { prefix: 'ab', ignoreCase: true } } },
    { name: 'present', q: { name: 'trace', present: true }, want: { name: 'trace', presentMatch: true } },
    { name: 'a name alone means present', q: { name: 'trace' }, want: { name: 'trace', presentMatch: true } },
    // Envoy's own meaning of present_match: false (this matcher has no inversion)
    { name: 'present false is passed on as is', q: { name: 'trace', present: false }, want: { name: 'trace', presentMatch: false } },
  ];
  it.each(cases)('$name', ({ q, want }) => {
    const got = queryParameterMatcher(q);
    expect(got).toStrictEqual(want);
    expectValidEnvoy('envoy.config.route.v3.QueryParameterMatcher', got);
  });
});

describe('methodMatcher', () => {
  const cases: { name: string; methods: string[]; want: Plain }[] = [
    { name: 'one method: exact', methods: ['GET'], want: { name: ':method', stringMatch: { exact: 'GET' } } },
    { name: 'a repeated method is still one', methods: ['GET', 'GET'], want: { name: ':method', stringMatch: { exact: 'GET' } } },
    {
      name: 'several: an anchored alternation, sorted',
      methods: ['POST', 'GET'],
      want: { name: ':method', stringMatch: { safeRegex: { regex: '^(GET|POST)$' } } },
    },
    {
      name: 'regex characters in a method token are escaped',
      methods: ['M.SEARCH', 'A+B'],
      want: { name: ':method', stringMatch: { safeRegex: { regex: '^(A\\+B|M\\.SEARCH)$' } } },
    },
  ];
  it.each(cases)('$name', ({ methods, want }) => {
    const got = methodMatcher(methods);
    expect(got).toStrictEqual(want);
    expectValidEnvoy('envoy.config.route.v3.HeaderMatcher', got);
  });

  it('the alternation matches exactly the listed methods (RE2)', () => {
    const { stringMatch } = methodMatcher(['GET', 'POST', 'M.SEARCH']) as { stringMatch: { safeRegex: { regex: string } } };
    const re = RE2JS.compile(stringMatch.safeRegex.regex);
    for (const m of ['GET', 'POST', 'M.SEARCH']) expect(re.matches(m), m).toBe(true);
    for (const m of ['GETX', 'XGET', 'get', 'PUT', 'MXSEARCH', '']) expect(re.matches(m), m).toBe(false);
  });
});

describe('routeMatch', () => {
  const cases: { name: string; match: RouteMatch; want: Plain }[] = [
    { name: 'no path: every path', match: {}, want: { prefix: '/' } },
    { name: 'an empty path: every path', match: { path: {} }, want: { prefix: '/' } },
    { name: 'prefix', match: { path: { prefix: '/api/' } }, want: { prefix: '/api/' } },
    { name: 'exact path', match: { path: { exact: '/healthz' } }, want: { path: '/healthz' } },
    { name: 'regex path', match: { path: { regex: '/users/[0-9]+' } }, want: { safeRegex: { regex: '/users/[0-9]+' } } },
    {
      name: 'case-insensitive prefix',
      match: { path: { prefix: '/API', caseSensitive: false } },
      want: { prefix: '/API', caseSensitive: { value: false } },
    },
    { name: 'case-insensitive exact path', match: { path: { exact: '/A', caseSensitive: false } }, want: { path: '/A', caseSensitive: { value: false } } },
    { name: 'case-sensitive is the default, left out', match: { path: { prefix: '/a', caseSensitive: true } }, want: { prefix: '/a' } },
    {
      name: 'case sensitivity is left out for a regex (Envoy ignores it there)',
      match: { path: { regex: '/a.*', caseSensitive: false } },
      want: { safeRegex: { regex: '/a.*' } },
    },
    { name: 'one method', match: { methods: ['GET'] }, want: { prefix: '/', headers: [{ name: ':method', stringMatch: { exact: 'GET' } }] } },
    { name: 'empty lists are left out', match: { headers: [], query: [], methods: [] }, want: { prefix: '/' } },
    {
      name: 'headers, then the method matcher, and query parameters',
      match: {
        path: { prefix: '/cart' },
        headers: [{ name: 'x-version', exact: 'v2' }, { name: 'x-canary', present: true }],
        methods: ['PUT', 'POST'],
        query: [{ name: 'debug', exact: '1' }],
      },
      want: {
        prefix: '/cart',
        headers: [
          { name: 'x-version', stringMatch: { exact: 'v2' } },
          { name: 'x-canary', presentMatch: true },
          { name: ':method', stringMatch: { safeRegex: { regex: '^(POST|PUT)$' } } },
        ],
        queryParameters: [{ name: 'debug', stringMatch: { exact: '1' } }],
      },
    },
  ];
  it.each(cases)('$name', ({ match, want }) => {
    const got = routeMatch(match);
    expect(got).toStrictEqual(want);
    expectValidEnvoy('envoy.config.route.v3.RouteMatch', got);
  });
});
