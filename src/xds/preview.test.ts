import { describe, expect, it } from 'vitest';
import type { Plain } from '../envoy/common.ts';
import { buildMesh, DEFAULT_MESH_SETTINGS, type MeshSettings } from '../model/mesh.ts';
import { routeSpecOf } from '../registry/routes.ts';
import type { EndpointRow, RouteBodyColumn, RouteRow, ServiceRow } from '../registry/schema.ts';
import type { RegistrySnapshot } from '../registry/snapshot.ts';
import { uidOf } from '../../test/support/mesh-fixtures.ts';
import { ResourceEncoder } from './cache/resource.ts';
import { emptySnapshot, type Snapshot } from './cache/snapshot-cache.ts';
import { previewChanges, type ResourceChange } from './preview.ts';
import { passGate } from './publish-gate.ts';
import { buildResources } from './resources/index.ts';

/* ---------- registry rows, by hand, as the registry reads them ---------- */

const AT = new Date('2025-01-01T00:00:00Z');

function serviceRow(namespace: string, name: string, protocol: string, port: number, over: Partial<ServiceRow> = {}): ServiceRow {
  return {
    id: uidOf(namespace, name),
    namespace,
    name,
    protocol,
    port,
    tags: [],
    labels: {},
    version: null,
    metadata: {},
    trafficPolicy: null,
    mtls: null,
    revision: 1,
    createdAt: AT,
    updatedAt: AT,
    ...over,
  };
}

function endpointRow(svc: ServiceRow, address: string, port: number, labels: Record<string, string> = {}): EndpointRow {
  return {
    id: `ep-${svc.name}-${address}`,
    serviceId: svc.id,
    address,
    port,
    weight: 1,
    region: '',
    zone: '',
    subZone: '',
    labels,
    health: 'healthy',
    ttlSeconds: null,
    lastHeartbeatAt: null,
    revision: 1,
    createdAt: AT,
    updatedAt: AT,
  };
}

function routeRow(namespace: string, name: string, spec: RouteBodyColumn, over: Partial<Pick<RouteRow, 'hosts' | 'priority'>> = {}): RouteRow {
  return { id: `route-${namespace}-${name}`, namespace, name, hosts: [], priority: 0, spec, revision: 1, createdAt: AT, updatedAt: AT, ...over };
}

const GREETER = serviceRow('default', 'greeter', 'grpc', 50051);
const WEB = serviceRow('shop', 'web', 'http', 8080);
const GREETER_EDS = `greeter.default~${GREETER.id.slice(0, 8)}`;
const WEB_EDS = `web.shop~${WEB.id.slice(0, 8)}`;

const ENDPOINTS = [
  endpointRow(GREETER, '10.0.0.1', 50051, { version: 'v1' }),
  endpointRow(GREETER, '10.0.0.2', 50051, { version: 'v1' }),
  endpointRow(GREETER, '10.0.0.3', 50051, { version: 'v2' }),
  endpointRow(WEB, '10.1.0.1', 8080),
];

/** A route already served: web's /api/ with a timeout. */
const WEB_API = routeRow('shop', 'api', { match: { path: { prefix: '/api/' } }, destinations: [{ namespace: 'shop', name: 'web', weight: 100 }], timeoutMs: 5000 });

const SPLIT = routeRow('default', 'split', {
  match: { path: { prefix: '/helloworld.Greeter/' } },
  destinations: [
    { namespace: 'default', name: 'greeter', subset: { version: 'v1' }, weight: 90 },
    { namespace: 'default', name: 'greeter', subset: { version: 'v2' }, weight: 10 },
  ],
});

function registry(revision: number, over: Partial<Omit<RegistrySnapshot, 'revision'>> = {}): RegistrySnapshot {
  return { revision, services: [GREETER, WEB], endpoints: ENDPOINTS, routes: [WEB_API], authorization: [], authorities: [], certificates: [], ...over };
}

