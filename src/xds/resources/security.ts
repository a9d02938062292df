/**
 * Mesh mTLS in the generated config: the SDS secrets of each identity, the mTLS variants of service
 * clusters, and the server listeners of proxyless gRPC servers (gRFC A36) with their TLS and RBAC.
 *
 * Who sees what (see `variantKeys`): a service's certificate is the variant of the `default` secret
 * for the proxies of that service only; `ROOTCA` is shared. A cluster of a service in strict or
 * permissive mode has an SDS variant for Envoy proxies with an identity and a certificate-provider
 * variant for proxyless clients that have the mesh provider (gRFC A29); everyone else connects in
 * plain text, which only permissive and disabled services accept.
 */
import type { Plain } from '../../envoy/common.ts';
import { hcmFilter } from '../../envoy/listener.ts';
import { httpConnectionManager } from '../../envoy/http-connection-manager.ts';
import { inboundHttpRbacFilters, spiffeUri } from '../../envoy/rbac.ts';
import { a29DownstreamTls, a29UpstreamTls, IDENTITY_SECRET, sdsUpstreamTls, tlsCertificateSecret, TRUST_BUNDLE_SECRET, validationContextSecret } from '../../envoy/tls.ts';
import { socketAddress } from '../../envoy/common.ts';
import { mtlsModeOf, type Mesh, type MeshSettings, type Service } from '../../model/mesh.ts';
import { serviceKeyOf } from '../../model/names.ts';
import { A29_TLS_KEY, identityTlsVariantKey, identityVariantKey, SDS_TLS_KEY } from '../../model/proxy.ts';
import type { MeshIdentities, WorkloadIdentity } from '../identities.ts';
import { perService } from './memo.ts';
import type { BuiltResource, ResourceVariant } from './types.ts';

/** Name of the certificate provider instance proxyless gRPC bootstraps must define (file_watcher, fed by `apg-mesh cert issue`). */
export const CERTIFICATE_PROVIDER = 'mesh';

/** What proxyless gRPC servers put in their bootstrap's `server_listener_resource_name_template`. */
export const SERVER_LISTENER_TEMPLATE = 'grpc/server?xds.resource.listening_address=%s';

const ENVOY_ROLES = ['sidecar', 'gateway'] as const;

const secrets = new WeakMap<WorkloadIdentity, Plain>();
let bundleSecret: { pem: string; resource: Plain } | undefined;

/** `ROOTCA` for every Envoy proxy, and `default` as each service's own certificate for its proxies only. */
export function buildSecrets(mesh: Mesh, identities: MeshIdentities): BuiltResource[] {
  if (!identities.bundlePem) return [];
  if (bundleSecret?.pem !== identities.bundlePem) {
    bundleSecret = { pem: identities.bundlePem, resource: validationContextSecret(TRUST_BUNDLE_SECRET, identities.bundlePem) };
  }
  const out: BuiltResource[] = [{ name: TRUST_BUNDLE_SECRET, resource: bundleSecret.resource, roles: ENVOY_ROLES }];
  const variants: ResourceVariant[] = [];
  for (const svc of mesh.services) {
    const key = serviceKeyOf(svc);
    const identity = identities.byService.get(key);
    if (!identity) continue;
    let resource = secrets.get(identity);
    if (!resource) secrets.set(identity, (resource = tlsCertificateSecret(IDENTITY_SECRET, identity.chainPem, identity.keyPem)));
    variants.push({ key: identityVariantKey(key), resource, roles: ENVOY_ROLES, owner: key });
  }
  // No proxy sees the shared name itself: each sees its own service's certificate, or none.
  if (variants.length > 0) out.push({ name: IDENTITY_SECRET, resource: { name: IDENTITY_SECRET }, roles: [], variants });
  return out;
}

/**
 * The mTLS variants of one of a service's clusters; none when the service takes plain text only, or
 * when it is reached by host name (DNS endpoints: a service outside the mesh, with no sidecar to
 * terminate mTLS) and does not set a mode of its own.
 */
