import { describe, expect, it } from 'vitest';
import { authzPolicy } from '../../test/support/mesh-fixtures.ts';
import type { AuthorizationPolicySpec, AuthzDefault } from './authz.ts';
import { decide, namePatternMatches, stringMatches, type AuthzDecision, type AuthzRequest } from './authz-eval.ts';

const ORDERS = { namespace: 'shop', service: 'orders' };
const WEB = { namespace: 'shop', service: 'web' };

/** A policy on shop/orders; a case lists only what differs. */
const pol = authzPolicy;
const req = (over: Partial<AuthzRequest> = {}): AuthzRequest => ({ source: WEB, destination: ORDERS, ...over });

describe('decide', () => {
  const cases: { name: string; policies: AuthorizationPolicySpec[]; request?: AuthzRequest; meshDefault?: AuthzDefault; want: AuthzDecision }[] = [
    {
      name: 'no policy, default allow',
      policies: [],
      want: { decision: 'allow', reason: 'no policy applies to shop/orders; the mesh default is allow', shadow: [] },
    },
    {
      name: 'no policy, default deny',
      policies: [],
      meshDefault: 'deny',
      want: { decision: 'deny', reason: 'no policy applies to shop/orders; the mesh default is deny', shadow: [] },
    },
    {
      name: 'a policy on another service does not apply',
      policies: [pol('other', { target: { namespace: 'shop', service: 'cart' }, rules: [] })],
      want: { decision: 'allow', reason: 'no policy applies to shop/orders; the mesh default is allow', shadow: [] },
    },
    {
      name: 'a policy on another namespace does not apply, even with the same service name',
      policies: [pol('other', { target: { namespace: 'billing', service: 'orders' }, rules: [] })],
      meshDefault: 'deny',
      want: { decision: 'deny', reason: 'no policy applies to shop/orders; the mesh default is deny', shadow: [] },
    },
    {
      name: 'a matching allow policy allows over a default deny',
      policies: [pol('web-reads', { rules: [{ from: [{ service: 'api' }] }, { from: [{ namespace: 'shop', service: 'web' }] }] })],
      meshDefault: 'deny',
      want: { decision: 'allow', reason: 'allowed by allow policy shop/web-reads (rules[1])', policy: 'shop/web-reads', shadow: [] },
    },
    {
      name: 'allow policies that do not match deny, even with a default allow',
      policies: [pol('api-only', { rules: [{ from: [{ service: 'api' }] }] }), pol('admin-only', { rules: [{ from: [{ namespace: 'admin' }] }] })],
      want: { decision: 'deny', reason: 'no allow policy matches; 2 allow policies apply to shop/orders', shadow: [] },
    },
    {
      name: 'an allow policy with no rules allows nothing',
      policies: [pol('nothing', { rules: [] })],
      want: { decision: 'deny', reason: 'no allow policy matches; 1 allow policy applies to shop/orders', shadow: [] },
    },
    {
      name: 'deny wins over a matching allow',
      policies: [pol('all'), pol('no-web', { action: 'deny', rules: [{ from: [{ service: 'web' }] }] })],
      want: { decision: 'deny', reason: 'denied by deny policy shop/no-web (rules[0])', policy: 'shop/no-web', shadow: [] },
    },
    {
      name: 'a deny policy that does not match leaves the mesh default',
      policies: [pol('no-api', { action: 'deny', rules: [{ from: [{ service: 'api' }] }] })],
      meshDefault: 'deny',
      want: { decision: 'deny', reason: 'no policy applies to shop/orders; the mesh default is deny', shadow: [] },
    },
    {
      name: 'of two matching deny policies the first by name decides (input order does not)',
      policies: [pol('z-deny', { action: 'deny' }), pol('a-deny', { action: 'deny' })],
      want: { decision: 'deny', reason: 'denied by deny policy shop/a-deny (rules[0])', policy: 'shop/a-deny', shadow: [] },
    },
    {
      name: 'a namespace-wide policy applies to every service of it',
      policies: [pol('ns-deny', { target: { namespace: 'shop' }, action: 'deny', rules: [{ from: [{ namespace: 'shop' }] }] })],
      want: { decision: 'deny', reason: 'denied by deny policy shop/ns-deny (rules[0])', policy: 'shop/ns-deny', shadow: [] },
    },
    {
      name: 'wildcards: namespace "*", service prefix',
      policies: [pol('w', { rules: [{ from: [{ namespace: '*', service: 'we*' }] }] })],
      request: req({ source: { namespace: 'anywhere', service: 'web-2' } }),
      want: { decision: 'allow', reason: 'allowed by allow policy shop/w (rules[0])', policy: 'shop/w', shadow: [] },
    },
    {
      name: 'a prefix wildcard that does not fit',
      policies: [pol('w', { rules: [{ from: [{ namespace: 'team-*' }] }] })],
      request: req({ source: { namespace: 'teams', service: 'web' } }),
      want: { decision: 'deny', reason: 'no allow policy matches; 1 allow policy applies to shop/orders', shadow: [] },
    },
    {
      name: 'unauthenticated: no source pattern matches, not even "*"',
      policies: [pol('any-mesh', { rules: [{ from: [{ namespace: '*' }] }] })],
      request: req({ source: undefined }),
      want: { decision: 'deny', reason: 'no allow policy matches; 1 allow policy applies to shop/orders (the caller is unauthenticated)', shadow: [] },
    },
    {
      name: 'unauthenticated: a rule without from matches anyone',
      policies: [pol('public', { rules: [{ to: { paths: ['/public/*'] } }] })],
      request: req({ source: undefined, path: '/public/a.css' }),
      want: { decision: 'allow', reason: 'allowed by allow policy shop/public (rules[0])', policy: 'shop/public', shadow: [] },
    },
    {
      name: 'unauthenticated: a deny on any mesh caller does not catch it',
      policies: [pol('no-mesh', { action: 'deny', rules: [{ from: [{ namespace: '*' }] }] })],
      request: req({ source: undefined }),
      want: { decision: 'allow', reason: 'no policy applies to shop/orders; the mesh default is allow', shadow: [] },
    },
    {
      name: 'shadow allow never changes the decision; it reports what it would have done',
      policies: [pol('only-api', { mode: 'shadow', rules: [{ from: [{ service: 'api' }] }] }), pol('web', { mode: 'shadow', rules: [{ from: [{ service: 'web' }] }] })],
      want: {
        decision: 'allow',
        reason: 'no policy applies to shop/orders; the mesh default is allow',
        shadow: [
          { policy: 'shop/only-api', wouldBe: 'deny' },
          { policy: 'shop/web', wouldBe: 'allow' },
        ],
      },
    },
    {
      name: 'shadow deny next to an enforced allow',
      policies: [pol('all'), pol('no-web', { action: 'deny', mode: 'shadow', rules: [{ from: [{ service: 'web' }] }] })],
      want: {
        decision: 'allow',
        reason: 'allowed by allow policy shop/all (rules[0])',
        policy: 'shop/all',
        shadow: [{ policy: 'shop/no-web', wouldBe: 'deny' }],
      },
    },
    {
      name: 'shadow allow joins the enforced allow policies: enforced, it would allow what they do not',
      policies: [pol('api-only', { rules: [{ from: [{ service: 'api' }] }] }), pol('web-too', { mode: 'shadow', rules: [{ from: [{ service: 'web' }] }] })],
      want: {
        decision: 'deny',
        reason: 'no allow policy matches; 1 allow policy applies to shop/orders',
        shadow: [{ policy: 'shop/web-too', wouldBe: 'allow' }],
      },
    },
    {
      name: 'a shadow allow that does not match would still lose to an enforced deny',
      policies: [pol('no-web', { action: 'deny', rules: [{ from: [{ service: 'web' }] }] }), pol('web', { mode: 'shadow' })],
      want: {
        decision: 'deny',
        reason: 'denied by deny policy shop/no-web (rules[0])',
        policy: 'shop/no-web',
        shadow: [{ policy: 'shop/web', wouldBe: 'deny' }],
      },
    },
  ];
  it.each(cases)('$name', ({ policies, request, meshDefault, want }) => {
    expect(decide(policies, request ?? req(), meshDefault ?? 'allow')).toStrictEqual(want);
  });
});