/** What is being served: the registry published through the gate (its own encoder, as another process would). */
function published(reg: RegistrySnapshot, settings: MeshSettings = DEFAULT_MESH_SETTINGS): Snapshot {
  const mesh = buildMesh(reg.revision, reg.services, reg.endpoints, undefined, reg.routes.map(routeSpecOf));
  const { snapshot, issues } = passGate(buildResources(mesh, settings), new ResourceEncoder(), emptySnapshot(), reg.revision);
  if (issues.length) throw new Error(`gate held back resources: ${JSON.stringify(issues)}`);
  return snapshot;
}

const current = published(registry(10));

/** The changes without their decoded resources: what most cases compare. */
const summary = (changes: ResourceChange[]) => changes.map(({ type, name, change }) => `${change} ${type} ${name}`);

/** Changes sorted as the preview promises: by type, then name (code points). */
const sortedLikePreview = (changes: ResourceChange[]) =>
  [...changes].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

describe('previewChanges: nothing changed', () => {
  it('the registry being served: no changes, no issues', () => {
    expect(previewChanges(registry(11), DEFAULT_MESH_SETTINGS, current)).toEqual({ changes: [], issues: [] });
  });

  it('the same registry read in another row order: no changes', () => {
    const shuffled = registry(11, { services: [WEB, GREETER], endpoints: [...ENDPOINTS].reverse() });
    expect(previewChanges(shuffled, DEFAULT_MESH_SETTINGS, current)).toEqual({ changes: [], issues: [] });
  });

  it('a route that is dropped (its service is gone) changes nothing', () => {
    const dangling = routeRow('default', 'to-nowhere', { match: {}, destinations: [{ namespace: 'default', name: 'missing', weight: 100 }] });
    expect(previewChanges(registry(11, { routes: [WEB_API, dangling] }), DEFAULT_MESH_SETTINGS, current)).toEqual({ changes: [], issues: [] });
  });

  it('does not touch the snapshot it compares with', () => {
    const before = new Map([...current.resources].map(([t, m]) => [t, new Map(m)]));
    previewChanges(registry(11, { routes: [WEB_API, SPLIT], services: [GREETER] }), DEFAULT_MESH_SETTINGS, current);
    expect(current.resources).toEqual(before);
    expect(current.revision).toBe(10);
  });
});

