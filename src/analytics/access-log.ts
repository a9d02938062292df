/**
 * Envoy's access-log entries (ALS, `envoy.data.accesslog.v3.HTTPAccessLogEntry` / `TCPAccessLogEntry`,
 * decoded by src/protos/telemetry.ts) made into the records analytics stores. Pure.
 *
 * Who called whom: an entry logged on the way out (the upstream cluster is a service's cluster, or
 * one of its subsets) was made by the proxy's own service towards that service; one logged on the
 * way in (the cluster `inbound:<name>.<namespace>`) reached the proxy's service, and its caller is
 * the SPIFFE identity of the client certificate, when there was one.
 */
import { fail, issue, ok, type Result } from '../lib/result.ts';
import { workloadOfSpiffeId } from '../ca/spiffe.ts';
import { isDnsLabel } from '../model/names.ts';
import type { Plain } from '../protos/type-urls.ts';
import { requestMethodName } from '../protos/telemetry.ts';

export interface AccessLogRecord {
  /** When the request (or connection) started. */
  at: Date;
  proxyId: string;
  protocol: 'http' | 'tcp';
  direction: 'outbound' | 'inbound';
  /** `<namespace>/<name>` of the caller, when known. */
  source?: string;
  /** `<namespace>/<name>` of the destination, when the cluster is a service's. */
  destination?: string;
  /** The Envoy route that matched (`<namespace>/<route>` for the registry's routes). */
  route?: string;
  method?: string;
  path?: string;
  /** HTTP status; absent for TCP and for requests that got no response. */
  status?: number;
  /** gRPC status (`grpc-status` trailer, or header of a trailers-only answer), for gRPC requests. */
  grpcStatus?: number;
  /** Start to the last byte sent downstream, in milliseconds. */
  durationMs?: number;
  bytesReceived: number;
  bytesSent: number;
  /** W3C trace id from `traceparent`, else the request id: what follows one request across hops. */
  traceId?: string;
  requestId?: string;
}

/** The proxy an entry came from, as its stream identified it. */
export interface LogSource {
  proxyId: string;
  /** `<namespace>/<name>` of the proxy's service, if it announced one. */
  service?: string;
}

/** How far from the receiving clock an entry's start time may be before it is refused as absurd. */
export const MAX_CLOCK_SKEW_MS = 60 * 60_000;
export const MAX_AGE_MS = 24 * 60 * 60_000;

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Where a cluster's entries went: the side of the proxy, and the service when it is one of the mesh's. */
interface ClusterInfo {
  direction: 'outbound' | 'inbound';
  service?: string;
}

/** Most cluster names and SPIFFE IDs remembered: a mesh has a few hundred, so this only guards against junk names. */
const MEMO_LIMIT = 10_000;
const clusterMemo = new Map<string, ClusterInfo>();
const spiffeMemo = new Map<string, string | null>();

/** Remembers `value` for `key`, starting over when the map is full (cheaper than LRU; names repeat). */
function remember<V>(memo: Map<string, V>, key: string, value: V): V {
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, value);
  return value;
}

/** The service a cluster name belongs to, and on which side of the proxy it is. */
export function serviceOfCluster(cluster: string): ClusterInfo {
  const inbound = cluster.startsWith('inbound:');
  const host = (inbound ? cluster.slice('inbound:'.length) : cluster).split('|')[0]!;
  const [name, namespace, ...rest] = host.split('.');
  const service = name && namespace && rest.length === 0 && isDnsLabel(name) && isDnsLabel(namespace) ? `${namespace}/${name}` : undefined;
  return { direction: inbound ? 'inbound' : 'outbound', ...(service ? { service } : {}) };
}

/** `serviceOfCluster`, memoised: every entry names a cluster, and the same few repeat. */
function clusterInfo(cluster: string): ClusterInfo {
  return clusterMemo.get(cluster) ?? remember(clusterMemo, cluster, serviceOfCluster(cluster));
}

/** `<namespace>/<name>` of a mesh SPIFFE ID whose segments are service names (memoised like clusters). */
function serviceOfSpiffe(uri: string): string | undefined {
  let service = spiffeMemo.get(uri);
  if (service === undefined) {
    const w = workloadOfSpiffeId(uri);
    service = remember(spiffeMemo, uri, w && isDnsLabel(w.namespace) && isDnsLabel(w.service) ? `${w.namespace}/${w.service}` : null);
  }
  return service ?? undefined;
}

