import { describe, expect, it } from 'vitest';
import type { Issue } from '../lib/result.ts';
import type { AuthorizationPolicySpec, AuthzRule } from './authz.ts';
import { checkAuthorizationPolicy, checkAuthzPath, MAX_AUTHZ_RULES, MAX_AUTHZ_SOURCES } from './authz-validate.ts';

/** A valid policy; a case lists only what differs. */
const policy = (over: Partial<AuthorizationPolicySpec> = {}): AuthorizationPolicySpec => ({
  namespace: 'shop',
  name: 'orders-readers',
  target: { namespace: 'shop', service: 'orders' },
  action: 'allow',
  mode: 'enforce',
  rules: [{ from: [{ namespace: 'shop', service: 'web' }], to: { paths: ['/orders*'], methods: ['GET'] } }],
  ...over,
});
const withRule = (rule: AuthzRule): AuthorizationPolicySpec => policy({ rules: [rule] });
/** A policy from JSON of the wrong shape. */
const raw = (v: unknown): AuthorizationPolicySpec => v as AuthorizationPolicySpec;
const paths = (issues: Issue[]): string[] => issues.map((i) => i.path);

describe('checkAuthorizationPolicy: valid policies', () => {
  const cases: { name: string; spec: AuthorizationPolicySpec }[] = [
    { name: 'the base policy', spec: policy() },
    { name: 'namespace-wide target, deny, shadow', spec: policy({ target: { namespace: 'shop' }, action: 'deny', mode: 'shadow' }) },
    { name: 'no rules (an allow-nothing policy)', spec: policy({ rules: [] }) },
    { name: 'a rule with neither from nor to (any request)', spec: withRule({}) },
    {
      name: 'wildcard and prefix sources, a service alone, a namespace alone',
      spec: withRule({ from: [{ namespace: '*' }, { namespace: 'team-*', service: 'api*' }, { service: 'web' }, { namespace: 'ops', service: '*' }] }),
    },
    { name: 'exact, prefix and suffix paths; "/*"', spec: withRule({ to: { paths: ['/healthz', '/api/*', '*.json', '/*'] } }) },
    { name: 'methods, extension method tokens', spec: withRule({ to: { methods: ['GET', 'POST', 'PROPFIND', 'M-SEARCH'] } }) },
    {
      name: 'header matches, pseudo-headers included',
      spec: withRule({ to: { headers: [{ name: 'x-tenant', exact: 'a' }, { name: ':authority', suffix: '.example.com' }, { name: 'x-debug', present: false }] } }),
    },
  ];
  it.each(cases)('$name', ({ spec }) => {
    expect(checkAuthorizationPolicy(spec)).toEqual([]);
  });
});

