import { describe, expect, it } from 'vitest';
import { attachRoutes, compareRoutes, effectiveHosts, hashPolicyOf, inSubset, subsetKey, type AttachedRoute, type RoutableService, type Routing } from './routing.ts';
import type { Destination, HashPolicy, RouteSpec, Subset, TrafficPolicy } from './traffic.ts';

/** A routable service: `greeter.default:50051` (grpc) with no endpoints and no policy; a case lists what differs. */
function svc(overrides: Partial<RoutableService> = {}): RoutableService {
  return { namespace: 'default', name: 'greeter', port: 50051, protocol: 'grpc', endpoints: [], ...overrides };
}

/** Endpoints with the given label sets. */
const labelled = (...sets: Record<string, string>[]) => sets.map((labels) => ({ labels }));

/** The route `default/r`: every request for greeter's host to greeter; a case lists what differs. */
function spec(overrides: Partial<RouteSpec> = {}): RouteSpec {
  return { namespace: 'default', name: 'r', hosts: [], priority: 0, match: {}, destinations: [to('greeter')], ...overrides };
}

/** A destination in `default` (or `ns`) with weight 100 unless told. */
function to(name: string, over: Partial<Destination> = {}): Destination {
  return { namespace: 'default', name, weight: 100, ...over };
}

/** An empty routing, with only what a case expects filled in. */
function routing(over: Partial<Routing> = {}): Routing {
  return { byService: new Map(), subsets: new Map(), externalHosts: new Map(), dropped: [], ...over };
}

/** Route names per service key / external host, in order: what most cases compare. */
function names(map: Map<string, AttachedRoute[]>): Record<string, string[]> {
  return Object.fromEntries([...map].map(([k, list]) => [k, list.map((r) => `${r.spec.namespace}/${r.spec.name}`)]));
}

const RING_HASH: TrafficPolicy = { loadBalancer: { algorithm: 'ring_hash', hashOn: [{ header: 'x-user' }] } };

describe('subsetKey', () => {
  const cases: { name: string; subset: Subset; want: string }[] = [
    { name: 'one label', subset: { version: 'v2' }, want: 'version=v2' },
    { name: 'labels sorted by key whatever their order', subset: { zone: 'a', version: 'v2', app: 'x' }, want: 'app=x,version=v2,zone=a' },
    { name: 'no labels', subset: {}, want: '' },
    { name: 'an empty value', subset: { canary: '' }, want: 'canary=' },
    { name: 'code-point order (upper case first)', subset: { b: '1', B: '2', a: '3' }, want: 'B=2,a=3,b=1' },
  ];
  it.each(cases)('$name → $want', ({ subset, want }) => {
    expect(subsetKey(subset)).toBe(want);
  });

  it('is the same for the same labels given in another order', () => {
    expect(subsetKey({ version: 'v2', zone: 'a' })).toBe(subsetKey({ zone: 'a', version: 'v2' }));
  });
});

describe('effectiveHosts', () => {
  const cases: { name: string; route: Pick<RouteSpec, 'hosts' | 'destinations'>; want: string[] }[] = [
    { name: 'own hosts win over destinations', route: { hosts: ['api.example.com'], destinations: [to('greeter')] }, want: ['api.example.com'] },
    { name: 'own hosts kept as given (case, ports, order)', route: { hosts: ['B.example.com', 'a.example.com:8443'] }, want: ['B.example.com', 'a.example.com:8443'] },
    { name: 'no hosts: the destination service host', route: { hosts: [], destinations: [to('greeter')] }, want: ['greeter.default'] },
    {
      name: 'no hosts: each destination service once, in destination order (subsets of one service share a host)',
      route: {
        hosts: [],
        destinations: [
          to('greeter', { subset: { version: 'v1' }, weight: 50 }),
          { namespace: 'shop', name: 'web', weight: 25 },
          to('greeter', { subset: { version: 'v2' }, weight: 25 }),
        ],
      },
      want: ['greeter.default', 'web.shop'],
    },
    { name: 'no hosts, no destinations (a redirect): none', route: { hosts: [] }, want: [] },
  ];
  it.each(cases)('$name', ({ route, want }) => {
    expect(effectiveHosts(route)).toEqual(want);
  });
});

