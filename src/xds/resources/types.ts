/** What the translators return: plain Envoy resources with their names and the proxy roles that may see them. */
import type { Plain } from '../../envoy/common.ts';
import type { Role } from '../../model/proxy.ts';
import type { ResourceKind } from '../../protos/type-urls.ts';

export interface BuiltResource {
  name: string;
  resource: Plain;
  /**
   * Roles that receive this resource on a wildcard subscription and may fetch it by name. None: only
   * the proxies one of its variants is for see it (a service's own certificate under a shared name).
   */
  roles: readonly Role[];
  /** Set when only proxies of this service (`<namespace>/<name>`) may see it. */
  owner?: string;
  /** For an EDS cluster: the EDS resource it loads (re-sent after the cluster changes, rule O2). */
  edsName?: string;
  /**
   * The same resource as particular proxies see it, under the same name: by locality (locality
   * failover), by the proxy's identity (its own certificate) or by how it does TLS (clusters with
   * mTLS for sidecars and for proxyless clients). Proxies whose keys (`variantKeys`) name none of
   * them get `resource`.
   */
  variants?: ResourceVariant[];
}

/** One variant of a resource: the proxies with `key` among their variant keys see it instead. */
export interface ResourceVariant {
  key: string;
  resource: Plain;
  /** Who may see the variant, when not the base resource's roles and owner. */
  roles?: readonly Role[];
  owner?: string;
}

export type ResourceSet = Record<ResourceKind, BuiltResource[]>;

export const ALL_ROLES: readonly Role[] = ['grpc', 'gateway', 'sidecar'];
