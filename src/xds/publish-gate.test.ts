import { describe, expect, it } from 'vitest';
import type { Plain } from '../envoy/common.ts';
import { DEFAULT_MESH_SETTINGS } from '../model/mesh.ts';
import { TYPE_URLS, type ResourceKind, type TypeUrl } from '../protos/type-urls.ts';
import { endpoint, meshOf, sampleMesh, service } from '../../test/support/mesh-fixtures.ts';
import { ResourceEncoder } from './cache/resource.ts';
import { emptySnapshot, type Snapshot } from './cache/snapshot-cache.ts';
import { passGate, references, type GateIssue } from './publish-gate.ts';
import { buildResources } from './resources/index.ts';
import { ALL_ROLES, type BuiltResource, type ResourceSet } from './resources/types.ts';

const KINDS = Object.keys(TYPE_URLS) as ResourceKind[];
const ADS = { ads: {}, resourceApiVersion: 'V3' };

/** A resource set with only the given resources. */
function setOf(over: Partial<ResourceSet>): ResourceSet {
  return { cluster: [], endpoint: [], listener: [], route: [], secret: [], ...over };
}
function built(name: string, resource: Plain): BuiltResource {
  return { name, resource, roles: ALL_ROLES };
}
/** Replaces the plain resource `name` of `kind` in a built set. */
function patched(set: ResourceSet, kind: ResourceKind, name: string, patch: (r: Plain) => Plain): ResourceSet {
  return { ...set, [kind]: set[kind].map((b) => (b.name === name ? { ...b, resource: patch(b.resource) } : b)) };
}
function namesOf(snapshot: Snapshot): Record<string, string[]> {
  return Object.fromEntries(KINDS.map((k) => [k, [...(snapshot.resources.get(TYPE_URLS[k])?.keys() ?? [])]]));
}
function namesBuilt(set: ResourceSet): Record<string, string[]> {
  return Object.fromEntries(KINDS.map((k) => [k, set[k].map((b) => b.name)]));
}
const edsCluster = (name: string, serviceName = name): Plain => ({
  name,
  type: 'EDS',
  connectTimeout: { seconds: 1 },
  edsClusterConfig: { edsConfig: ADS, serviceName },
});
const cla = (clusterName: string): Plain => ({ clusterName, endpoints: [] });
const missing = (type: ResourceKind, name: string, path: string, message: string, target: string): GateIssue => ({
  type,
  name,
  path,
  message: `references ${message} "${target}", which does not exist`,
});

describe('passGate: valid resources', () => {
  it('publishes every built resource under the new revision, with no issues', () => {
    const set = buildResources(sampleMesh(), DEFAULT_MESH_SETTINGS);
    const { snapshot, issues } = passGate(set, new ResourceEncoder(), emptySnapshot(), 7);
    expect(issues).toEqual([]);
    expect(snapshot.revision).toBe(7);
    expect(namesOf(snapshot)).toEqual(namesBuilt(set));
  });

  it('publishes each EDS cluster with the name of the EDS resource it loads, and a DNS cluster without one', () => {
    const { snapshot } = passGate(buildResources(sampleMesh(), DEFAULT_MESH_SETTINGS), new ResourceEncoder(), emptySnapshot(), 1);
    const clusters = snapshot.resources.get(TYPE_URLS.cluster)!;
    expect(Object.fromEntries([...clusters].map(([name, r]) => [name, r.edsName]))).toEqual({
      'greeter.default': 'greeter.default~37300e9c',
      'payments.ext': undefined,
      'db.shop': 'db.shop~ad9c1afe',
      'web.shop': 'web.shop~97375646',
    });
    for (const [name, r] of clusters) if (r.edsName) expect(snapshot.resources.get(TYPE_URLS.endpoint)!.has(r.edsName), name).toBe(true);
  });

  it('publishes the owner of each resource that only the sidecars of one service may see, and no owner on shared ones', () => {
    const { snapshot } = passGate(buildResources(sampleMesh(), DEFAULT_MESH_SETTINGS), new ResourceEncoder(), emptySnapshot(), 1);
    const owners = KINDS.flatMap((k) => [...snapshot.resources.get(TYPE_URLS[k])!].filter(([, r]) => 'owner' in r).map(([name, r]) => [k, name, r.owner]));
    expect(owners).toEqual([
      ['cluster', 'inbound:greeter.default', 'default/greeter'],
      ['cluster', 'inbound:payments.ext', 'ext/payments'],
      ['cluster', 'inbound:db.shop', 'shop/db'],
      ['cluster', 'inbound:web.shop', 'shop/web'],
      ['listener', 'inbound:greeter.default', 'default/greeter'],
      ['listener', 'inbound:payments.ext', 'ext/payments'],
      ['listener', 'inbound:db.shop', 'shop/db'],
      ['listener', 'inbound:web.shop', 'shop/web'],
    ]);
  });

  it('publishes the encoder’s shared resources, so an unchanged rebuild publishes the same objects', () => {
    const encoder = new ResourceEncoder();
    const set = buildResources(sampleMesh(), DEFAULT_MESH_SETTINGS);
    const first = passGate(set, encoder, emptySnapshot(), 1).snapshot;
    const second = passGate(buildResources(sampleMesh(), DEFAULT_MESH_SETTINGS), encoder, first, 2).snapshot;
    for (const kind of KINDS) {
      for (const [name, r] of second.resources.get(TYPE_URLS[kind])!) expect(r, name).toBe(first.resources.get(TYPE_URLS[kind])!.get(name));
    }
  });
});