describe('compareRoutes', () => {
  const r = (namespace: string, name: string, priority: number) => spec({ namespace, name, priority });
  const cases: { name: string; routes: RouteSpec[]; want: string[] }[] = [
    { name: 'higher priority first', routes: [r('a', 'low', 1), r('a', 'high', 9), r('a', 'mid', 5)], want: ['a/high', 'a/mid', 'a/low'] },
    { name: 'negative priorities after zero', routes: [r('a', 'neg', -1), r('a', 'zero', 0)], want: ['a/zero', 'a/neg'] },
    { name: 'same priority: by namespace', routes: [r('shop', 'a', 0), r('default', 'z', 0)], want: ['default/z', 'shop/a'] },
    { name: 'same priority and namespace: by name', routes: [r('a', 'b', 0), r('a', 'a', 0), r('a', 'c', 0)], want: ['a/a', 'a/b', 'a/c'] },
    { name: 'priority before namespace', routes: [r('a', 'x', 0), r('z', 'x', 1)], want: ['z/x', 'a/x'] },
    { name: 'code-point order, not locale', routes: [r('a', 'b', 0), r('a', 'B', 0), r('a', 'a', 0)], want: ['a/B', 'a/a', 'a/b'] },
  ];
  it.each(cases)('$name', ({ routes, want }) => {
    expect([...routes].sort(compareRoutes).map((s) => `${s.namespace}/${s.name}`)).toEqual(want);
  });

  it('is 0 only for the same namespace, name and priority', () => {
    expect(compareRoutes(spec(), spec({ hosts: ['other'] }))).toBe(0);
    expect(compareRoutes(spec(), spec({ priority: 1 }))).toBeGreaterThan(0);
    expect(compareRoutes(spec({ priority: 1 }), spec())).toBeLessThan(0);
  });
});

describe('inSubset', () => {
  const cases: { name: string; subset: Subset; labels: Record<string, string>; want: boolean }[] = [
    { name: 'the one label matches', subset: { version: 'v2' }, labels: { version: 'v2' }, want: true },
    { name: 'extra endpoint labels do not matter', subset: { version: 'v2' }, labels: { version: 'v2', zone: 'a' }, want: true },
    { name: 'every subset label must match', subset: { version: 'v2', zone: 'a' }, labels: { version: 'v2', zone: 'b' }, want: false },
    { name: 'a missing label does not match', subset: { version: 'v2' }, labels: { zone: 'a' }, want: false },
    { name: 'values compare exactly (case)', subset: { version: 'V2' }, labels: { version: 'v2' }, want: false },
    { name: 'an empty value matches only an empty value', subset: { canary: '' }, labels: {}, want: false },
    { name: 'the empty subset holds every endpoint', subset: {}, labels: {}, want: true },
  ];
  it.each(cases)('$name', ({ subset, labels, want }) => {
    expect(inSubset(subset, labels)).toBe(want);
  });
});

describe('hashPolicyOf', () => {
  const hashOn: HashPolicy[] = [{ header: 'x-user' }, { cookie: { name: 'sid', ttlSeconds: 60 }, terminal: true }];
  const cases: { name: string; policy?: TrafficPolicy; want: HashPolicy[] | undefined }[] = [
    { name: 'no policy', want: undefined },
    { name: 'a policy without a load balancer', policy: { connectionPool: { maxRequests: 1 } }, want: undefined },
    { name: 'ring_hash with hash policies', policy: { loadBalancer: { algorithm: 'ring_hash', hashOn } }, want: hashOn },
    { name: 'maglev with hash policies', policy: { loadBalancer: { algorithm: 'maglev', hashOn } }, want: hashOn },
    { name: 'ring_hash without hash policies', policy: { loadBalancer: { algorithm: 'ring_hash' } }, want: undefined },
    { name: 'ring_hash with an empty list', policy: { loadBalancer: { algorithm: 'ring_hash', hashOn: [] } }, want: undefined },
    { name: 'round_robin ignores hash policies', policy: { loadBalancer: { algorithm: 'round_robin', hashOn } }, want: undefined },
    { name: 'least_request ignores hash policies', policy: { loadBalancer: { algorithm: 'least_request', hashOn } }, want: undefined },
    { name: 'random ignores hash policies', policy: { loadBalancer: { algorithm: 'random', hashOn } }, want: undefined },
  ];
  it.each(cases)('$name', ({ policy, want }) => {
    expect(hashPolicyOf(svc(policy ? { trafficPolicy: policy } : {}))).toEqual(want);
  });

  it('is undefined for no service', () => {
    expect(hashPolicyOf(undefined)).toBeUndefined();
  });
});

