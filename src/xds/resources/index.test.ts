import { describe, expect, it } from 'vitest';
import { DEFAULT_MESH_SETTINGS } from '../../model/mesh.ts';
import { ROLES, type Role } from '../../model/proxy.ts';
import { messageNameOf, TYPE_URLS, type ResourceKind } from '../../protos/type-urls.ts';
import { expectValidEnvoy } from '../../../test/support/envoy.ts';
import { expectGolden } from '../../../test/support/golden.ts';
import { endpoint, meshOf, publishMesh, sampleMesh, sampleServices, service } from '../../../test/support/mesh-fixtures.ts';
import { ResourceEncoder, type CachedResource } from '../cache/resource.ts';
import { emptySnapshot, SnapshotCache } from '../cache/snapshot-cache.ts';
import { passGate } from '../publish-gate.ts';
import { buildResources, type ResourceSet } from './index.ts';

const KINDS = Object.keys(TYPE_URLS) as ResourceKind[];

/**
 * Per type, the names (or resources) a role receives on a wildcard subscription, in build order; a
 * proxy of `service` (`<namespace>/<name>`) also gets the resources that service owns.
 */
function viewOf<T>(set: ResourceSet, role: Role, pick: (b: ResourceSet[ResourceKind][number]) => T, service?: string): Record<ResourceKind, T[]> {
  const sees = (b: ResourceSet[ResourceKind][number]) => b.roles.includes(role) && (b.owner === undefined || b.owner === service);
  return Object.fromEntries(KINDS.map((k) => [k, set[k].filter(sees).map(pick)])) as Record<ResourceKind, T[]>;
}

describe('buildResources', () => {
  const set = buildResources(sampleMesh(), DEFAULT_MESH_SETTINGS);

  const SERVICE_CLUSTERS = ['greeter.default', 'payments.ext', 'db.shop', 'web.shop'];
  const EDS = ['greeter.default~37300e9c', 'db.shop~ad9c1afe', 'web.shop~97375646'];
  // what every sidecar sees: ports ascending; 5432 has only the tcp service db.shop, so no routes
  const SIDECAR_LISTENERS = ['virtualOutbound', 'outbound:443', 'outbound:5432', 'outbound:8080', 'outbound:50051'];
  const SIDECAR_ROUTES = ['outbound:443', 'outbound:8080', 'outbound:50051'];
  const views: { role: Role; service?: string; want: Record<ResourceKind, string[]> }[] = [
    {
      role: 'grpc',
      want: {
        cluster: SERVICE_CLUSTERS,
        endpoint: EDS,
        listener: ['greeter.default:50051', 'greeter.default', 'payments.ext:443', 'payments.ext', 'web.shop:8080', 'web.shop'],
        route: [],
        secret: [],
      },
    },
    {
      role: 'gateway',
      want: { cluster: SERVICE_CLUSTERS, endpoint: EDS, listener: ['gateway'], route: ['gateway'], secret: [] },
    },
    {
      // a grpc client that names a service still sees nothing owned (owned resources are for sidecars only)
      role: 'grpc',
      service: 'shop/web',
      want: {
        cluster: SERVICE_CLUSTERS,
        endpoint: EDS,
        listener: ['greeter.default:50051', 'greeter.default', 'payments.ext:443', 'payments.ext', 'web.shop:8080', 'web.shop'],
        route: [],
        secret: [],
      },
    },
    {
      role: 'sidecar',
      want: { cluster: [...SERVICE_CLUSTERS, 'PassthroughCluster'], endpoint: EDS, listener: SIDECAR_LISTENERS, route: SIDECAR_ROUTES, secret: [] },
    },
    {
      role: 'sidecar',
      service: 'shop/web',
      want: {
        cluster: [...SERVICE_CLUSTERS, 'PassthroughCluster', 'inbound:web.shop'],
        endpoint: EDS,
        listener: [...SIDECAR_LISTENERS, 'inbound:web.shop'],
        route: SIDECAR_ROUTES,
        secret: [],
      },
    },
    {
      role: 'sidecar',
      service: 'shop/db',
      want: {
        cluster: [...SERVICE_CLUSTERS, 'PassthroughCluster', 'inbound:db.shop'],
        endpoint: EDS,
        listener: [...SIDECAR_LISTENERS, 'inbound:db.shop'],
        route: SIDECAR_ROUTES,
        secret: [],
      },
    },
    {
      // a service the registry does not know: the shared sidecar view only
      role: 'sidecar',
      service: 'shop/unknown',
      want: { cluster: [...SERVICE_CLUSTERS, 'PassthroughCluster'], endpoint: EDS, listener: SIDECAR_LISTENERS, route: SIDECAR_ROUTES, secret: [] },
    },
  ];
  /** `role sidecar`, or `role sidecar of shop/web` for a proxy that names its service. */
  const who = (v: (typeof views)[number]) => `role ${v.role}${v.service ? ` of ${v.service}` : ''}`;
  const labelled = views.map((v) => [who(v), v] as const);

  it.each(labelled)('what %s sees', (_, { role, service, want }) => {
    expect(viewOf(set, role, (b) => b.name, service)).toEqual(want);
  });

  it.each(labelled)('the published cache serves %s the same, sorted by name', (_, { role, service, want }) => {
    const cache = new SnapshotCache();
    publishMesh(cache, sampleMesh());
    const served = Object.fromEntries(KINDS.map((k) => [k, cache.visible(TYPE_URLS[k], role, service).map((r) => r.name)]));
    expect(served).toEqual(Object.fromEntries(KINDS.map((k) => [k, [...want[k]].sort()])));
  });

  it('covers every role', () => {
    expect([...new Set(views.map((v) => v.role))].sort()).toEqual([...ROLES].sort());
  });

  it('builds every resource as a valid Envoy message of its type', () => {
    for (const kind of KINDS) for (const b of set[kind]) expectValidEnvoy(messageNameOf(TYPE_URLS[kind]), b.resource);
  });

  it('is deterministic: the same registry in any row order gives the same resources', () => {
    const shuffled = sampleServices()
      .reverse()
      .map((s) => ({ ...s, endpoints: [...s.endpoints].reverse() }));
    expect(JSON.stringify(buildResources(meshOf(shuffled), DEFAULT_MESH_SETTINGS))).toBe(JSON.stringify(set));
  });

  it('reads nothing but its input: two builds are equal', () => {
    expect(buildResources(sampleMesh(), DEFAULT_MESH_SETTINGS)).toEqual(set);
  });
});

