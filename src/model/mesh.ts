/** The pure domain model: registry rows in, a sorted, validated mesh out. No I/O, no clock. */
import { addressKind, type AddressKind } from './address.ts';
import { serviceKeyOf } from './names.ts';
import { attachRoutes, type AttachedRoute } from './routing.ts';
import type { RouteSpec, Subset, TrafficPolicy } from './traffic.ts';
import type { AuthorizationPolicySpec, AuthzDefault } from './authz.ts';
import { appliesTo } from './authz-eval.ts';

export type Protocol = 'http' | 'http2' | 'grpc' | 'tcp';
export type Health = 'healthy' | 'unhealthy' | 'draining' | 'unknown';

export interface Endpoint {
  id: string;
  address: string;
  addressKind: AddressKind;
  port: number;
  weight: number;
  region: string;
  zone: string;
  subZone: string;
  labels: Record<string, string>;
  health: Health;
}

export interface Service {
  /** The registry row id: a new one each time a service is (re)created. */
  uid: string;
  namespace: string;
  name: string;
  protocol: Protocol;
  port: number;
  labels: Record<string, string>;
  tags: string[];
  version: string | null;
  endpoints: Endpoint[];
  /** Load balancing, connection pool, outlier detection, health checks, rate limit; absent: Envoy's defaults. */
  trafficPolicy?: TrafficPolicy;
  /** Mutual TLS on the service's inbound side; absent: the mesh default. */
  mtls?: MtlsMode;
  /** The authorization policies that target this service (absent: none). */
  authorization?: AuthorizationPolicySpec[];
  /** The routes in this service's virtual host, in order (see routing.ts). */
  routes: AttachedRoute[];
  /** Subsets of this service that routes send traffic to: each gets its own cluster. */
  subsets: Subset[];
}

/** The registry row shapes the model reads (the registry's rows satisfy them structurally). */
export interface ServiceRow {
  id: string;
  namespace: string;
  name: string;
  protocol: string;
  port: number;
  labels: Record<string, string>;
  tags: string[];
  version: string | null;
  trafficPolicy?: TrafficPolicy | null;
  mtls?: string | null;
}

export interface EndpointRow {
  id: string;
  serviceId: string;
  address: string;
  port: number;
  weight: number;
  region: string;
  zone: string;
  subZone: string;
  labels: Record<string, string>;
  health: string;
}

export interface Mesh {
  revision: number;
  services: Service[];
  /** Hosts routes claim that are no service's: served as gateway virtual hosts. */
  externalHosts: Map<string, AttachedRoute[]>;
  /** Routes left out because a service or subset they name is gone. */
  droppedRoutes: { route: string; reason: string }[];
}

/** Settings that shape the generated config and are not stored per service. */
export interface MeshSettings {
  /** Port of the HTTP listener served to gateway proxies. */
  gatewayPort: number;
  /** Upstream connect timeout, in milliseconds. */
  connectTimeoutMs: number;
  /** Sidecars: the port inbound traffic is redirected to (Istio's 15006). */
  inboundPort: number;
  /** Sidecars: the port outbound traffic is redirected to (Istio's 15001). */
  outboundPort: number;
  /** SPIFFE trust domain of the workload identities (`spiffe://<trust domain>/ns/<namespace>/sa/<service>`). */
  trustDomain: string;
  /** Mutual TLS of services that do not set their own. */
  mtlsDefault: MtlsMode;
  /** What happens to a request no authorization policy speaks for. */
  authzDefault: AuthzDefault;
  /** Envoy's access logs to the control plane (gRPC ALS), and where proxies reach its telemetry services. */
  telemetry: TelemetrySettings;
  /** Envoy tracing in every HTTP connection manager served to Envoy proxies. */
  tracing: TracingSettings;
}

/** A `host:port` a proxy connects to: a host name or an IP address (IPv6 without brackets). */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * `accessLog` off: no listener configures an access logger. `address` set: proxies reach the
 * telemetry services there (a cluster is served for it); unset: over their bootstrap's xDS cluster.
 */
export interface TelemetrySettings {
  accessLog: boolean;
  address?: HostPort;
}

export const TRACING_PROVIDERS = ['none', 'opentelemetry', 'zipkin'] as const;
export type TracingProvider = (typeof TRACING_PROVIDERS)[number];

/** Where Envoy sends spans (a provider needs an address) and the share of requests traced (0-100; routes may set their own). */
export interface TracingSettings {
  provider: TracingProvider;
  address?: HostPort;
  samplePercent: number;
}