describe('attachRoutes: where routes attach', () => {
  const greeter = svc();
  const web = svc({ namespace: 'shop', name: 'web', port: 8080, protocol: 'http' });

  it('attaches nothing for no routes', () => {
    expect(attachRoutes([greeter, web], [])).toEqual(routing());
  });

  it('a route without hosts attaches to its destination service (the whole spec kept, no hash policy)', () => {
    const r = spec();
    expect(attachRoutes([greeter, web], [r])).toEqual(routing({ byService: new Map([['default/greeter', [{ spec: r, hashPolicy: undefined }]]]) }));
  });

  it('a route without hosts and destinations in two services attaches to both', () => {
    const r = spec({ destinations: [to('greeter', { weight: 50 }), { namespace: 'shop', name: 'web', weight: 50 }] });
    expect(names(attachRoutes([greeter, web], [r]).byService)).toEqual({ 'default/greeter': ['default/r'], 'shop/web': ['default/r'] });
  });

  const hostCases: { name: string; hosts: string[]; byService: Record<string, string[]>; external: Record<string, string[]> }[] = [
    { name: "the service's host", hosts: ['web.shop'], byService: { 'shop/web': ['default/r'] }, external: {} },
    { name: "the service's host with the service's port", hosts: ['web.shop:8080'], byService: { 'shop/web': ['default/r'] }, external: {} },
    { name: 'in any case', hosts: ['Web.SHOP:8080'], byService: { 'shop/web': ['default/r'] }, external: {} },
    { name: "another service's host: there, not at the destination", hosts: ['greeter.default'], byService: { 'default/greeter': ['default/r'] }, external: {} },
    { name: "the service's host with another port: an external host", hosts: ['web.shop:9090'], byService: {}, external: { 'web.shop:9090': ['default/r'] } },
    { name: 'a host no service has: an external host', hosts: ['api.example.com'], byService: {}, external: { 'api.example.com': ['default/r'] } },
    { name: 'an external host is lower-cased', hosts: ['API.Example.COM'], byService: {}, external: { 'api.example.com': ['default/r'] } },
    { name: 'a wildcard host: an external host', hosts: ['*.example.com'], byService: {}, external: { '*.example.com': ['default/r'] } },
    {
      name: 'service and external hosts together',
      hosts: ['api.example.com', 'web.shop', 'www.example.com:8443'],
      byService: { 'shop/web': ['default/r'] },
      external: { 'api.example.com': ['default/r'], 'www.example.com:8443': ['default/r'] },
    },
    { name: 'two hosts of one service: attached once', hosts: ['web.shop', 'web.shop:8080'], byService: { 'shop/web': ['default/r'] }, external: {} },
    { name: 'one host in two cases: attached once', hosts: ['web.shop', 'WEB.shop'], byService: { 'shop/web': ['default/r'] }, external: {} },
    { name: 'one external host in two cases: attached once', hosts: ['a.example.com', 'A.example.com'], byService: {}, external: { 'a.example.com': ['default/r'] } },
  ];
  it.each(hostCases)('a route claiming $name', ({ hosts, byService, external }) => {
    const out = attachRoutes([greeter, web], [spec({ hosts, destinations: [{ namespace: 'shop', name: 'web', weight: 100 }] })]);
    expect(names(out.byService)).toEqual(byService);
    expect(names(out.externalHosts)).toEqual(external);
    expect(out.dropped).toEqual([]);
  });

  it('the same attached object in every place a route lands', () => {
    const out = attachRoutes([greeter, web], [spec({ hosts: ['web.shop', 'greeter.default:50051', 'api.example.com'] })]);
    const [a] = out.byService.get('shop/web')!;
    expect(out.byService.get('default/greeter')![0]).toBe(a);
    expect(out.externalHosts.get('api.example.com')![0]).toBe(a);
  });

  it('a redirect or direct response with hosts attaches like any route, without a hash policy', () => {
    const redirect = spec({ name: 'moved', hosts: ['greeter.default'], destinations: undefined, redirect: { scheme: 'https' } });
    const direct = spec({ name: 'gone', hosts: ['old.example.com'], destinations: undefined, directResponse: { status: 410 } });
    const out = attachRoutes([svc({ trafficPolicy: RING_HASH })], [redirect, direct]);
    expect(out).toEqual(
      routing({
        byService: new Map([['default/greeter', [{ spec: redirect, hashPolicy: undefined }]]]),
        externalHosts: new Map([['old.example.com', [{ spec: direct, hashPolicy: undefined }]]]),
      }),
    );
  });

  it('a redirect without hosts claims nothing and is not reported as dropped', () => {
    expect(attachRoutes([greeter], [spec({ destinations: undefined, redirect: { scheme: 'https' } })])).toEqual(routing());
  });
});