describe('decide: request matches', () => {
  const readOrders = pol('read', {
    rules: [{ to: { paths: ['/orders', '/orders/*', '*.json'], methods: ['GET', 'HEAD'], headers: [{ name: 'x-tenant', prefix: 'acme' }] } }],
  });
  const cases: { name: string; request: AuthzRequest; want: 'allow' | 'deny' }[] = [
    { name: 'exact path, method, header', request: req({ path: '/orders', method: 'GET', headers: { 'x-tenant': 'acme-1' } }), want: 'allow' },
    { name: 'prefix path, query ignored', request: req({ path: '/orders/7?full=1', method: 'HEAD', headers: { 'x-tenant': 'acme' } }), want: 'allow' },
    { name: 'suffix path', request: req({ path: '/export/all.json', method: 'GET', headers: { 'x-tenant': 'acme' } }), want: 'allow' },
    { name: 'header names in any case', request: req({ path: '/orders', method: 'GET', headers: { 'X-Tenant': 'acme' } }), want: 'allow' },
    { name: 'another path', request: req({ path: '/ordersx', method: 'GET', headers: { 'x-tenant': 'acme' } }), want: 'deny' },
    { name: 'another method', request: req({ path: '/orders', method: 'POST', headers: { 'x-tenant': 'acme' } }), want: 'deny' },
    { name: 'methods are case-sensitive', request: req({ path: '/orders', method: 'get', headers: { 'x-tenant': 'acme' } }), want: 'deny' },
    { name: 'the header does not match', request: req({ path: '/orders', method: 'GET', headers: { 'x-tenant': 'other' } }), want: 'deny' },
    { name: 'only path and method given: the header condition does not match', request: req({ path: '/orders', method: 'GET' }), want: 'deny' },
    { name: 'no path given: the path condition does not match', request: req({ method: 'GET', headers: { 'x-tenant': 'acme' } }), want: 'deny' },
  ];
  it.each(cases)('$name', ({ request, want }) => {
    expect(decide([readOrders], request, 'deny').decision).toBe(want);
  });

  const headerCases: { name: string; header: AuthorizationPolicySpec['rules'][number]; headers?: Record<string, string>; want: 'allow' | 'deny' }[] = [
    { name: 'absent, and it is absent', header: { to: { headers: [{ name: 'x-debug', present: false }] } }, headers: {}, want: 'allow' },
    { name: 'absent, but no headers given at all', header: { to: { headers: [{ name: 'x-debug', present: false }] } }, want: 'deny' },
    { name: 'absent, but it is there', header: { to: { headers: [{ name: 'x-debug', present: false }] } }, headers: { 'x-debug': '1' }, want: 'deny' },
    { name: 'present', header: { to: { headers: [{ name: 'x-debug', present: true }] } }, headers: { 'x-debug': '' }, want: 'allow' },
    { name: 'inverted exact, header missing (Envoy: matches)', header: { to: { headers: [{ name: 'x-env', exact: 'prod', invert: true }] } }, headers: {}, want: 'allow' },
    { name: 'inverted exact, equal value', header: { to: { headers: [{ name: 'x-env', exact: 'prod', invert: true }] } }, headers: { 'x-env': 'prod' }, want: 'deny' },
    { name: 'regex is a full match', header: { to: { headers: [{ name: 'x-user', regex: 'u-[0-9]+' }] } }, headers: { 'x-user': 'u-12x' }, want: 'deny' },
    { name: 'regex matches', header: { to: { headers: [{ name: 'x-user', regex: 'u-[0-9]+' }] } }, headers: { 'x-user': 'u-12' }, want: 'allow' },
    { name: ':method from the request', header: { to: { headers: [{ name: ':method', exact: 'GET' }] } }, headers: {}, want: 'allow' },
    { name: ':authority from host', header: { to: { headers: [{ name: ':authority', suffix: '.shop' }] } }, headers: { Host: 'orders.shop' }, want: 'allow' },
    { name: 'every header must match', header: { to: { headers: [{ name: 'a', exact: '1' }, { name: 'b', exact: '2' }] } }, headers: { a: '1', b: '3' }, want: 'deny' },
  ];
  it.each(headerCases)('header: $name', ({ header, headers, want }) => {
    expect(decide([pol('h', { rules: [header] })], req({ method: 'GET', ...(headers ? { headers } : {}) }), 'deny').decision).toBe(want);
  });
});

