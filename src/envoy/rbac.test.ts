import { Metadata } from '@grpc/grpc-js';
import type { HttpFilter__Output } from '@grpc/grpc-js-xds/build/src/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter.js';
import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { authzPolicy } from '../../test/support/mesh-fixtures.ts';
import type { AuthorizationPolicySpec, AuthzDefault, AuthzSource } from '../model/authz.ts';
import { decide, type AuthzPeer, type AuthzRequest } from '../model/authz-eval.ts';
import { parseRe2 } from '../model/regex.ts';
import { messageType } from '../protos/loader.ts';
import { decodeToPlain, encodeMessage } from '../protos/type-urls.ts';
import { expectValidEnvoy } from '../../test/support/envoy.ts';
import type { Plain } from './common.ts';
import { HTTP_RBAC_TYPE, inboundHttpRbacFilters, inboundNetworkRbacFilters, requestPermission, sourcePrincipal } from './rbac.ts';

// gRPC registers its RBAC filter (in register()) only with this flag, read when its modules load: set it, then load them.
process.env.GRPC_XDS_EXPERIMENTAL_RBAC = 'true';
(await import('@grpc/grpc-js-xds')).register();
const grpcHttpFilter = await import('@grpc/grpc-js-xds/build/src/http-filter.js');

const HTTP_FILTER = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter';
const NETWORK_FILTER = 'envoy.config.listener.v3.Filter';
const TD = 'cluster.local';
const ORDERS = { namespace: 'shop', name: 'orders' };
const ANY = { any: true };

/** A policy on shop/orders; a case lists only what differs. */
const pol = authzPolicy;
const id = (ns: string, svc: string): Plain => ({ authenticated: { principalName: { exact: `spiffe://cluster.local/ns/${ns}/sa/${svc}` } } });
const re = (regex: string): Plain => ({ authenticated: { principalName: { safeRegex: { regex } } } });
const method = (m: string): Plain => ({ header: { name: ':method', stringMatch: { exact: m } } });
const httpFilter = (kind: 'deny' | 'allow', config: Plain): Plain => ({
  name: `envoy.filters.http.rbac.${kind}`,
  typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC', rulesStatPrefix: `${kind}.`, ...config },
});
const networkFilter = (kind: 'deny' | 'allow', config: Plain): Plain => ({
  name: `envoy.filters.network.rbac.${kind}`,
  typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC', statPrefix: `inbound_orders.${kind}`, ...config },
});

describe('sourcePrincipal', () => {
  const cases: { name: string; source: AuthzSource; want: Plain; matches: string[]; rejects: string[] }[] = [
    {
      name: 'a service: its exact SPIFFE ID',
      source: { namespace: 'shop', service: 'web' },
      want: id('shop', 'web'),
      matches: ['spiffe://cluster.local/ns/shop/sa/web'],
      rejects: ['spiffe://cluster.local/ns/shop/sa/web2'],
    },
    {
      name: 'every service of a namespace',
      source: { namespace: 'shop' },
      want: re('^spiffe://cluster\\.local/ns/shop/sa/[^/]+$'),
      matches: ['spiffe://cluster.local/ns/shop/sa/web'],
      rejects: ['spiffe://cluster.local/ns/shop/sa/web/x', 'spiffe://cluster.local/ns/shop/sa/', 'spiffe://clusterxlocal/ns/shop/sa/web', 'spiffe://cluster.local/ns/shops/sa/web'],
    },
    {
      name: 'any mesh identity ("*"), and only one of this trust domain',
      source: { namespace: '*', service: '*' },
      want: re('^spiffe://cluster\\.local/ns/[^/]+/sa/[^/]+$'),
      matches: ['spiffe://cluster.local/ns/a/sa/b'],
      rejects: ['spiffe://other.td/ns/a/sa/b', 'spiffe://cluster.local/ns/a/x/sa/b', 'spiffe://cluster.local/ns/a/sa/b/c', 'https://cluster.local/ns/a/sa/b'],
    },
    {
      name: 'a service name in any namespace',
      source: { service: 'web' },
      want: re('^spiffe://cluster\\.local/ns/[^/]+/sa/web$'),
      matches: ['spiffe://cluster.local/ns/a/sa/web'],
      rejects: ['spiffe://cluster.local/ns/a/sa/web2', 'spiffe://cluster.local/ns/sa/sa/x/sa/web'],
    },
    {
      name: 'prefix wildcards in both',
      source: { namespace: 'team-*', service: 'api*' },
      want: re('^spiffe://cluster\\.local/ns/team-[^/]*/sa/api[^/]*$'),
      matches: ['spiffe://cluster.local/ns/team-a/sa/api', 'spiffe://cluster.local/ns/team-b/sa/api-v2'],
      rejects: ['spiffe://cluster.local/ns/teams/sa/api', 'spiffe://cluster.local/ns/team-a/sa/web', 'spiffe://cluster.local/ns/team-a/sa/api/x'],
    },
  ];
  it.each(cases)('$name', ({ source, want, matches, rejects }) => {
    const got = sourcePrincipal(source, TD);
    expect(got).toStrictEqual(want);
    expectValidEnvoy('envoy.config.rbac.v3.Principal', got);
    const m = (got.authenticated as { principalName: { exact?: string; safeRegex?: { regex: string } } }).principalName;
    const test = (uri: string): boolean => (m.exact !== undefined ? m.exact === uri : RE2JS.matches(m.safeRegex!.regex, uri));
    for (const uri of matches) expect(test(uri), uri).toBe(true);
    for (const uri of rejects) expect(test(uri), uri).toBe(false);
  });

  it("stays within Envoy's RE2 program size for the longest names and a long trust domain", () => {
    const long = 'a'.repeat(63);
    const td = `${'t'.repeat(200)}.example.org`;
    for (const source of [{ service: long }, { namespace: `${'b'.repeat(62)}*`, service: long }, { namespace: long, service: `${'c'.repeat(62)}*` }, { service: `${'c'.repeat(62)}*` }]) {
      const regex = (sourcePrincipal(source, td).authenticated as { principalName: { safeRegex: { regex: string } } }).principalName.safeRegex.regex;
      expect(parseRe2(regex, 'regex')).toMatchObject({ ok: true });
    }
  });
});