describe('attachRoutes: order', () => {
  const routes = [
    spec({ namespace: 'shop', name: 'b', priority: 0 }),
    spec({ namespace: 'default', name: 'z', priority: 0 }),
    spec({ namespace: 'shop', name: 'a', priority: 0 }),
    spec({ namespace: 'zeta', name: 'top', priority: 10 }),
    spec({ namespace: 'default', name: 'neg', priority: -5 }),
    spec({ namespace: 'default', name: 'mid', priority: 3 }),
  ];
  const want = ['zeta/top', 'default/mid', 'default/z', 'shop/a', 'shop/b', 'default/neg'];

  it('orders a virtual host by priority (higher first), then namespace, then name', () => {
    expect(names(attachRoutes([svc()], routes).byService)).toEqual({ 'default/greeter': want });
  });

  it('in whatever order the routes come', () => {
    expect(names(attachRoutes([svc()], [...routes].reverse()).byService)).toEqual({ 'default/greeter': want });
  });

  it('orders external hosts the same way', () => {
    const external = routes.map((r) => ({ ...r, hosts: ['api.example.com'] }));
    expect(names(attachRoutes([svc()], external).externalHosts)).toEqual({ 'api.example.com': want });
  });

  it('does not reorder the caller\'s array', () => {
    const given = [...routes];
    attachRoutes([svc()], given);
    expect(given).toEqual(routes);
  });
});

describe('attachRoutes: dropped routes', () => {
  const greeter = svc({ endpoints: labelled({ version: 'v1' }, { version: 'v2', zone: 'a' }) });
  const cases: { name: string; route: RouteSpec; reason: string }[] = [
    {
      name: 'a destination service that does not exist',
      route: spec({ destinations: [to('greeter', { weight: 50 }), to('missing', { weight: 50 })] }),
      reason: 'service default/missing does not exist',
    },
    {
      name: 'a destination in another namespace that does not exist',
      route: spec({ destinations: [{ namespace: 'shop', name: 'greeter', weight: 100 }] }),
      reason: 'service shop/greeter does not exist',
    },
    {
      name: 'a subset no endpoint has',
      route: spec({ destinations: [to('greeter', { subset: { version: 'v3' } })] }),
      reason: 'no endpoint of default/greeter has the labels version=v3',
    },
    {
      name: 'a subset whose labels are each some endpoint\'s but never together',
      route: spec({ destinations: [to('greeter', { subset: { zone: 'a', version: 'v1' } })] }),
      reason: 'no endpoint of default/greeter has the labels version=v1,zone=a',
    },
    {
      name: 'a mirror service that does not exist',
      route: spec({ mirror: { namespace: 'default', name: 'shadow', percent: 10 } }),
      reason: 'service default/shadow does not exist',
    },
    {
      name: 'a mirror subset no endpoint has',
      route: spec({ mirror: { namespace: 'default', name: 'greeter', subset: { version: 'v9' }, percent: 10 } }),
      reason: 'no endpoint of default/greeter has the labels version=v9',
    },
  ];
  it.each(cases)('$name: dropped with its reason, attached nowhere, no subsets', ({ route, reason }) => {
    const claimed = { ...route, hosts: ['greeter.default', 'api.example.com'] };
    expect(attachRoutes([greeter], [claimed])).toEqual(routing({ dropped: [{ route: 'default/r', reason }] }));
  });

  it('a subset of a service without endpoints is dropped', () => {
    expect(attachRoutes([svc()], [spec({ destinations: [to('greeter', { subset: { version: 'v1' } })] })]).dropped).toEqual([
      { route: 'default/r', reason: 'no endpoint of default/greeter has the labels version=v1' },
    ]);
  });

  it('names the first missing reference, destinations before the mirror', () => {
    const route = spec({ destinations: [to('gone-a')], mirror: { namespace: 'default', name: 'gone-b', percent: 1 } });
    expect(attachRoutes([greeter], [route]).dropped).toEqual([{ route: 'default/r', reason: 'service default/gone-a does not exist' }]);
  });

  it('drops only the broken route; the others attach, and drops are listed in route order', () => {
    const out = attachRoutes(
      [greeter],
      [
        spec({ name: 'ok' }),
        spec({ namespace: 'b', name: 'broken', destinations: [to('nope')] }),
        spec({ namespace: 'a', name: 'broken', destinations: [to('greeter', { subset: { version: 'v7' } })] }),
        spec({ name: 'first', priority: 1, destinations: [to('greeter', { subset: { version: 'v2' } })] }),
      ],
    );
    expect(names(out.byService)).toEqual({ 'default/greeter': ['default/first', 'default/ok'] });
    expect(out.dropped).toEqual([
      { route: 'a/broken', reason: 'no endpoint of default/greeter has the labels version=v7' },
      { route: 'b/broken', reason: 'service default/nope does not exist' },
    ]);
    expect(out.subsets).toEqual(new Map([['default/greeter', [{ version: 'v2' }]]]));
  });

  it('a route to a service with endpoints but no subset is not dropped, whatever its endpoints\' labels', () => {
    expect(attachRoutes([svc()], [spec()]).dropped).toEqual([]);
  });
});

