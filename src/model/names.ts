/** Every naming rule of the mesh in one place: how registry objects become Envoy resource names. */

/** RFC 1123 DNS label: lower-case letters, digits and '-', 1..63 characters, alphanumeric at both ends. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** RFC 1123 host name: dot-separated labels (letters in either case), at most 253 characters. */
const HOSTNAME = /^(?=.{1,253}$)([a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*\.?$/;

export const DEFAULT_NAMESPACE = 'default';

/** The name of the single listener and route configuration served to gateway proxies. */
export const GATEWAY_LISTENER = 'gateway';
export const GATEWAY_ROUTE_CONFIG = 'gateway';

/** Identifies a service: namespace plus name. */
export interface ServiceRef {
  namespace: string;
  name: string;
}

/** True when `s` is a valid DNS label (service and namespace names). */
export function isDnsLabel(s: string): boolean {
  return DNS_LABEL.test(s);
}

/** True when `s` is an RFC 1123 host name (not an IP address). */
export function isHostname(s: string): boolean {
  // An all-numeric last label is never a host name (RFC 3696 §2); it rules out dotted IPv4 and the
  // forms resolvers still read as IPv4 through inet_aton, such as `0x7f.0.0.1`.
  return HOSTNAME.test(s) && !/(^|\.)[0-9]+\.?$/.test(s);
}

/** The mesh-internal host of a service: `<name>.<namespace>`. */
export function serviceHost(svc: ServiceRef): string {
  return `${svc.name}.${svc.namespace}`;
}

/** The cluster (and EDS resource) name of a service. */
export function clusterName(svc: ServiceRef): string {
  return serviceHost(svc);
}

/**
 * The EDS resource name of a service's cluster: the cluster name plus a short generation taken from
 * the service's registry id. A re-created service gets a new EDS name, because @grpc/grpc-js-xds
 * 1.14 keeps a deleted resource cached and ignores an identical one that comes back, which would
 * leave proxyless clients of a deleted-then-recreated service failing forever.
 */
export function edsServiceName(svc: ServiceRef & { uid: string }): string {
  return `${clusterName(svc)}~${svc.uid.replace(/[^0-9a-zA-Z]/g, '').slice(0, 8)}`;
}

/**
 * The cluster of a subset of a service's endpoints (`greeter.default|version=v2`), and its EDS name
 * (the service's EDS name plus the same suffix). `key` is the subset's canonical `k=v,k=v` form.
 */
export function subsetClusterName(svc: ServiceRef, key: string): string {
  return `${clusterName(svc)}|${key}`;
}

/** The EDS resource name of a subset cluster. */
export function subsetEdsName(svc: ServiceRef & { uid: string }, key: string): string {
  return `${edsServiceName(svc)}|${key}`;
}

/** Envoy metadata naming the registry object a resource was built from (shown in config dumps). */
export const METADATA_NAMESPACE = 'apg.mesh';

/** Sidecars: the listener that takes redirected outbound traffic, and the cluster for destinations outside the mesh. */
export const VIRTUAL_OUTBOUND_LISTENER = 'virtualOutbound';
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';

/** Sidecars: the outbound listener (and its route configuration) for every HTTP service on `port`. */
export function outboundName(port: number): string {
  return `outbound:${port}`;
}

/** Sidecars of a service: the inbound listener and the cluster of the local application. */
export function inboundName(svc: ServiceRef): string {
  return `inbound:${serviceHost(svc)}`;
}

/** The `<namespace>/<name>` key that ties a per-service resource to the proxies of that service. */
export function serviceKeyOf(svc: ServiceRef): string {
  return `${svc.namespace}/${svc.name}`;
}

/** The service a `<namespace>/<name>` key names (the inverse of serviceKeyOf), or undefined when it is not two DNS labels. */
export function serviceRefOfKey(key: string): ServiceRef | undefined {
  const [namespace, name, ...rest] = key.split('/');
  return namespace !== undefined && name !== undefined && rest.length === 0 && isDnsLabel(namespace) && isDnsLabel(name) ? { namespace, name } : undefined;
}

/** The API listener names a proxyless gRPC client may dial: `xds:///<name>.<namespace>:<port>` or without the port. */
export function apiListenerNames(svc: ServiceRef & { port: number }): [string, string] {
  return [`${serviceHost(svc)}:${svc.port}`, serviceHost(svc)];
}

/** The authorities (virtual host domains) under which a service is reached. */
export function serviceDomains(svc: ServiceRef & { port: number }): string[] {
  return [serviceHost(svc), `${serviceHost(svc)}:${svc.port}`];
}

/** A stat prefix Envoy accepts: the resource name with separators replaced. */
export function statPrefix(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

/**
 * Telemetry in the generated config: the clusters served for the telemetry services' and the span
 * collector's addresses, and the static cluster every envoy/ bootstrap defines to reach the control
 * plane (the access loggers use it when the mesh sets no telemetry address).
 */
export const TELEMETRY_CLUSTER = 'apg-telemetry';
export const TRACING_CLUSTER = 'apg-tracing';
export const BOOTSTRAP_XDS_CLUSTER = 'xds_cluster';

/** The service name of spans from gateways, and from sidecars whose service the mesh does not know. */
export const GATEWAY_TRACE_SERVICE = 'apg-gateway';
export const SIDECAR_TRACE_SERVICE = 'apg-sidecar';