describe('checkAuthorizationPolicy: issues', () => {
  const cases: { name: string; spec: AuthorizationPolicySpec; path?: string; want: string[] }[] = [
    { name: 'policy name not a DNS label', spec: policy({ name: 'Orders_Readers' }), want: ['body.name'] },
    { name: 'policy namespace missing', spec: raw({ ...policy(), namespace: undefined }), want: ['body.namespace'] },
    { name: 'target namespace wildcard', spec: policy({ target: { namespace: '*' } }), want: ['body.target.namespace'] },
    { name: 'target service prefix wildcard', spec: policy({ target: { namespace: 'shop', service: 'ord*' } }), want: ['body.target.service'] },
    { name: 'target missing', spec: raw({ ...policy(), target: undefined }), want: ['body.target'] },
    { name: 'unknown action and mode', spec: raw({ ...policy(), action: 'audit', mode: 'dry-run' }), want: ['body.action', 'body.mode'] },
    { name: 'rules not a list', spec: raw({ ...policy(), rules: { from: [] } }), want: ['body.rules'] },
    { name: 'a rule that is not an object', spec: raw({ ...policy(), rules: [policy().rules[0], 'any'] }), want: ['body.rules[1]'] },
    { name: 'empty from list', spec: withRule({ from: [] }), want: ['body.rules[0].from'] },
    { name: 'empty source object', spec: withRule({ from: [{ namespace: 'a' }, {}] }), want: ['body.rules[0].from[1]'] },
    {
      name: 'source wildcards only at the end, names lower-case',
      spec: withRule({ from: [{ namespace: 'a' }, { namespace: '*-prod', service: 'we*b' }, { service: 'Web' }] }),
      want: ['body.rules[0].from[1].namespace', 'body.rules[0].from[1].service', 'body.rules[0].from[2].service'],
    },
    { name: 'source prefix starting with "-"', spec: withRule({ from: [{ namespace: '-a*' }] }), want: ['body.rules[0].from[0].namespace'] },
    { name: 'source name not a string', spec: withRule(raw({ from: [{ namespace: 7 }] }) as unknown as AuthzRule), want: ['body.rules[0].from[0].namespace'] },
    { name: 'to with no condition', spec: withRule({ to: {} }), want: ['body.rules[0].to'] },
    { name: 'empty paths list', spec: withRule({ to: { paths: [] } }), want: ['body.rules[0].to.paths'] },
    {
      name: 'bad paths: relative, "*" alone, "*" inside, query string, repeated',
      spec: withRule({ to: { paths: ['orders', '*', '/a*b', '/a?x=1', '/ok', '/ok'] } }),
      want: ['body.rules[0].to.paths[0]', 'body.rules[0].to.paths[1]', 'body.rules[0].to.paths[2]', 'body.rules[0].to.paths[3]', 'body.rules[0].to.paths[5]'],
    },
    {
      name: 'methods: lower-case, not a token, repeated',
      spec: withRule({ to: { methods: ['get', 'GE T', 'POST', 'POST'] } }),
      want: ['body.rules[0].to.methods[0]', 'body.rules[0].to.methods[1]', 'body.rules[0].to.methods[3]'],
    },
    {
      name: 'headers: upper-case name, unmatchable pseudo-header, two forms, bad regex',
      spec: withRule({
        to: {
          headers: [
            { name: 'X-Tenant', exact: 'a' },
            { name: ':scheme', exact: 'https' },
            { name: 'x-a', exact: 'a', prefix: 'b' },
            { name: 'x-b', regex: '(?=a)' },
          ],
        },
      }),
      want: ['body.rules[0].to.headers[0].name', 'body.rules[0].to.headers[1].name', 'body.rules[0].to.headers[2]', 'body.rules[0].to.headers[3].regex'],
    },
    { name: 'a header without a name', spec: withRule(raw({ to: { headers: [{ exact: 'a' }] } }) as unknown as AuthzRule), want: ['body.rules[0].to.headers[0].name'] },
    {
      name: 'too many rules',
      spec: policy({ rules: Array.from({ length: MAX_AUTHZ_RULES + 1 }, () => ({})) }),
      want: ['body.rules'],
    },
    {
      name: 'too many sources',
      spec: withRule({ from: Array.from({ length: MAX_AUTHZ_SOURCES + 1 }, (_, i) => ({ namespace: `ns${i}` })) }),
      want: ['body.rules[0].from'],
    },
    { name: 'paths under another base', spec: withRule({ to: { methods: ['get'] } }), path: 'policy', want: ['policy.rules[0].to.methods[0]'] },
    { name: 'not an object at all', spec: raw(null), want: ['body'] },
  ];
  it.each(cases)('$name', ({ spec, path, want }) => {
    const got = path === undefined ? checkAuthorizationPolicy(spec) : checkAuthorizationPolicy(spec, path);
    expect(paths(got)).toEqual(want);
    for (const i of got) expect(i.message).not.toBe('');
  });

  it('says why a path is refused', () => {
    expect(checkAuthzPath('/a?x=1', 'p')).toEqual([{ path: 'p', message: '"/a?x=1" has "?" or "#": paths are matched without the query string' }]);
    expect(checkAuthzPath('*', 'p')[0]?.message).toMatch(/leave paths out/);
    expect(checkAuthzPath('/a b', 'p')[0]?.message).toMatch(/spaces/);
  });
});