describe('attachRoutes: subsets', () => {
  const greeter = svc({ endpoints: labelled({ version: 'v1', zone: 'a' }, { version: 'v2', zone: 'b' }, { version: 'v10', zone: 'a' }) });
  const shadow = svc({ name: 'shadow', endpoints: labelled({ version: 'v1' }, { track: 'canary' }) });

  const cases: { name: string; routes: RouteSpec[]; want: [string, Subset[]][] }[] = [
    { name: 'none without subsets', routes: [spec()], want: [] },
    {
      name: 'from destinations, sorted by subset key (code-point: v1 < v10 < v2)',
      routes: [
        spec({
          destinations: [
            to('greeter', { subset: { version: 'v2' }, weight: 40 }),
            to('greeter', { subset: { version: 'v10' }, weight: 30 }),
            to('greeter', { subset: { version: 'v1' }, weight: 30 }),
          ],
        }),
      ],
      want: [['default/greeter', [{ version: 'v1' }, { version: 'v10' }, { version: 'v2' }]]],
    },
    {
      name: 'deduplicated across routes, and across label order',
      routes: [
        spec({ name: 'a', destinations: [to('greeter', { subset: { zone: 'a', version: 'v1' } })] }),
        spec({ name: 'b', destinations: [to('greeter', { subset: { version: 'v1', zone: 'a' } })] }),
        spec({ name: 'c', destinations: [to('greeter', { subset: { version: 'v2' } })] }),
      ],
      want: [['default/greeter', [{ zone: 'a', version: 'v1' }, { version: 'v2' }]]],
    },
    {
      name: 'from the mirror too, under the mirrored service',
      routes: [spec({ destinations: [to('greeter', { subset: { version: 'v2' } })], mirror: { namespace: 'default', name: 'shadow', subset: { track: 'canary' }, percent: 5 } })],
      want: [
        ['default/greeter', [{ version: 'v2' }]],
        ['default/shadow', [{ track: 'canary' }]],
      ],
    },
    {
      name: 'a mirror to the same subset as a destination: once',
      routes: [spec({ destinations: [to('greeter', { subset: { version: 'v2' } })], mirror: { namespace: 'default', name: 'greeter', subset: { version: 'v2' }, percent: 5 } })],
      want: [['default/greeter', [{ version: 'v2' }]]],
    },
    {
      name: 'from a route attached elsewhere (external host): subsets follow the destination, not the host',
      routes: [spec({ hosts: ['api.example.com'], destinations: [to('shadow', { subset: { version: 'v1' } })] })],
      want: [['default/shadow', [{ version: 'v1' }]]],
    },
  ];
  it.each(cases)('$name', ({ routes, want }) => {
    expect(attachRoutes([greeter, shadow], routes).subsets).toEqual(new Map(want));
  });

  it('none from a dropped route', () => {
    const route = spec({ destinations: [to('greeter', { subset: { version: 'v2' } })], mirror: { namespace: 'default', name: 'nope', percent: 1 } });
    expect(attachRoutes([greeter, shadow], [route]).subsets).toEqual(new Map());
  });

  // The API schema and the route validator accept `subset: {}` and treat it as no subset (the whole
  // service); clusterOf() in envoy/route.ts does too. attachRoutes counts it as a subset: the service
  // gets a second cluster named like its own ("greeter.default", built twice) and an EDS resource
  // "greeter.default~<uid>|" that nothing loads; and a route with `subset: {}` to a service without
  // endpoints is dropped ("has the labels " with nothing after it) where `subset` left out is not.
  it('an empty subset is no subset: no subset cluster, and not dropped for a service without endpoints', () => {
    const route = spec({ destinations: [to('greeter', { subset: {} })] });
    expect(attachRoutes([greeter], [route]).subsets).toEqual(new Map());
    expect(attachRoutes([svc()], [route]).dropped).toEqual([]);
  });
});