/**
 * A number from either decoded shape: protobufjs' JSON (64-bit integers as strings) or a message
 * instance (64-bit integers as Long objects), so ingestion can skip `toObject`.
 */
function num(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : isLong(v) ? v.toNumber() : NaN;
  return Number.isFinite(n) ? n : undefined;
}

const isLong = (v: unknown): v is { toNumber(): number } => typeof v === 'object' && v !== null && typeof (v as { toNumber?: unknown }).toNumber === 'function';

/** Milliseconds of a decoded Timestamp or Duration (`{seconds, nanos}`, seconds possibly a string or Long). */
function millis(v: unknown): number | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const { seconds, nanos } = v as { seconds?: unknown; nanos?: unknown };
  const s = seconds === undefined ? 0 : num(seconds);
  const n = nanos === undefined ? 0 : num(nanos);
  return s === undefined || n === undefined ? undefined : s * 1000 + n / 1e6;
}

/** A non-empty string field, or undefined (instances hold '' for unset strings, JSON leaves them out). */
const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The service of the first mesh SPIFFE ID among the client certificate's SANs. */
function peerService(props: Plain): string | undefined {
  const sans = ((props.tlsProperties as Plain | undefined)?.peerCertificateProperties as Plain | undefined)?.subjectAltName as Plain[] | undefined;
  if (!sans) return undefined;
  for (const san of sans) {
    const service = typeof san.uri === 'string' && san.uri !== '' ? serviceOfSpiffe(san.uri) : undefined;
    if (service !== undefined) return service;
  }
  return undefined;
}

/**
 * A record with the fields HTTP and TCP entries share (time, direction, services, duration), every
 * optional field present (undefined when unknown) so all records share one shape, which keeps the
 * writer's and the rollups' property reads monomorphic.
 */
function common(entry: Plain, from: LogSource, now: Date, protocol: 'http' | 'tcp'): Result<AccessLogRecord> {
  const props = (entry.commonProperties ?? {}) as Plain;
  const start = millis(props.startTime);
  if (start === undefined) return fail(issue('commonProperties.startTime', 'is required'));
  const nowMs = now.getTime();
  if (start > nowMs + MAX_CLOCK_SKEW_MS || start < nowMs - MAX_AGE_MS) {
    return fail(issue('commonProperties.startTime', `is ${new Date(start).toISOString()}, too far from now to be a real request`));
  }
  const cluster = clusterInfo(typeof props.upstreamCluster === 'string' ? props.upstreamCluster : '');
  const inbound = cluster.direction === 'inbound';
  return ok({
    at: new Date(start),
    proxyId: from.proxyId,
    protocol,
    direction: cluster.direction,
    source: (inbound ? peerService(props) : from.service) || undefined,
    destination: (inbound ? (cluster.service ?? from.service) : cluster.service) || undefined,
    route: text(props.routeName),
    method: undefined,
    path: undefined,
    status: undefined,
    grpcStatus: undefined,
    durationMs: millis(props.timeToLastDownstreamTxByte),
    bytesReceived: 0,
    bytesSent: 0,
    traceId: undefined,
    requestId: undefined,
  });
}

/** Sum of two byte counters, a missing or unreadable one counting 0. */
const sum2 = (a: unknown, b: unknown) => (num(a) ?? 0) + (num(b) ?? 0);

/** An HTTP method from either shape: its enum name (JSON) or number (instance); METHOD_UNSPECIFIED is none. */
function methodOf(v: unknown): string | undefined {
  const name = typeof v === 'number' ? requestMethodName(v) : v;
  return typeof name === 'string' && name !== 'METHOD_UNSPECIFIED' ? name : undefined;
}

/** A valid gRPC status code (0-16), else undefined. */
function grpcStatusOf(v: unknown): number | undefined {
  const n = num(v);
  return n !== undefined && Number.isInteger(n) && n >= 0 && n <= 16 ? n : undefined;
}

/**
 * A record of an HTTP access-log entry, from protobufjs' JSON shape or a decoded message instance
 * (src/protos/telemetry.ts `decodeAccessLogsForIngest`): both give the same record.
 */