describe('passGate: resources that fail validation', () => {
  // One HTTP service: its cluster, load assignment, two API listeners, the gateway listener and routes, and the sidecar resources.
  const mesh = meshOf([service({ namespace: 'shop', name: 'web', protocol: 'http', port: 8080, endpoints: [endpoint()] })]);
  const good = buildResources(mesh, DEFAULT_MESH_SETTINGS);

  // the resource each case breaks is named `web.shop` unless `target` says otherwise
  const cases: { name: string; bad: ResourceSet; kind: ResourceKind; target?: string; issues: Pick<GateIssue, 'path' | 'message'>[] }[] = [
    {
      name: 'a cluster with a zero connect timeout',
      bad: patched(good, 'cluster', 'web.shop', (r) => ({ ...r, connectTimeout: { seconds: 0 } })),
      kind: 'cluster',
      issues: [{ path: 'connect_timeout', message: 'must be > 0s' }],
    },
    {
      name: 'a cluster with an undefined enum value',
      bad: patched(good, 'cluster', 'web.shop', (r) => ({ ...r, lbPolicy: 42 })),
      kind: 'cluster',
      issues: [{ path: 'lb_policy', message: 'value must be one of the defined enum values' }],
    },
    {
      name: 'a cluster protobufjs cannot encode',
      bad: patched(good, 'cluster', 'web.shop', (r) => ({ ...r, connectTimeout: 'soon' })),
      kind: 'cluster',
      issues: [{ path: '', message: expect.stringMatching(/^cannot be encoded: .*connectTimeout/) as unknown as string }],
    },
    {
      name: 'a load assignment with weight 0',
      bad: buildResources(meshOf([service({ namespace: 'shop', name: 'web', protocol: 'http', port: 8080, endpoints: [endpoint({ weight: 0 })] })]), DEFAULT_MESH_SETTINGS),
      kind: 'endpoint',
      target: 'web.shop~97375646',
      issues: [
        { path: 'endpoints[0].lb_endpoints[0].load_balancing_weight.value', message: 'must be >= 1' },
        { path: 'endpoints[0].load_balancing_weight.value', message: 'must be >= 1' },
      ],
    },
    {
      name: 'a route configuration with a domain in two virtual hosts (Envoy NACKs it)',
      bad: patched(good, 'route', 'gateway', (r) => {
        const [vh] = r.virtualHosts as Plain[];
        return { ...r, virtualHosts: [vh, { name: 'copy', domains: ['other', 'WEB.shop'], routes: [] }] };
      }),
      kind: 'route',
      target: 'gateway',
      issues: [{ path: 'virtualHosts[1].domains[1]', message: 'repeats the domain "WEB.shop" of virtualHosts[0].domains[0]' }],
    },
    {
      name: 'an inline route configuration with a domain twice in one virtual host',
      bad: patched(good, 'listener', 'web.shop', (r) => {
        const copy = structuredClone(r) as { apiListener: { apiListener: { routeConfig: { virtualHosts: { domains: string[] }[] } } } };
        const vh = copy.apiListener.apiListener.routeConfig.virtualHosts[0]!;
        vh.domains = [...vh.domains, vh.domains[0]!];
        return copy as unknown as Plain;
      }),
      kind: 'listener',
      target: 'web.shop',
      issues: [{ path: expect.stringMatching(/^apiListener\.apiListener\.routeConfig\.virtualHosts\[0\]\.domains\[\d+\]$/) as unknown as string, message: expect.stringMatching(/^repeats the domain "web\.shop.*" of apiListener\.apiListener\.routeConfig\.virtualHosts\[0\]\.domains\[0\]$/) as unknown as string }],
    },
  ];

  it.each(cases)('$name: held back, naming type, name and field path; the previous version stays', ({ bad, kind, target = 'web.shop', issues }) => {
    const encoder = new ResourceEncoder();
    const previous = passGate(good, encoder, emptySnapshot(), 1).snapshot;
    const { snapshot, issues: got } = passGate(bad, encoder, previous, 2);
    expect(got).toEqual(issues.map((i) => ({ type: kind, name: target, ...i })));
    // the previous good version is published, and nothing that references it is held back
    const kept = previous.resources.get(TYPE_URLS[kind])!.get(target);
    expect(kept).toBeDefined();
    expect(snapshot.resources.get(TYPE_URLS[kind])!.get(target)).toBe(kept);
    expect(namesOf(snapshot)).toEqual(namesBuilt(good));
  });

  it('a failing cluster with no previous version is dropped, and so is everything left pointing at it', () => {
    const bad = cases[0]!.bad;
    const { snapshot, issues } = passGate(bad, new ResourceEncoder(), emptySnapshot(), 1);
    const CLUSTER = 'envoy.config.cluster.v3.Cluster';
    const ROUTE = 'route.cluster';
    expect(issues).toEqual([
      { type: 'cluster', name: 'web.shop', path: 'connect_timeout', message: 'must be > 0s' },
      missing('listener', 'web.shop:8080', `apiListener.apiListener.routeConfig.virtualHosts[0].routes[0].${ROUTE}`, CLUSTER, 'web.shop'),
      missing('listener', 'web.shop', `apiListener.apiListener.routeConfig.virtualHosts[0].routes[0].${ROUTE}`, CLUSTER, 'web.shop'),
      missing('route', 'gateway', `virtualHosts[0].routes[0].${ROUTE}`, CLUSTER, 'web.shop'),
      missing('route', 'outbound:8080', `virtualHosts[0].routes[0].${ROUTE}`, CLUSTER, 'web.shop'),
      // only found once the route configurations are gone
      missing('listener', 'gateway', 'filterChains[0].filters[0].typedConfig.rds.routeConfigName', 'envoy.config.route.v3.RouteConfiguration', 'gateway'),
      missing('listener', 'outbound:8080', 'filterChains[0].filters[0].typedConfig.rds.routeConfigName', 'envoy.config.route.v3.RouteConfiguration', 'outbound:8080'),
    ]);
    // what does not lead to the cluster stays: the sidecars' pass-through and the service's inbound side
    expect(namesOf(snapshot)).toEqual({
      cluster: ['PassthroughCluster', 'inbound:web.shop'],
      endpoint: ['web.shop~97375646'],
      listener: ['virtualOutbound', 'inbound:web.shop'],
      route: [],
      secret: [],
    });
  });

  it('reports the same issues again on the next build while the resource is still bad', () => {
    const encoder = new ResourceEncoder();
    const bad = cases[0]!.bad;
    const first = passGate(bad, encoder, emptySnapshot(), 1);
    const second = passGate(bad, encoder, first.snapshot, 2);
    expect(second.issues).toEqual(first.issues);
    expect(second.issues).not.toEqual([]);
  });

  it('publishes the fixed resource once it is good again', () => {
    const encoder = new ResourceEncoder();
    const held = passGate(cases[0]!.bad, encoder, emptySnapshot(), 1).snapshot;
    const { snapshot, issues } = passGate(good, encoder, held, 2);
    expect(issues).toEqual([]);
    expect(namesOf(snapshot)).toEqual(namesBuilt(good));
  });
});