describe('requestPermission', () => {
  const cases: { name: string; to: Parameters<typeof requestPermission>[0]; want: Plain | undefined }[] = [
    { name: 'no to: any request', to: undefined, want: ANY },
    { name: 'one exact path', to: { paths: ['/healthz'] }, want: { urlPath: { path: { exact: '/healthz' } } } },
    {
      name: 'prefix, suffix and "/*" paths: any of them',
      to: { paths: ['/api/*', '*.json', '/*'] },
      want: { orRules: { rules: [{ urlPath: { path: { prefix: '/api/' } } }, { urlPath: { path: { suffix: '.json' } } }, { urlPath: { path: { prefix: '/' } } }] } },
    },
    { name: 'methods: any of them', to: { methods: ['GET', 'HEAD'] }, want: { orRules: { rules: [method('GET'), method('HEAD')] } } },
    {
      name: 'paths, a method and headers: all of them',
      to: { paths: ['/a'], methods: ['POST'], headers: [{ name: 'x-tenant', prefix: 'acme' }, { name: 'x-debug', present: false }] },
      want: {
        andRules: {
          rules: [
            { urlPath: { path: { exact: '/a' } } },
            method('POST'),
            { header: { name: 'x-tenant', stringMatch: { prefix: 'acme' } } },
            { header: { name: 'x-debug', presentMatch: true, invertMatch: true } },
          ],
        },
      },
    },
    { name: 'an empty paths list matches nothing', to: { paths: [], methods: ['GET'] }, want: undefined },
  ];
  it.each(cases)('$name', ({ to, want }) => {
    const got = requestPermission(to);
    expect(got).toStrictEqual(want);
    if (got) expectValidEnvoy('envoy.config.rbac.v3.Permission', got);
  });
});