export function httpRecordOf(entry: Plain, from: LogSource, now: Date): Result<AccessLogRecord> {
  const base = common(entry, from, now, 'http');
  if (!base.ok) return base;
  const r = base.value;
  const request = (entry.request ?? {}) as Plain;
  const response = (entry.response ?? {}) as Plain;
  const headers = (request.requestHeaders ?? {}) as Record<string, unknown>;
  const status = num((response.responseCode as Plain | undefined)?.value);
  // Bounded here so that one odd entry is refused alone instead of failing its whole stored batch.
  if (status !== undefined && status !== 0 && !(Number.isInteger(status) && status >= 100 && status <= 999)) {
    return fail(issue('response.responseCode', `is ${status}, not an HTTP status (100-999)`));
  }
  r.method = methodOf(request.requestMethod);
  r.path = text(request.path);
  r.status = status !== undefined && status > 0 ? status : undefined;
  r.grpcStatus = grpcStatusOf(((response.responseTrailers ?? {}) as Plain)['grpc-status'] ?? ((response.responseHeaders ?? {}) as Plain)['grpc-status']);
  r.bytesReceived = sum2(request.requestHeadersBytes, request.requestBodyBytes);
  r.bytesSent = sum2(response.responseHeadersBytes, response.responseBodyBytes);
  if (!Number.isSafeInteger(r.bytesReceived)) return fail(issue('request.requestBodyBytes', 'with the headers is beyond 2^53 bytes'));
  if (!Number.isSafeInteger(r.bytesSent)) return fail(issue('response.responseBodyBytes', 'with the headers is beyond 2^53 bytes'));
  r.requestId = text(request.requestId);
  r.traceId = (typeof headers.traceparent === 'string' ? TRACEPARENT.exec(headers.traceparent)?.[1] : undefined) ?? r.requestId;
  return base;
}

/** A record of a TCP access-log entry (one connection), from either decoded shape. */
export function tcpRecordOf(entry: Plain, from: LogSource, now: Date): Result<AccessLogRecord> {
  const base = common(entry, from, now, 'tcp');
  if (!base.ok) return base;
  const conn = (entry.connectionProperties ?? {}) as Plain;
  base.value.bytesReceived = num(conn.receivedBytes) ?? 0;
  base.value.bytesSent = num(conn.sentBytes) ?? 0;
  if (!Number.isSafeInteger(base.value.bytesReceived)) return fail(issue('connectionProperties.receivedBytes', 'is beyond 2^53 bytes'));
  if (!Number.isSafeInteger(base.value.bytesSent)) return fail(issue('connectionProperties.sentBytes', 'is beyond 2^53 bytes'));
  return base;
}

/**
 * The HTTP status class a request counts under: its HTTP status, except that a gRPC error answered
 * with HTTP 200 counts as the HTTP status gRPC maps it to (UNAVAILABLE 503, DEADLINE_EXCEEDED 504, …).
 */
export function effectiveStatus(r: Pick<AccessLogRecord, 'status' | 'grpcStatus'>): number | undefined {
  if (r.grpcStatus === undefined || r.grpcStatus === 0 || (r.status !== undefined && r.status !== 200)) return r.status;
  return GRPC_TO_HTTP[r.grpcStatus] ?? 500;
}

/** gRPC status → HTTP status, as gRPC's HTTP mapping and Envoy's grpc_http1_bridge define them. */
const GRPC_TO_HTTP: Record<number, number> = {
  1: 499, // CANCELLED
  2: 500, // UNKNOWN
  3: 400, // INVALID_ARGUMENT
  4: 504, // DEADLINE_EXCEEDED
  5: 404, // NOT_FOUND
  6: 409, // ALREADY_EXISTS
  7: 403, // PERMISSION_DENIED
  8: 429, // RESOURCE_EXHAUSTED
  9: 400, // FAILED_PRECONDITION
  10: 409, // ABORTED
  11: 400, // OUT_OF_RANGE
  12: 501, // UNIMPLEMENTED
  13: 500, // INTERNAL
  14: 503, // UNAVAILABLE
  15: 500, // DATA_LOSS
  16: 401, // UNAUTHENTICATED
};