describe('attachRoutes: hash policy', () => {
  const hashOn: HashPolicy[] = [{ header: 'x-user' }];
  const cases: { name: string; services: RoutableService[]; route: RouteSpec; want: HashPolicy[] | undefined }[] = [
    { name: 'from the destination service\'s ring_hash policy', services: [svc({ trafficPolicy: RING_HASH })], route: spec(), want: hashOn },
    {
      name: 'from maglev too',
      services: [svc({ trafficPolicy: { loadBalancer: { algorithm: 'maglev', hashOn: [{ sourceIp: true }] } } })],
      route: spec(),
      want: [{ sourceIp: true }],
    },
    { name: 'none for round robin', services: [svc({ trafficPolicy: { loadBalancer: { algorithm: 'round_robin', hashOn } } })], route: spec(), want: undefined },
    {
      name: 'the first destination only: its service hashes, the second\'s does not matter',
      services: [svc({ trafficPolicy: RING_HASH }), svc({ name: 'other', trafficPolicy: { loadBalancer: { algorithm: 'ring_hash', hashOn: [{ header: 'x-other' }] } } })],
      route: spec({ destinations: [to('greeter', { weight: 50 }), to('other', { weight: 50 })] }),
      want: hashOn,
    },
    {
      name: 'the first destination only: a second destination that hashes gives nothing',
      services: [svc(), svc({ name: 'other', trafficPolicy: RING_HASH })],
      route: spec({ destinations: [to('greeter', { weight: 50 }), to('other', { weight: 50 })] }),
      want: undefined,
    },
    {
      name: 'not from the mirror',
      services: [svc(), svc({ name: 'shadow', trafficPolicy: RING_HASH })],
      route: spec({ mirror: { namespace: 'default', name: 'shadow', percent: 1 } }),
      want: undefined,
    },
    {
      name: 'from the destination, not the service whose host the route claims',
      services: [svc({ trafficPolicy: RING_HASH }), svc({ name: 'other' })],
      route: spec({ hosts: ['greeter.default'], destinations: [to('other')] }),
      want: undefined,
    },
    {
      name: 'a subset destination: from its service',
      services: [svc({ trafficPolicy: RING_HASH, endpoints: labelled({ version: 'v2' }) })],
      route: spec({ destinations: [to('greeter', { subset: { version: 'v2' } })] }),
      want: hashOn,
    },
  ];
  it.each(cases)('$name', ({ services, route, want }) => {
    const out = attachRoutes(services, [{ ...route, hosts: [...route.hosts, 'api.example.com'] }]);
    expect(out.externalHosts.get('api.example.com')![0]!.hashPolicy).toEqual(want);
    for (const list of out.byService.values()) expect(list[0]!.hashPolicy).toEqual(want);
  });

  it('the same in the service virtual host and on external hosts', () => {
    const out = attachRoutes([svc({ trafficPolicy: RING_HASH })], [spec({ hosts: ['greeter.default', 'api.example.com'] })]);
    expect(out.byService.get('default/greeter')![0]!.hashPolicy).toEqual(hashOn);
    expect(out.externalHosts.get('api.example.com')![0]!.hashPolicy).toEqual(hashOn);
  });
});