describe('inboundHttpRbacFilters', () => {
  const webReads = pol('web-reads', { rules: [{ from: [{ namespace: 'shop', service: 'web' }], to: { paths: ['/orders*'], methods: ['GET'] } }] });
  const webReadsPolicy = {
    permissions: [{ andRules: { rules: [{ urlPath: { path: { prefix: '/orders' } } }, method('GET')] } }],
    principals: [id('shop', 'web')],
  };
  const cases: { name: string; policies: AuthorizationPolicySpec[]; meshDefault: AuthzDefault; want: Plain[] }[] = [
    { name: 'no policy, default allow: no filter', policies: [], meshDefault: 'allow', want: [] },
    {
      name: 'no policy, default deny: ALLOW with no policies (denies all)',
      policies: [],
      meshDefault: 'deny',
      want: [httpFilter('allow', { rules: { action: 'ALLOW' } })],
    },
    {
      name: 'policies on other services and namespaces do not apply',
      policies: [pol('cart', { target: { namespace: 'shop', service: 'cart' } }), pol('billing', { target: { namespace: 'billing' }, action: 'deny' })],
      meshDefault: 'allow',
      want: [],
    },
    {
      name: 'one allow policy with one rule: named after the policy',
      policies: [webReads],
      meshDefault: 'allow',
      want: [httpFilter('allow', { rules: { action: 'ALLOW', policies: { 'shop/web-reads': webReadsPolicy } } })],
    },
    {
      name: 'an allow policy with no rules: ALLOW with no policies',
      policies: [pol('nothing', { rules: [] })],
      meshDefault: 'allow',
      want: [httpFilter('allow', { rules: { action: 'ALLOW' } })],
    },
    {
      name: 'a namespace-wide deny and a two-rule allow: DENY filter first, rules suffixed, sorted',
      policies: [
        pol('z-public', { rules: [{ to: { paths: ['/public/*'] } }, { from: [{ namespace: 'ops' }] }] }),
        pol('no-legacy', { target: { namespace: 'shop' }, action: 'deny', rules: [{ from: [{ namespace: 'legacy' }, { service: 'old-*' }] }] }),
        webReads,
      ],
      meshDefault: 'allow',
      want: [
        httpFilter('deny', {
          rules: {
            action: 'DENY',
            policies: {
              'shop/no-legacy': {
                permissions: [ANY],
                principals: [re('^spiffe://cluster\\.local/ns/legacy/sa/[^/]+$'), re('^spiffe://cluster\\.local/ns/[^/]+/sa/old-[^/]*$')],
              },
            },
          },
        }),
        httpFilter('allow', {
          rules: {
            action: 'ALLOW',
            policies: {
              'shop/web-reads': webReadsPolicy,
              'shop/z-public[0]': { permissions: [{ urlPath: { path: { prefix: '/public/' } } }], principals: [ANY] },
              'shop/z-public[1]': { permissions: [ANY], principals: [re('^spiffe://cluster\\.local/ns/ops/sa/[^/]+$')] },
            },
          },
        }),
      ],
    },
    {
      name: 'shadow deny alone: DENY with none enforces nothing; the shadow rules carry it',
      policies: [pol('no-web', { action: 'deny', mode: 'shadow', rules: [{ from: [{ namespace: 'shop', service: 'web' }] }] })],
      meshDefault: 'allow',
      want: [
        httpFilter('deny', {
          rules: { action: 'DENY' },
          shadowRules: { action: 'DENY', policies: { 'shop/no-web': { permissions: [ANY], principals: [id('shop', 'web')] } } },
          shadowRulesStatPrefix: 'deny.',
        }),
      ],
    },
    {
      name: 'shadow allow alone, default allow: the allow filter enforces nothing (DENY with none)',
      policies: [{ ...webReads, mode: 'shadow' }],
      meshDefault: 'allow',
      want: [
        httpFilter('allow', {
          rules: { action: 'DENY' },
          shadowRules: { action: 'ALLOW', policies: { 'shop/web-reads': webReadsPolicy } },
          shadowRulesStatPrefix: 'allow.',
        }),
      ],
    },
    {
      name: 'shadow allow beside enforced allow: shadow rules hold both',
      policies: [pol('ops', { mode: 'shadow', rules: [{ from: [{ namespace: 'ops', service: 'admin' }] }] }), webReads],
      meshDefault: 'deny',
      want: [
        httpFilter('allow', {
          rules: { action: 'ALLOW', policies: { 'shop/web-reads': webReadsPolicy } },
          shadowRules: {
            action: 'ALLOW',
            policies: { 'shop/ops': { permissions: [ANY], principals: [id('ops', 'admin')] }, 'shop/web-reads': webReadsPolicy },
          },
          shadowRulesStatPrefix: 'allow.',
        }),
      ],
    },
  ];
  it.each(cases)('$name', ({ policies, meshDefault, want }) => {
    const got = inboundHttpRbacFilters(policies, ORDERS, TD, meshDefault);
    expect(got).toStrictEqual(want);
    for (const f of got) expectValidEnvoy(HTTP_FILTER, f);
  });

  it('keeps "ALLOW with no policies" on the wire: absent rules would enforce nothing', () => {
    const [filter] = inboundHttpRbacFilters([], ORDERS, TD, 'deny');
    const { '@type': _, ...config } = filter!.typedConfig as Plain;
    const decoded = decodeToPlain(messageType(HTTP_RBAC_TYPE), encodeMessage(messageType(HTTP_RBAC_TYPE), config));
    expect(decoded).toStrictEqual({ rules: { action: 'ALLOW' }, rulesStatPrefix: 'allow.' });
  });

  it('gives the same filters and bytes whatever the order of the policies', () => {
    const policies = [
      pol('b', { action: 'deny', rules: [{ from: [{ service: 'x' }] }, { from: [{ service: 'y' }] }] }),
      pol('a', { action: 'deny' }),
      pol('c', { rules: Array.from({ length: 12 }, (_, i) => ({ from: [{ service: `s${i}` }] })) }),
      pol('d', { mode: 'shadow' }),
      pol('e', { target: { namespace: 'shop' }, rules: [{ to: { methods: ['GET'] } }] }),
    ];
    const encode = (ps: AuthorizationPolicySpec[]) => inboundHttpRbacFilters(ps, ORDERS, TD, 'deny').map((f) => Buffer.from(expectValidEnvoy(HTTP_FILTER, f)).toString('hex'));
    const want = encode(policies);
    for (const order of [[...policies].reverse(), [policies[2]!, policies[4]!, policies[0]!, policies[3]!, policies[1]!]]) {
      expect(inboundHttpRbacFilters(order, ORDERS, TD, 'deny')).toStrictEqual(inboundHttpRbacFilters(policies, ORDERS, TD, 'deny'));
      expect(encode(order)).toEqual(want);
    }
  });
});