describe('previewChanges: a split route added', () => {
  const preview = previewChanges(registry(11, { routes: [WEB_API, SPLIT] }), DEFAULT_MESH_SETTINGS, current);

  it('adds the subset clusters and their EDS resources, and modifies the listeners and route configurations that carry greeter\'s routes', () => {
    expect(preview.issues).toEqual([]);
    expect(summary(preview.changes)).toEqual([
      'added cds greeter.default|version=v1',
      'added cds greeter.default|version=v2',
      `added eds ${GREETER_EDS}|version=v1`,
      `added eds ${GREETER_EDS}|version=v2`,
      // the API listeners carry the routes inline
      'modified lds greeter.default',
      'modified lds greeter.default:50051',
      'modified rds gateway',
      'modified rds outbound:50051',
    ]);
  });

  it('leaves out what does not change: greeter\'s own cluster and EDS, the gateway and outbound listeners, everything of web', () => {
    const unchanged = ['cds greeter.default', `eds ${GREETER_EDS}`, 'lds gateway', 'lds outbound:50051', 'lds outbound:8080', 'rds outbound:8080', 'cds web.shop', `eds ${WEB_EDS}`, 'lds web.shop:8080'];
    const changed = new Set(preview.changes.map((c) => `${c.type} ${c.name}`));
    expect(unchanged.filter((k) => changed.has(k))).toEqual([]);
  });

  it('gives each change its resource, decoded as Envoy JSON, named as the change', () => {
    for (const c of preview.changes) {
      expect(c.resource, `${c.type} ${c.name}`).toBeDefined();
      const named = c.type === 'eds' ? c.resource!.clusterName : c.resource!.name;
      expect(named, `${c.type} ${c.name}`).toBe(c.name);
    }
  });

  it('the decoded subset cluster loads its subset EDS resource; the subset EDS holds only the matching endpoints', () => {
    const cds = preview.changes.find((c) => c.name === 'greeter.default|version=v1')!.resource!;
    expect(cds).toMatchObject({ name: 'greeter.default|version=v1', type: 'EDS', edsClusterConfig: { serviceName: `${GREETER_EDS}|version=v1` } });
    const addresses = (name: string) =>
      (preview.changes.find((c) => c.name === name)!.resource!.endpoints as { lbEndpoints: { endpoint: { address: { socketAddress: { address: string } } } }[] }[]).flatMap((l) =>
        l.lbEndpoints.map((e) => e.endpoint.address.socketAddress.address),
      );
    expect(addresses(`${GREETER_EDS}|version=v1`)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(addresses(`${GREETER_EDS}|version=v2`)).toEqual(['10.0.0.3']);
  });

  it('the decoded gateway route configuration splits 90/10 before greeter\'s default route', () => {
    const rds = preview.changes.find((c) => c.type === 'rds' && c.name === 'gateway')!.resource!;
    const greeter = (rds.virtualHosts as { name: string; routes: { name: string; route: Plain }[] }[]).find((vh) => vh.name === 'greeter.default')!;
    expect(greeter.routes.map((r) => r.name)).toEqual(['default/split', 'default']);
    expect(greeter.routes[0]!.route.weightedClusters).toEqual({
      clusters: [
        { name: 'greeter.default|version=v1', weight: { value: 90 } },
        { name: 'greeter.default|version=v2', weight: { value: 10 } },
      ],
    });
  });

  it('lists changes by type, then name', () => {
    expect(preview.changes).toEqual(sortedLikePreview(preview.changes));
  });
});

describe('previewChanges: a service removed', () => {
  // web's rows go (its endpoints with it, by the foreign key); its route stays, and is dropped
  const preview = previewChanges(registry(11, { services: [GREETER], endpoints: ENDPOINTS.filter((e) => e.serviceId !== WEB.id) }), DEFAULT_MESH_SETTINGS, current);

  it('removes every resource of the service, and modifies the gateway route configuration it had a virtual host in', () => {
    expect(preview.issues).toEqual([]);
    expect(summary(preview.changes)).toEqual([
      'removed cds inbound:web.shop',
      'removed cds web.shop',
      `removed eds ${WEB_EDS}`,
      'removed lds inbound:web.shop',
      'removed lds outbound:8080',
      'removed lds web.shop',
      'removed lds web.shop:8080',
      'modified rds gateway',
      'removed rds outbound:8080',
    ]);
  });

  it('gives removals no resource, the modification its new one', () => {
    for (const c of preview.changes.filter((c) => c.change === 'removed')) expect(c, `${c.type} ${c.name}`).not.toHaveProperty('resource');
    const gateway = preview.changes.find((c) => c.change === 'modified')!;
    expect((gateway.resource!.virtualHosts as { name: string }[]).map((vh) => vh.name)).toEqual(['greeter.default']);
  });

  it('lists changes by type, then name', () => {
    expect(preview.changes).toEqual(sortedLikePreview(preview.changes));
  });
});

describe('previewChanges: settings', () => {
  it('builds with the settings given: another gateway port modifies the gateway listener and route configuration', () => {
    const preview = previewChanges(registry(11), { ...DEFAULT_MESH_SETTINGS, gatewayPort: 8000 }, current);
    expect(preview.issues).toEqual([]);
    expect(summary(preview.changes)).toEqual(['modified lds gateway', 'modified rds gateway']);
    expect(preview.changes[0]!.resource).toMatchObject({ address: { socketAddress: { portValue: 8000 } } });
  });
});

describe('previewChanges: what the publish gate rejects', () => {
  // An empty header name gets past no API validator, but a hand-edited row can hold it; PGV refuses it.
  const badMatch = { headers: [{ name: '', exact: 'x' }] };

  it('a rejected modification shows in issues, and not as a change (the served version stays)', () => {
    const bad = routeRow('default', 'bad', { match: badMatch, destinations: [{ namespace: 'default', name: 'greeter', weight: 100 }] });
    const preview = previewChanges(registry(11, { routes: [WEB_API, bad] }), DEFAULT_MESH_SETTINGS, current);
    expect(preview.changes).toEqual([]);
    const held = [...new Set(preview.issues.map((i) => `${i.type} ${i.name}`))].sort();
    expect(held).toEqual(['listener greeter.default', 'listener greeter.default:50051', 'route gateway', 'route outbound:50051']);
    for (const i of preview.issues) expect(`${i.path} ${i.message}`, `${i.type} ${i.name}`).toMatch(/name/);
  });

  it('a rejected new resource is not added, nor what depends on it; the rest of the write still is', () => {
    const api = serviceRow('shop', 'api', 'http', 9090);
    const bad = routeRow('shop', 'bad', { match: badMatch, destinations: [{ namespace: 'shop', name: 'api', weight: 100 }] });
    const reg = registry(11, { services: [GREETER, api, WEB], endpoints: [...ENDPOINTS, endpointRow(api, '10.2.0.1', 9090)], routes: [WEB_API, bad] });
    const preview = previewChanges(reg, DEFAULT_MESH_SETTINGS, current);
    expect(summary(preview.changes)).toEqual([
      'added cds api.shop',
      'added cds inbound:api.shop',
      `added eds api.shop~${api.id.slice(0, 8)}`,
      'added lds inbound:api.shop',
    ]);
    const held = [...new Set(preview.issues.map((i) => `${i.type} ${i.name}`))].sort();
    // outbound:9090 itself is valid, but names the rejected route configuration outbound:9090
    expect(held).toEqual(['listener api.shop', 'listener api.shop:9090', 'listener outbound:9090', 'route gateway', 'route outbound:9090']);
    expect(preview.issues.filter((i) => i.name === 'outbound:9090' && i.type === 'listener')).toEqual([
      expect.objectContaining({ message: 'references envoy.config.route.v3.RouteConfiguration "outbound:9090", which does not exist' }),
    ]);
  });
});

describe('previewChanges: locality failover', () => {
  const zoned = ENDPOINTS.map((e, i) => ({ ...e, region: 'eu', zone: i % 2 ? 'eu-b' : 'eu-a' }));
  const failover = serviceRow('default', 'greeter', 'grpc', 50051, { trafficPolicy: { localityFailover: true } });
  const served = published(registry(20, { endpoints: zoned }));

  it('turning it on adds the locality variants of the load assignment, each with its locality and priorities', () => {
    const { changes, issues } = previewChanges(registry(21, { services: [failover, WEB], endpoints: zoned }), DEFAULT_MESH_SETTINGS, served);
    expect(issues).toEqual([]);
    expect(changes.map(({ type, name, change, variant }) => `${change} ${type} ${name} ${variant}`)).toEqual([
      `added eds ${GREETER_EDS} region:eu`,
      `added eds ${GREETER_EDS} zone:eu/eu-a`,
      `added eds ${GREETER_EDS} zone:eu/eu-b`,
    ]);
    const inB = changes.find((c) => c.variant === 'zone:eu/eu-b')!.resource as { endpoints: { locality: { zone: string }; priority?: number }[] };
    expect(inB.endpoints.map((l) => [l.locality.zone, l.priority ?? 0])).toEqual([['eu-a', 1], ['eu-b', 0]]);
  });

  it('turning it off removes them', () => {
    const on = published(registry(22, { services: [failover, WEB], endpoints: zoned }));
    const { changes } = previewChanges(registry(23, { endpoints: zoned }), DEFAULT_MESH_SETTINGS, on);
    expect(changes.map(({ change, variant, resource }) => [change, variant, resource])).toEqual([
      ['removed', 'region:eu', undefined],
      ['removed', 'zone:eu/eu-a', undefined],
      ['removed', 'zone:eu/eu-b', undefined],
    ]);
  });
});