describe('passGate: references', () => {
  const rdsListener: Plain = {
    name: 'front',
    address: { socketAddress: { address: '0.0.0.0', portValue: 80 } },
    filterChains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typedConfig: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              statPrefix: 'front',
              rds: { configSource: ADS, routeConfigName: 'missing-routes' },
              httpFilters: [{ name: 'envoy.filters.http.router', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
            },
          },
        ],
      },
    ],
  };

  it('reports a listener naming a missing route configuration and a cluster naming a missing EDS resource', () => {
    const set = setOf({ cluster: [built('a', edsCluster('a', 'missing-eds'))], listener: [built('front', rdsListener)] });
    const { snapshot, issues } = passGate(set, new ResourceEncoder(), emptySnapshot(), 1);
    expect(issues).toEqual([
      missing('cluster', 'a', 'edsClusterConfig.serviceName', 'envoy.config.endpoint.v3.ClusterLoadAssignment', 'missing-eds'),
      missing('listener', 'front', 'filterChains[0].filters[0].typedConfig.rds.routeConfigName', 'envoy.config.route.v3.RouteConfiguration', 'missing-routes'),
    ]);
    expect(namesOf(snapshot)).toEqual({ cluster: [], endpoint: [], listener: [], route: [], secret: [] });
  });

  it('keeps the previous version of a resource whose new version names something missing', () => {
    const encoder = new ResourceEncoder();
    const previous = passGate(setOf({ cluster: [built('a', edsCluster('a'))], endpoint: [built('a', cla('a'))] }), encoder, emptySnapshot(), 1).snapshot;
    const next = setOf({ cluster: [built('a', edsCluster('a', 'b'))], endpoint: [built('a', cla('a'))] });
    const { snapshot, issues } = passGate(next, encoder, previous, 2);
    expect(issues.map((i) => [i.type, i.name, i.path])).toEqual([['cluster', 'a', 'edsClusterConfig.serviceName']]);
    expect(snapshot.resources.get(TYPE_URLS.cluster)!.get('a')).toBe(previous.resources.get(TYPE_URLS.cluster)!.get('a'));
  });

  it('counts a name as present when its new version fails but its previous one is kept', () => {
    const encoder = new ResourceEncoder();
    const previous = passGate(setOf({ cluster: [built('a', edsCluster('a'))], endpoint: [built('a', cla('a'))] }), encoder, emptySnapshot(), 1).snapshot;
    const badCla = { clusterName: 'a', endpoints: [{ lbEndpoints: [], loadBalancingWeight: { value: 0 } }] };
    const changedCluster = { ...edsCluster('a'), connectTimeout: { seconds: 2 } };
    const { snapshot, issues } = passGate(setOf({ cluster: [built('a', changedCluster)], endpoint: [built('a', badCla)] }), encoder, previous, 2);
    expect(issues).toEqual([{ type: 'endpoint', name: 'a', path: 'endpoints[0].load_balancing_weight.value', message: 'must be >= 1' }]);
    expect(snapshot.resources.get(TYPE_URLS.endpoint)!.get('a')).toBe(previous.resources.get(TYPE_URLS.endpoint)!.get('a'));
    expect(snapshot.resources.get(TYPE_URLS.cluster)!.get('a')!.version).not.toBe(previous.resources.get(TYPE_URLS.cluster)!.get('a')!.version);
  });

  it('does not count a previous resource that is no longer built', () => {
    const encoder = new ResourceEncoder();
    const previous = passGate(setOf({ cluster: [built('a', edsCluster('a'))], endpoint: [built('a', cla('a'))] }), encoder, emptySnapshot(), 1).snapshot;
    const { snapshot, issues } = passGate(setOf({ cluster: [built('a', edsCluster('a'))] }), encoder, previous, 2);
    expect(issues.map((i) => i.message)).toEqual(['references envoy.config.endpoint.v3.ClusterLoadAssignment "a", which does not exist']);
    // the cluster keeps its previous (identical) version; the load assignment is gone
    expect(namesOf(snapshot)).toEqual({ cluster: ['a'], endpoint: [], listener: [], route: [], secret: [] });
  });
});

