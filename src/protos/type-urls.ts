/** Type URLs of the resources we serve, and packing of `google.protobuf.Any`. */
import protobuf from 'protobufjs';
import { messageType } from './loader.ts';

const PREFIX = 'type.googleapis.com/';

export const TYPE_URLS = {
  cluster: `${PREFIX}envoy.config.cluster.v3.Cluster`,
  endpoint: `${PREFIX}envoy.config.endpoint.v3.ClusterLoadAssignment`,
  listener: `${PREFIX}envoy.config.listener.v3.Listener`,
  route: `${PREFIX}envoy.config.route.v3.RouteConfiguration`,
  secret: `${PREFIX}envoy.extensions.transport_sockets.tls.v3.Secret`,
} as const;

export type ResourceKind = keyof typeof TYPE_URLS;
export type TypeUrl = (typeof TYPE_URLS)[ResourceKind];

/** Push order of the xDS protocol (rule O1): CDS, EDS, LDS, RDS, SDS. */
export const PUSH_ORDER: readonly TypeUrl[] = [
  TYPE_URLS.cluster,
  TYPE_URLS.endpoint,
  TYPE_URLS.listener,
  TYPE_URLS.route,
  TYPE_URLS.secret,
];

/** Short names used in logs, metrics and the API. */
export const SHORT_NAMES: Record<TypeUrl, string> = {
  [TYPE_URLS.cluster]: 'cds',
  [TYPE_URLS.endpoint]: 'eds',
  [TYPE_URLS.listener]: 'lds',
  [TYPE_URLS.route]: 'rds',
  [TYPE_URLS.secret]: 'sds',
};

/** True when `url` is one of the resource types this server serves. */
export function isServedTypeUrl(url: string): url is TypeUrl {
  return Object.prototype.hasOwnProperty.call(SHORT_NAMES, url);
}

/** The message full name inside a type URL (`type.googleapis.com/a.b.C` → `a.b.C`). */
export function messageNameOf(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}

/** A plain object in Envoy's JSON shape; nested Anys are objects with an `@type` key (protobufjs packs them). */
export type Plain = Record<string, unknown>;

/** Encodes a plain object as the message `type` names; throws on values protobufjs cannot convert. */
export function encodeMessage(type: protobuf.Type, plain: Plain): Uint8Array {
  // protobufjs encodes an Any of a type it has not loaded as an empty Any, which PGV's `required`
  // still accepts: refuse it here so that the publish gate reports it instead of shipping it.
  for (const url of anyTypeUrls(plain)) {
    if (!(type.root.lookup(messageNameOf(url)) instanceof protobuf.Type)) throw new Error(`unknown message type in @type: ${url}`);
  }
  return type.encode(type.fromObject(plain)).finish();
}

/** Every `@type` found in a plain message, nested ones included. */
function anyTypeUrls(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) anyTypeUrls(v, out);
  else if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    for (const [k, v] of Object.entries(value)) {
      if (k === '@type' && typeof v === 'string') out.push(v);
      else anyTypeUrls(v, out);
    }
  }
  return out;
}

/** Decodes bytes of `type` into a plain object, Anys unpacked with `@type` (for config dumps and tests). */
export function decodeToPlain(type: protobuf.Type, bytes: Uint8Array): Plain {
  return type.toObject(type.decode(bytes), { json: true, longs: String, enums: String, bytes: String }) as Plain;
}

export { protobuf };