describe('inboundNetworkRbacFilters', () => {
  const cases: { name: string; policies: AuthorizationPolicySpec[]; meshDefault: AuthzDefault; want: Plain[] }[] = [
    { name: 'nothing applies, default allow: no filter', policies: [], meshDefault: 'allow', want: [] },
    {
      name: 'nothing applies, default deny: ALLOW with no policies',
      policies: [],
      meshDefault: 'deny',
      want: [networkFilter('allow', { rules: { action: 'ALLOW' } })],
    },
    {
      name: 'to on TCP: a deny rule denies its sources outright, an allow rule is left out',
      policies: [
        pol('no-web-writes', { action: 'deny', rules: [{ from: [{ namespace: 'shop', service: 'web' }], to: { methods: ['POST'] } }] }),
        pol('api', { rules: [{ from: [{ namespace: 'shop', service: 'api' }], to: { paths: ['/x'] } }, { from: [{ namespace: 'shop', service: 'batch' }] }] }),
        pol('reads-only', { rules: [{ to: { methods: ['GET'] } }] }),
      ],
      meshDefault: 'allow',
      want: [
        networkFilter('deny', { rules: { action: 'DENY', policies: { 'shop/no-web-writes': { permissions: [ANY], principals: [id('shop', 'web')] } } } }),
        networkFilter('allow', { rules: { action: 'ALLOW', policies: { 'shop/api[1]': { permissions: [ANY], principals: [id('shop', 'batch')] } } } }),
      ],
    },
    {
      name: 'shadow deny with its stat prefix',
      policies: [pol('no-web', { action: 'deny', mode: 'shadow', rules: [{ from: [{ namespace: 'shop', service: 'web' }] }] })],
      meshDefault: 'allow',
      want: [
        networkFilter('deny', {
          rules: { action: 'DENY' },
          shadowRules: { action: 'DENY', policies: { 'shop/no-web': { permissions: [ANY], principals: [id('shop', 'web')] } } },
          shadowRulesStatPrefix: 'deny.',
        }),
      ],
    },
  ];
  it.each(cases)('$name', ({ policies, meshDefault, want }) => {
    const got = inboundNetworkRbacFilters(policies, ORDERS, TD, meshDefault, 'inbound_orders');
    expect(got).toStrictEqual(want);
    for (const f of got) expectValidEnvoy(NETWORK_FILTER, f);
  });

  it('decides as decide() does for TCP', () => {
    const policies = [
      pol('no-web-writes', { action: 'deny', rules: [{ from: [{ service: 'web' }], to: { methods: ['POST'] } }] }),
      pol('api', { rules: [{ from: [{ service: 'api' }], to: { paths: ['/x'] } }, { from: [{ namespace: 'shop' }] }] }),
    ];
    for (const source of [{ namespace: 'shop', service: 'web' }, { namespace: 'shop', service: 'api' }, { namespace: 'ops', service: 'api' }, undefined]) {
      const request: AuthzRequest = { source, destination: { namespace: 'shop', service: 'orders' }, protocol: 'tcp' };
      const filters = inboundNetworkRbacFilters(policies, ORDERS, TD, 'allow', 'inbound_orders');
      expect(grpcAllows(filters, request, true), JSON.stringify(source)).toBe(decide(policies, request, 'allow').decision === 'allow');
    }
  });
});

