/** What the translators return: plain Envoy resources with their names and the proxy roles that may see them. */
import type { Plain } from '../../envoy/common.ts';
import type { Role } from '../../model/proxy.ts';
import type { ResourceKind } from '../../protos/type-urls.ts';

export interface BuiltResource {
  name: string;
  resource: Plain;
  /** Roles that receive this resource on a wildcard subscription and may fetch it by name. */
  roles: readonly Role[];
  /** Set when only proxies of this service (`<namespace>/<name>`) may see it. */
  owner?: string;
  /** For an EDS cluster: the EDS resource it loads (re-sent after the cluster changes, rule O2). */
  edsName?: string;
  /**
   * The same resource as callers in particular localities see it (locality failover), by locality
   * key (`zoneLocalityKey`, `regionLocalityKey`); callers elsewhere get `resource`.
   */
  variants?: { locality: string; resource: Plain }[];
}

export type ResourceSet = Record<ResourceKind, BuiltResource[]>;

export const ALL_ROLES: readonly Role[] = ['grpc', 'gateway', 'sidecar'];