describe('decide: TCP destinations, as the network RBAC filter reads to', () => {
  const tcp = (over: Partial<AuthzRequest> = {}): AuthzRequest => req({ protocol: 'tcp', ...over });
  it('a deny rule with to denies its sources outright (over-deny)', () => {
    const p = pol('no-web-writes', { action: 'deny', rules: [{ from: [{ service: 'web' }], to: { methods: ['POST'] } }] });
    expect(decide([p], tcp(), 'allow').decision).toBe('deny');
    expect(decide([p], req({ method: 'GET' }), 'allow').decision).toBe('allow');
  });
  it('an allow rule with to matches nothing (under-allow)', () => {
    const p = pol('web-reads', { rules: [{ from: [{ service: 'web' }], to: { methods: ['GET'] } }] });
    expect(decide([p], tcp({ method: 'GET' }), 'allow').decision).toBe('deny');
    expect(decide([p], req({ method: 'GET' }), 'allow').decision).toBe('allow');
  });
  it('rules without to work as for HTTP', () => {
    expect(decide([pol('web', { rules: [{ from: [{ service: 'web' }] }] })], tcp(), 'deny').decision).toBe('allow');
  });
});

describe('matchers', () => {
  it.each([
    ['*', 'x', true],
    [undefined, 'x', true],
    ['team-*', 'team-a', true],
    ['team-*', 'team-', true],
    ['team-*', 'teams', false],
    ['web', 'web', true],
    ['web', 'web2', false],
  ] as const)('name pattern %s against %s', (pattern, value, want) => {
    expect(namePatternMatches(pattern, value)).toBe(want);
  });

  it.each([
    [{ exact: 'Ab', ignoreCase: true }, 'aB', true],
    [{ exact: 'Ab' }, 'aB', false],
    [{ prefix: 'a' }, 'ab', true],
    [{ suffix: 'B', ignoreCase: true }, 'ab', true],
    [{ regex: 'a+' }, 'aaa', true],
    [{ regex: '(' }, '(', false],
    [{}, 'x', false],
  ] as const)('string match %j against %s', (m, value, want) => {
    expect(stringMatches(m, value)).toBe(want);
  });
});