export const DEFAULT_MESH_SETTINGS: MeshSettings = {
  gatewayPort: 10000,
  connectTimeoutMs: 5000,
  inboundPort: 15006,
  outboundPort: 15001,
  trustDomain: 'mesh.local',
  // Plain text unless asked: the server passes its own default (MTLS_DEFAULT, permissive) in.
  mtlsDefault: 'disabled',
  authzDefault: 'allow',
  // Off unless asked, so a mesh built with the defaults (tests, previews) is the plain config; the server passes its own.
  telemetry: { accessLog: false },
  tracing: { provider: 'none', samplePercent: 1 },
};

/**
 * Mutual TLS on a service's inbound side: `strict` accepts mTLS only, `permissive` mTLS and plain
 * text, `disabled` plain text only. Callers that have a mesh identity use mTLS towards strict and
 * permissive services, plain text towards disabled ones.
 */
export const MTLS_MODES = ['strict', 'permissive', 'disabled'] as const;
export type MtlsMode = (typeof MTLS_MODES)[number];

/** The mTLS mode a service runs with. */
export function mtlsModeOf(svc: Pick<Service, 'mtls'>, settings: Pick<MeshSettings, 'mtlsDefault'>): MtlsMode {
  return svc.mtls ?? settings.mtlsDefault;
}

/** True for protocols that speak HTTP (and so get listeners and routes). */
export function isHttpProtocol(p: Protocol): boolean {
  return p !== 'tcp';
}

const signatures = new WeakMap<Service, string>();

/**
 * Builds the mesh from registry rows; services sorted by namespace then name, endpoints by address
 * then port. A service whose content equals its counterpart in `previous` is that same object, so
 * everything derived from it (per-service translation, encoding) can be reused by identity.
 */
export function buildMesh(
  revision: number,
  serviceRows: ServiceRow[],
  endpointRows: EndpointRow[],
  previous?: Mesh,
  routes: readonly RouteSpec[] = [],
  policies: readonly AuthorizationPolicySpec[] = [],
): Mesh {
  const byService = new Map<string, Endpoint[]>();
  for (const row of endpointRows) {
    const kind = addressKind(row.address);
    if (!kind) continue; // the API never stores these; a hand-edited row must not break the whole mesh
    const list = byService.get(row.serviceId) ?? [];
    list.push({
      id: row.id,
      address: row.address,
      addressKind: kind,
      port: row.port,
      weight: row.weight,
      region: row.region,
      zone: row.zone,
      subZone: row.subZone,
      labels: row.labels,
      health: row.health as Health,
    });
    byService.set(row.serviceId, list);
  }
  const services = serviceRows.map((row) => ({
    uid: row.id,
    namespace: row.namespace,
    name: row.name,
    protocol: row.protocol as Protocol,
    port: row.port,
    labels: row.labels,
    tags: row.tags,
    version: row.version,
    endpoints: (byService.get(row.id) ?? []).sort(compareEndpoints),
    ...(row.trafficPolicy ? { trafficPolicy: row.trafficPolicy } : {}),
    ...(row.mtls ? { mtls: row.mtls as MtlsMode } : {}),
    ...authorizationOf(row, policies),
  }));
  services.sort((a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name));
  const routing = attachRoutes(services, routes);
  const before = new Map(previous?.services.map((s) => [s.uid, s]));
  const withRoutes = services.map(
    (s): Service => ({ ...s, routes: routing.byService.get(serviceKeyOf(s)) ?? [], subsets: routing.subsets.get(serviceKeyOf(s)) ?? [] }),
  );
  return {
    revision,
    services: withRoutes.map((s) => reuse(s, before.get(s.uid))),
    externalHosts: routing.externalHosts,
    droppedRoutes: routing.dropped,
  };
}

/** The policies that target a service, in the order given (so a policy change changes only the services it targets). */
function authorizationOf(svc: Pick<ServiceRow, 'namespace' | 'name'>, policies: readonly AuthorizationPolicySpec[]): { authorization?: AuthorizationPolicySpec[] } {
  const applying = policies.filter((p) => appliesTo(p, { namespace: svc.namespace, service: svc.name }));
  return applying.length > 0 ? { authorization: applying } : {};
}

/** The previous object when the content is the same, else the new one (remembering its content). */
function reuse(next: Service, prev: Service | undefined): Service {
  const sig = JSON.stringify(next);
  if (prev && signatures.get(prev) === sig) return prev;
  signatures.set(next, sig);
  return next;
}

function compareEndpoints(a: Endpoint, b: Endpoint): number {
  return compareStrings(a.address, b.address) || a.port - b.port;
}

/** Code-point string order (locale-independent, so every replica sorts alike). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
