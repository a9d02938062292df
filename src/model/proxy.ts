/** Who a connected proxy is, read from the `node` of its first xDS request. Pure: node in, identity out. */
import { fail, issue, ok, type Result } from '../lib/result.ts';
import { DEFAULT_NAMESPACE } from './names.ts';

/** The roles a proxy can announce in `node.metadata.role`. */
export const ROLES = ['grpc', 'gateway', 'sidecar'] as const;
export type Role = (typeof ROLES)[number];

/** Proxies that announce no role are proxyless gRPC clients, the only role without a bootstrap of ours. */
export const DEFAULT_ROLE: Role = 'grpc';

export interface ProxyIdentity {
  id: string;
  cluster: string;
  role: Role;
  service?: string;
  namespace?: string;
  region?: string;
  zone?: string;
  userAgent?: string;
  /**
   * Proxyless gRPC only: the client's bootstrap has the mesh's certificate provider (gRPC A29), so it
   * gets clusters and server listeners with mTLS. Announced as `node.metadata.mtls: true`.
   */
  mtls?: boolean;
}

/** The subset of `envoy.config.core.v3.Node` (decoded, camelCase) that we read. */
export interface NodeLike {
  id?: string;
  cluster?: string;
  metadata?: Record<string, unknown> | null;
  locality?: { region?: string; zone?: string } | null;
  userAgentName?: string;
}

/** Reads the proxy's identity from its node; an unknown role or a missing id is an issue naming the field. */
export function proxyFromNode(node: NodeLike): Result<ProxyIdentity> {
  if (!node.id) return fail(issue('node.id', 'is required'));
  const meta = node.metadata ?? {};
  const role = meta.role ?? DEFAULT_ROLE;
  if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
    return fail(issue('node.metadata.role', `must be one of ${ROLES.join(', ')}`));
  }
  const text = (k: string) => (typeof meta[k] === 'string' && meta[k] !== '' ? (meta[k] as string) : undefined);
  if (meta.mtls !== undefined && typeof meta.mtls !== 'boolean' && meta.mtls !== 'true' && meta.mtls !== 'false') {
    return fail(issue('node.metadata.mtls', 'must be true or false'));
  }
  return ok({
    id: node.id,
    cluster: node.cluster ?? '',
    role: role as Role,
    service: text('service'),
    namespace: text('namespace'),
    region: node.locality?.region || undefined,
    zone: node.locality?.zone || undefined,
    userAgent: node.userAgentName || undefined,
    ...(meta.mtls === true || meta.mtls === 'true' ? { mtls: true } : {}),
  });
}

/** The `<namespace>/<name>` of the service a proxy belongs to (namespace `default` if unsaid), if it said one. */
export function serviceKey(proxy: Pick<ProxyIdentity, 'service' | 'namespace'>): string | undefined {
  return proxy.service ? `${proxy.namespace ?? DEFAULT_NAMESPACE}/${proxy.service}` : undefined;
}

/**
 * Keys of a resource's locality variants (locality failover): one per zone, one per region for
 * callers in a zone no endpoint is in.
 */
export const zoneLocalityKey = (region: string, zone: string) => `zone:${region}/${zone}`;
export const regionLocalityKey = (region: string) => `region:${region}`;

/** The variant keys that apply to a proxy, nearest first; none when its node gave no locality. */
export function localityKeys(proxy: Pick<ProxyIdentity, 'region' | 'zone'>): string[] {
  if (!proxy.region && !proxy.zone) return [];
  return [zoneLocalityKey(proxy.region ?? '', proxy.zone ?? ''), regionLocalityKey(proxy.region ?? '')];
}

/** The variant key of a service's own resources (its certificate, its proxyless server listeners). */
export const identityVariantKey = (serviceKey: string) => `service:${serviceKey}`;

/** Variant keys of clusters with mTLS: over SDS for Envoy, through certificate providers for proxyless gRPC (A29). */
export const SDS_TLS_KEY = 'tls:sds';
export const A29_TLS_KEY = 'tls:a29';

/**
 * How a proxy originates mTLS, if it can: Envoy proxies with an identity (their certificate comes
 * over SDS), proxyless clients whose bootstrap has the mesh's certificate provider.
 */
export function tlsVariantKey(proxy: Pick<ProxyIdentity, 'role' | 'service' | 'mtls'>): string | undefined {
  if (proxy.role === 'grpc') return proxy.mtls ? A29_TLS_KEY : undefined;
  return proxy.service ? SDS_TLS_KEY : undefined;
}

/** The variant key of a service's resources for its proxies that do mTLS in one way (`tlsVariantKey`). */
export const identityTlsVariantKey = (serviceKey: string, tls: string) => `${identityVariantKey(serviceKey)}+${tls}`;

/**
 * Every variant key that applies to a proxy, most specific first: identity with TLS, identity, TLS,
 * then localities nearest first. A resource has variants of one kind, so the order only matters
 * within a kind.
 */
export function variantKeys(proxy: ProxyIdentity): string[] {
  const svc = serviceKey(proxy);
  const tls = tlsVariantKey(proxy);
  return [
    ...(svc && tls ? [identityTlsVariantKey(svc, tls)] : []),
    ...(svc ? [identityVariantKey(svc)] : []),
    ...(tls ? [tls] : []),
    ...localityKeys(proxy),
  ];
}