/**
 * Runs built filters through @grpc/grpc-js-xds's RBAC engine (an independent implementation of
 * Envoy's semantics): encoded with Envoy's protos, checked by gRPC's filter validation, applied in
 * order. `network` filters carry the same RBAC message, so gRPC's engine can read them too.
 */
function grpcAllows(filters: Plain[], request: AuthzRequest, network = false): boolean {
  const info = {
    destinationIp: '10.0.0.1',
    destinationPort: 8080,
    sourceIp: '10.0.0.2',
    headers: requestMetadata(request),
    tls: request.source !== undefined,
    peerCertificate: request.source ? { subjectaltname: `URI:spiffe://${TD}/ns/${request.source.namespace}/sa/${request.source.service}`, subject: {} } : null,
    urlPath: (request.path ?? '').replace(/\?.*$/, ''),
  };
  return filters.every((f) => {
    const { '@type': url, ...config } = f.typedConfig as Plain;
    const rbac = network ? { rules: config.rules } : config;
    const encoded = { type_url: 'type.googleapis.com/' + HTTP_RBAC_TYPE, value: Buffer.from(encodeMessage(messageType(HTTP_RBAC_TYPE), rbac)) };
    if (!network) expect(url).toBe(encoded.type_url);
    const httpFilter = { name: f.name, typed_config: encoded, is_optional: false, disabled: false } as unknown as HttpFilter__Output;
    expect(grpcHttpFilter.validateTopLevelFilter(httpFilter, false), `gRPC accepts ${String(f.name)}`).toBe(true);
    const parsed = grpcHttpFilter.parseTopLevelFilterConfig(encoded, false);
    return (parsed!.config as { apply(i: typeof info): boolean }).apply(info);
  });
}

function requestMetadata(request: AuthzRequest): Metadata {
  const md = new Metadata();
  for (const [k, v] of Object.entries(request.headers ?? {})) md.set(k.toLowerCase(), v);
  if (request.method) md.set(':method', request.method);
  if (request.path) md.set(':path', request.path);
  return md;
}

describe('HTTP filters against gRPC RBAC engine and decide()', () => {
  const policies: AuthorizationPolicySpec[] = [
    pol('no-legacy', { target: { namespace: 'shop' }, action: 'deny', rules: [{ from: [{ namespace: 'legacy' }] }, { to: { paths: ['/admin*'] }, from: [{ service: 'web' }] }] }),
    pol('web-reads', { rules: [{ from: [{ namespace: 'shop', service: 'web' }], to: { paths: ['/orders', '/orders/*'], methods: ['GET'] } }] }),
    pol('teams', {
      rules: [{ from: [{ namespace: 'team-*', service: '*' }], to: { headers: [{ name: 'x-tenant', prefix: 'acme' }, { name: 'x-debug', present: false }, { name: 'x-env', exact: 'prod', invert: true }] } }],
    }),
    pol('public', { rules: [{ to: { paths: ['*.json'] } }] }),
    pol('shadow-deny-all', { action: 'deny', mode: 'shadow' }),
    pol('elsewhere', { target: { namespace: 'billing' }, action: 'deny' }),
  ];
  const sources: (AuthzPeer | undefined)[] = [
    { namespace: 'shop', service: 'web' },
    { namespace: 'shop', service: 'api' },
    { namespace: 'legacy', service: 'web' },
    { namespace: 'team-a', service: 'x' },
    { namespace: 'teams', service: 'x' },
    undefined,
  ];
  const requests: AuthzRequest[] = [];
  for (const source of sources) {
    for (const path of ['/orders', '/orders/7', '/admin/x', '/export.json']) {
      for (const m of ['GET', 'POST']) {
        for (const headers of [{}, { 'x-tenant': 'acme-1' }, { 'x-tenant': 'acme', 'x-debug': '1' }, { 'x-tenant': 'acme', 'x-env': 'prod' }] as Record<string, string>[]) {
          requests.push({ source, destination: { namespace: 'shop', service: 'orders' }, path, method: m, headers });
        }
      }
    }
  }
  it.each(['allow', 'deny'] as const)('mesh default %s: every request decided alike', (meshDefault) => {
    const filters = inboundHttpRbacFilters(policies, ORDERS, TD, meshDefault);
    const outcomes = requests.map((r) => decide(policies, r, meshDefault).decision);
    expect(new Set(outcomes)).toEqual(new Set(['allow', 'deny'])); // the grid exercises both outcomes
    requests.forEach((r, i) => expect(grpcAllows(filters, r) ? 'allow' : 'deny', JSON.stringify(r)).toBe(outcomes[i]));
  });
});
