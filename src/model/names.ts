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
  return HOSTNAME.test(s) && !/^[0-9.]+$/.test(s);
}

/** The mesh-internal host of a service: `<name>.<namespace>`. */
export function serviceHost(svc: ServiceRef): string {
  return `${svc.name}.${svc.namespace}`;
}

/** The cluster (and EDS resource) name of a service. */
export function clusterName(svc: ServiceRef): string {
  return serviceHost(svc);
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
