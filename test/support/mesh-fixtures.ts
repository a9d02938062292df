/** Defaults helpers for model objects, so a test case lists only what differs. */
import { createHash } from 'node:crypto';
import type { AuthorizationPolicySpec } from '../../src/model/authz.ts';
import { addressKind } from '../../src/model/address.ts';
import type { RouteSpec } from '../../src/model/traffic.ts';
import { buildMesh, DEFAULT_MESH_SETTINGS, type Endpoint, type Mesh, type MeshSettings, type Service } from '../../src/model/mesh.ts';
import { ResourceEncoder } from '../../src/xds/cache/resource.ts';
import type { SnapshotCache } from '../../src/xds/cache/snapshot-cache.ts';
import { passGate } from '../../src/xds/publish-gate.ts';
import { buildResources, type BuiltResource } from '../../src/xds/resources/index.ts';

/** A healthy endpoint at 10.0.0.1:8080 with weight 1 and no locality; the address kind follows the address. */
export function endpoint(overrides: Partial<Endpoint> = {}): Endpoint {
  const address = overrides.address ?? '10.0.0.1';
  const kind = addressKind(address);
  if (!kind) throw new Error(`bad test address ${address}`);
  return {
    id: `ep-${address}-${overrides.port ?? 8080}`,
    address,
    addressKind: kind,
    port: 8080,
    weight: 1,
    region: '',
    zone: '',
    subZone: '',
    labels: {},
    health: 'healthy',
    ...overrides,
  };
}

/** The gRPC service `greeter.default:50051` with no endpoints; its uid is derived from its name unless given. */
export function service(overrides: Partial<Service> = {}): Service {
  const base = { namespace: 'default', name: 'greeter', protocol: 'grpc' as const, port: 50051, labels: {}, tags: [], version: null, endpoints: [], routes: [], subsets: [] };
  const merged = { ...base, ...overrides };
  return { uid: uidOf(merged.namespace, merged.name), ...merged };
}

/** A stable uuid-shaped id for a service name, standing in for the registry row id. */
export function uidOf(namespace: string, name: string): string {
  const h = createHash('sha256').update(`${namespace}/${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A mesh built the way production builds it (from registry rows, through `buildMesh`, so sorted). */
export function meshOf(services: Service[], revision = 1, routes: RouteSpec[] = [], policies: AuthorizationPolicySpec[] = []): Mesh {
  const rows = services.map(({ endpoints: _, routes: _r, subsets: _s, ...row }) => ({ ...row, id: row.uid }));
  const endpointRows = services.flatMap((s) => s.endpoints.map((e) => ({ ...e, serviceId: s.uid })));
  return buildMesh(revision, rows, endpointRows, undefined, routes, policies);
}

/**
 * A small mesh over three namespaces, given out of order: a grpc service in two zones, an http
 * service, a tcp service and an http2 service reached by host name (so a DNS cluster).
 */
export function sampleServices(): Service[] {
  return [
    service({ namespace: 'shop', name: 'web', protocol: 'http', port: 8080, endpoints: [endpoint({ address: '10.1.0.1' })] }),
    service({ namespace: 'shop', name: 'db', protocol: 'tcp', port: 5432, endpoints: [endpoint({ address: '10.1.0.9', port: 5432 })] }),
    service({
      namespace: 'ext',
      name: 'payments',
      protocol: 'http2',
      port: 443,
      endpoints: [endpoint({ address: 'payments.example.com', port: 443 })],
    }),
    service({
      endpoints: [
        endpoint({ address: '10.0.0.2', port: 50051, region: 'eu-west', zone: 'b' }),
        endpoint({ address: '10.0.0.1', port: 50051, region: 'eu-west', zone: 'a', weight: 3 }),
        endpoint({ address: '10.0.0.3', port: 50051, region: 'eu-west', zone: 'a', health: 'unhealthy' }),
      ],
    }),
  ];
}

/** `sampleServices()` as a mesh (sorted: greeter.default, payments.ext, db.shop, web.shop). */
export function sampleMesh(): Mesh {
  return meshOf(sampleServices());
}

/** Translates, gates and publishes a mesh into `cache`; throws if the gate held anything back. */
export function publishMesh(cache: SnapshotCache, m: Mesh, encoder = new ResourceEncoder(), settings: MeshSettings = DEFAULT_MESH_SETTINGS) {
  const { snapshot, issues } = passGate(buildResources(m, settings), encoder, cache.current, m.revision);
  if (issues.length) throw new Error(`gate held back resources: ${JSON.stringify(issues)}`);
  return cache.publish(snapshot);
}

/** True for a resource that only sidecars receive (`xds/resources/sidecar.ts`): tests of the other roles' resources leave these out. */
export function sidecarOnly(b: BuiltResource): boolean {
  return b.roles.length === 1 && b.roles[0] === 'sidecar';
}

/** An authorization policy on shop/orders that allows everyone; a case lists only what differs. */
export function authzPolicy(name: string, over: Partial<AuthorizationPolicySpec> = {}): AuthorizationPolicySpec {
  return { namespace: 'shop', name, target: { namespace: 'shop', service: 'orders' }, action: 'allow', mode: 'enforce', rules: [{}], ...over };
}