describe('references', () => {
  const C = TYPE_URLS.cluster;
  const E = TYPE_URLS.endpoint;
  const R = TYPE_URLS.route;
  const cases: { name: string; plain: Plain; want: { type: TypeUrl; name: string; path: string }[] }[] = [
    { name: 'an EDS cluster’s service name', plain: edsCluster('a', 'eds-a'), want: [{ type: E, name: 'eds-a', path: 'edsClusterConfig.serviceName' }] },
    { name: 'a DNS cluster names nothing', plain: { name: 'a', type: 'STRICT_DNS', loadAssignment: cla('a') }, want: [] },
    {
      name: 'route, weighted and mirror clusters',
      plain: {
        name: 'rc',
        virtualHosts: [
          {
            name: 'vh',
            routes: [
              { match: { prefix: '/a' }, route: { cluster: 'one', requestMirrorPolicies: [{ cluster: 'shadow' }, { cluster: 'shadow2' }] } },
              { match: { prefix: '/b' }, route: { weightedClusters: { clusters: [{ name: 'w1', weight: 1 }, { name: 'w2', weight: 3 }] } } },
              { match: { prefix: '/c' }, redirect: { hostRedirect: 'x' } },
            ],
          },
        ],
      },
      want: [
        { type: C, name: 'one', path: 'virtualHosts[0].routes[0].route.cluster' },
        { type: C, name: 'shadow', path: 'virtualHosts[0].routes[0].route.requestMirrorPolicies[0].cluster' },
        { type: C, name: 'shadow2', path: 'virtualHosts[0].routes[0].route.requestMirrorPolicies[1].cluster' },
        { type: C, name: 'w1', path: 'virtualHosts[0].routes[1].route.weightedClusters.clusters[0].name' },
        { type: C, name: 'w2', path: 'virtualHosts[0].routes[1].route.weightedClusters.clusters[1].name' },
      ],
    },
    {
      name: 'an RDS name inside a listener’s HCM',
      plain: { filterChains: [{ filters: [{ typedConfig: { rds: { configSource: ADS, routeConfigName: 'rc' } } }] }] },
      want: [{ type: R, name: 'rc', path: 'filterChains[0].filters[0].typedConfig.rds.routeConfigName' }],
    },
    {
      name: 'clusters of routes inline in an API listener',
      plain: { apiListener: { apiListener: { routeConfig: { virtualHosts: [{ routes: [{ route: { cluster: 'x' } }] }] } } } },
      want: [{ type: C, name: 'x', path: 'apiListener.apiListener.routeConfig.virtualHosts[0].routes[0].route.cluster' }],
    },
    {
      name: 'the cluster of a TCP proxy filter',
      plain: { filterChains: [{ filters: [{ typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', cluster: 'db' } }] }] },
      want: [{ type: C, name: 'db', path: 'filterChains[0].filters[0].typedConfig.cluster' }],
    },
    { name: 'names in unrelated fields are not references', plain: { name: 'cluster', cluster: 'x', serviceName: 'y', routeConfigName: 'z' }, want: [] },
  ];
  it.each(cases)('$name', ({ plain, want }) => {
    expect(references(plain)).toEqual(want);
  });
});

describe('passGate: locality variants', () => {
  const cla = (priority: number): Plain => ({ clusterName: 'greeter', endpoints: [{ lbEndpoints: [], priority }] });
  const withVariants = (variants: BuiltResource['variants']): ResourceSet => setOf({ endpoint: [{ ...built('greeter', cla(0)), variants }] });

  it('publishes the variants of a published resource by name and locality', () => {
    const { snapshot, issues } = passGate(withVariants([{ key: 'zone:eu/a', resource: cla(0) }, { key: 'region:eu', resource: cla(0) }]), new ResourceEncoder(), emptySnapshot(), 1);
    expect(issues).toEqual([]);
    expect([...snapshot.variants!.get(TYPE_URLS.endpoint)!.get('greeter')!.keys()]).toEqual(['zone:eu/a', 'region:eu']);
  });

  it('leaves out a variant that fails validation, naming its locality; its callers get the common resource', () => {
    const bad: Plain = { clusterName: 'greeter', endpoints: [{ lbEndpoints: [], priority: 200 }] };
    const { snapshot, issues } = passGate(withVariants([{ key: 'zone:eu/a', resource: bad }, { key: 'region:eu', resource: cla(0) }]), new ResourceEncoder(), emptySnapshot(), 1);
    expect(issues).toEqual([{ type: 'endpoint', name: 'greeter', path: 'endpoints[0].priority', message: '(variant zone:eu/a) must be <= 128' }]);
    expect([...snapshot.variants!.get(TYPE_URLS.endpoint)!.get('greeter')!.keys()]).toEqual(['region:eu']);
    expect(snapshot.resources.get(TYPE_URLS.endpoint)!.has('greeter')).toBe(true);
  });

  it('publishes no variants of a resource that is itself held back', () => {
    const set = setOf({ endpoint: [{ ...built('greeter', { clusterName: 'greeter', endpoints: [{ lbEndpoints: [], priority: 200 }] }), variants: [{ key: 'region:eu', resource: cla(0) }] }] });
    const { snapshot } = passGate(set, new ResourceEncoder(), emptySnapshot(), 1);
    expect(snapshot.resources.get(TYPE_URLS.endpoint)!.has('greeter')).toBe(false);
    expect(snapshot.variants).toBeUndefined();
  });
});