export function clusterTlsVariants(svc: Service, settings: MeshSettings, cluster: Plain): ResourceVariant[] {
  if (mtlsModeOf(svc, settings) === 'disabled') return [];
  if (svc.mtls === undefined && svc.endpoints.some((e) => e.addressKind === 'hostname')) return [];
  const peer = [spiffeUri(settings.trustDomain, svc.namespace, svc.name)];
  return [
    { key: SDS_TLS_KEY, resource: { ...cluster, transportSocket: sdsUpstreamTls(peer) }, roles: ENVOY_ROLES },
    { key: A29_TLS_KEY, resource: { ...cluster, transportSocket: a29UpstreamTls(CERTIFICATE_PROVIDER, peer) }, roles: ['grpc'] },
  ];
}

/** `host:port` as gRPC formats a listening address (IPv6 in brackets). */
function listeningAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The addresses a server of the service may bind: each endpoint's, and the wildcard ones on its ports. */
function serverAddresses(svc: Service): { host: string; port: number }[] {
  const out = new Map<string, { host: string; port: number }>();
  for (const e of svc.endpoints) {
    if (e.addressKind === 'hostname') continue;
    for (const host of [e.address, '0.0.0.0', '::']) out.set(listeningAddress(host, e.port), { host, port: e.port });
  }
  return [...out.values()];
}

/**
 * The server listeners of a gRPC service's proxyless servers (gRFC A36), one per address they may
 * bind, named by `SERVER_LISTENER_TEMPLATE`: every RPC is served locally (non-forwarding route),
 * through the service's RBAC filters. Servers with the mesh certificate provider terminate mTLS
 * (strict and permissive: gRPC cannot tell TLS from plain text on one port, so permissive servers
 * that can do mTLS require it, as the mesh's callers use it); servers without one serve plain text,
 * except in strict mode, where they get no listener and so do not serve.
 */
export function serverListeners(svc: Service, settings: MeshSettings): BuiltResource[] {
  if (svc.protocol !== 'grpc') return [];
  return perService('server-listeners', svc, settings, () => {
    const mode = mtlsModeOf(svc, settings);
    const key = serviceKeyOf(svc);
    return serverAddresses(svc).map(({ host, port }): BuiltResource => {
      const name = SERVER_LISTENER_TEMPLATE.replace('%s', listeningAddress(host, port));
      const listener = (transportSocket?: Plain): Plain => ({
        name,
        address: socketAddress(host, port),
        filterChains: [{ filters: [hcmFilter(serverHcm(svc, settings, name))], ...(transportSocket ? { transportSocket } : {}) }],
      });
      const variants: ResourceVariant[] = [
        mode === 'disabled'
          ? { key: identityTlsVariantKey(key, A29_TLS_KEY), resource: listener() }
          : { key: identityTlsVariantKey(key, A29_TLS_KEY), resource: listener(a29DownstreamTls(CERTIFICATE_PROVIDER, true)) },
        ...(mode === 'strict' ? [] : [{ key: identityVariantKey(key), resource: listener() }]),
      ];
      // Servers of other services may bind the same wildcard address: the name alone says nothing.
      return { name, resource: { name, address: socketAddress(host, port) }, roles: [], variants: variants.map((v) => ({ ...v, roles: ['grpc'], owner: key })) };
    });
  });
}

/** Resources of one name from several services (wildcard server addresses) as one, with all their variants. */
export function mergeVariants(resources: BuiltResource[]): BuiltResource[] {
  const byName = new Map<string, BuiltResource>();
  for (const r of resources) {
    const seen = byName.get(r.name);
    byName.set(r.name, seen ? { ...seen, variants: [...(seen.variants ?? []), ...(r.variants ?? [])] } : r);
  }
  return [...byName.values()];
}

/** The HCM of a server listener: RBAC, then the router; one virtual host whose route serves every RPC here. */
function serverHcm(svc: Service, settings: MeshSettings, name: string): Plain {
  const routes = { name, virtualHosts: [{ name: serviceKeyOf(svc), domains: ['*'], routes: [{ match: { prefix: '' }, nonForwardingAction: {} }] }] };
  const rbac = inboundHttpRbacFilters(svc.authorization ?? [], svc, settings.trustDomain, settings.authzDefault);
  return httpConnectionManager(name, { inline: routes }, { authorization: rbac });
}