describe('a service deleted and re-created (same namespace and name, new uid)', () => {
  const OLD = 'aaaaaaaa-0000-4000-8000-000000000001';
  const NEW = 'bbbbbbbb-0000-4000-8000-000000000002';

  /** The published resources of a one-service mesh, keyed `<kind> <name>`, through a fresh encoder (a fresh process). */
  function published(uid: string): Record<string, CachedResource> {
    const mesh = meshOf([service({ uid, endpoints: [endpoint({ port: 50051 })] })]);
    const { snapshot, issues } = passGate(buildResources(mesh, DEFAULT_MESH_SETTINGS), new ResourceEncoder(), emptySnapshot(), 1);
    if (issues.length) throw new Error(`gate held back resources: ${JSON.stringify(issues)}`);
    return Object.fromEntries(KINDS.flatMap((k) => [...snapshot.resources.get(TYPE_URLS[k])!].map(([name, r]) => [`${k} ${name}`, r])));
  }
  const before = published(OLD);
  const after = published(NEW);

  /** Every published name of the one-service mesh, given the EDS name. */
  const publishedNames = (eds: string) => [
    'cluster greeter.default',
    'cluster PassthroughCluster',
    'cluster inbound:greeter.default',
    `endpoint ${eds}`,
    'listener greeter.default:50051',
    'listener greeter.default',
    'listener gateway',
    'listener grpc/server?xds.resource.listening_address=10.0.0.1:50051',
    'listener grpc/server?xds.resource.listening_address=0.0.0.0:50051',
    'listener grpc/server?xds.resource.listening_address=[::]:50051',
    'listener virtualOutbound',
    'listener outbound:50051',
    'listener inbound:greeter.default',
    'route gateway',
    'route outbound:50051',
  ];

  it('gets a new EDS name, which its cluster asks for', () => {
    expect(Object.keys(before)).toEqual(publishedNames('greeter.default~aaaaaaaa'));
    expect(Object.keys(after)).toEqual(publishedNames('greeter.default~bbbbbbbb'));
    expect(before['cluster greeter.default']!.edsName).toBe('greeter.default~aaaaaaaa');
    expect(after['cluster greeter.default']!.edsName).toBe('greeter.default~bbbbbbbb');
  });

  it('gives its cluster and API listeners new bytes, so new versions; what does not name it keeps its version', () => {
    for (const key of ['cluster greeter.default', 'listener greeter.default:50051', 'listener greeter.default']) {
      expect(Buffer.from(after[key]!.encoded).equals(Buffer.from(before[key]!.encoded)), key).toBe(false);
      expect(after[key]!.version, key).not.toBe(before[key]!.version);
    }
    for (const key of ['listener gateway', 'route gateway']) expect(after[key]!.version, key).toBe(before[key]!.version);
    // the sidecar resources name the service by name only (its cluster, host and port), never by uid
    for (const key of [
      'cluster PassthroughCluster',
      'cluster inbound:greeter.default',
      'listener virtualOutbound',
      'listener outbound:50051',
      'listener inbound:greeter.default',
      'route outbound:50051',
    ]) {
      expect(after[key]!.version, key).toBe(before[key]!.version);
    }
  });

  it('with the same uid, builds the very same bytes and versions again (a control plane restart changes nothing)', () => {
    const again = published(OLD);
    expect(Object.keys(again)).toEqual(Object.keys(before));
    for (const [key, r] of Object.entries(again)) {
      expect(r.version, key).toBe(before[key]!.version);
      expect(Buffer.from(r.encoded).equals(Buffer.from(before[key]!.encoded)), key).toBe(true);
      expect(r.edsName, key).toBe(before[key]!.edsName);
    }
  });
});

describe('golden files', () => {
  it('the gateway listener and route configuration', () => {
    const set = buildResources(sampleMesh(), DEFAULT_MESH_SETTINGS);
    const gateway = viewOf(set, 'gateway', (b) => b.resource);
    expectGolden(new URL('./__golden__/gateway.json', import.meta.url), { listener: gateway.listener, routeConfiguration: gateway.route });
  });

  it("a grpc client's whole view of a two-service mesh", () => {
    const mesh = meshOf([
      service({ endpoints: [endpoint({ address: '10.0.0.1', port: 50051, zone: 'a' }), endpoint({ address: '10.0.0.2', port: 50051, zone: 'b' })] }),
      service({ namespace: 'shop', name: 'web', protocol: 'http', port: 8080, endpoints: [endpoint({ address: '10.1.0.1', weight: 5 })] }),
    ]);
    const view = viewOf(buildResources(mesh, DEFAULT_MESH_SETTINGS), 'grpc', (b) => b.resource);
    expectGolden(new URL('./__golden__/grpc-client-view.json', import.meta.url), view);
  });
});
