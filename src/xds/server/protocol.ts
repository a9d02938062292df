/**
 * The xDS protocol rules the streams follow, one named predicate or constant per rule of
 * `shared/XDS-PROTOCOL.md` (condensed from envoyproxy.io "xDS REST and gRPC protocol",
 * https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol).
 */
import { TYPE_URLS, type TypeUrl } from '../../protos/type-urls.ts';

/** A decoded DiscoveryRequest, the fields we read (protobufjs camelCase). */
export interface DiscoveryRequest {
  versionInfo?: string;
  node?: { id?: string; cluster?: string; metadata?: unknown; locality?: { region?: string; zone?: string }; userAgentName?: string } | null;
  resourceNames?: string[];
  /** The raw bytes of `resource_names`, when the decoder kept them: equal bytes, equal subscription. */
  namesKey?: Buffer;
  /** How many names there are, known without decoding them. */
  nameCount?: number;
  typeUrl?: string;
  responseNonce?: string;
  errorDetail?: { code?: number; message?: string } | null;
}

/** A decoded DeltaDiscoveryRequest, the fields we read. */
export interface DeltaDiscoveryRequest {
  node?: DiscoveryRequest['node'];
  typeUrl?: string;
  resourceNamesSubscribe?: string[];
  resourceNamesUnsubscribe?: string[];
  initialResourceVersions?: Record<string, string>;
  responseNonce?: string;
  errorDetail?: { code?: number; message?: string } | null;
}

/** Guard against hostile subscriptions: more names than any real proxy asks for in one request. */
export const MAX_RESOURCE_NAMES = 100_000;

/** T2: on ADS the type must be named in every request ("Resource type URL" section). */
export function hasEmptyTypeUrl(req: { typeUrl?: string }): boolean {
  return !req.typeUrl;
}

/** A type URL that is well formed, even if we do not serve it (those are ignored, not fatal). */
export function isWellFormedTypeUrl(url: string): boolean {
  return /^type\.googleapis\.com\/[A-Za-z_][\w.]*$/.test(url);
}

/** V3: a NACK is recognised by `error_detail`, never by comparing versions ("ACK/NACK and resource type instance version"). */
export function isNack(req: { errorDetail?: { code?: number; message?: string } | null }): boolean {
  return req.errorDetail != null && (req.errorDetail.code !== undefined || !!req.errorDetail.message);
}

/** V5: a request that answers an older response than the latest one sent for its type is stale and gets no reply ("Resource updates"). */
export function isStaleNonce(req: DiscoveryRequest, latestNonce: string): boolean {
  return !!req.responseNonce && req.responseNonce !== latestNonce;
}

/** V5: an empty nonce opens (or re-opens after reconnect) a type's conversation and always gets an answer. */
export function isInitialRequest(req: DiscoveryRequest): boolean {
  return !req.responseNonce;
}

/** S2: only Listener and Cluster have wildcard subscriptions ("How the client specifies what resources to return"). */
export function supportsWildcard(typeUrl: TypeUrl): boolean {
  return typeUrl === TYPE_URLS.listener || typeUrl === TYPE_URLS.cluster;
}

/** G1: SotW LDS and CDS responses carry the whole state; a missing resource is deleted ("Grouping Resources into Responses"). */
export function isFullStateType(typeUrl: TypeUrl): boolean {
  return supportsWildcard(typeUrl);
}

/**
 * S2: a SotW request is a wildcard subscription when it names `*`, or (legacy) when it names nothing
 * and the stream has never sent a name for this type. Once names were sent, an empty list means none.
 */
export function isWildcardRequest(typeUrl: TypeUrl, names: string[], everNamed: boolean): boolean {
  if (!supportsWildcard(typeUrl)) return false;
  return names.includes('*') || (names.length === 0 && !everNamed);
}
