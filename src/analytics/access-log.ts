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

/** The service a cluster name belongs to, and on which side of the proxy it is. */
export function serviceOfCluster(cluster: string): { direction: 'outbound' | 'inbound'; service?: string } {
  const inbound = cluster.startsWith('inbound:');
  const host = (inbound ? cluster.slice('inbound:'.length) : cluster).split('|')[0]!;
  const [name, namespace, ...rest] = host.split('.');
  const service = name && namespace && rest.length === 0 && isDnsLabel(name) && isDnsLabel(namespace) ? `${namespace}/${name}` : undefined;
  return { direction: inbound ? 'inbound' : 'outbound', ...(service ? { service } : {}) };
}

/** `<namespace>/<name>` of a mesh SPIFFE ID whose segments are service names. */
function serviceOfSpiffe(uri: string): string | undefined {
  const w = workloadOfSpiffeId(uri);
  return w && isDnsLabel(w.namespace) && isDnsLabel(w.service) ? `${w.namespace}/${w.service}` : undefined;
}

const num = (v: unknown): number | undefined => {
  const n = typeof v === 'string' ? Number(v) : typeof v === 'number' ? v : NaN;
  return Number.isFinite(n) ? n : undefined;
};

/** Milliseconds of a decoded Timestamp or Duration (`{seconds, nanos}`, seconds possibly a string). */
function millis(v: unknown): number | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const { seconds, nanos } = v as { seconds?: unknown; nanos?: unknown };
  const s = seconds === undefined ? 0 : num(seconds);
  const n = nanos === undefined ? 0 : num(nanos);
  return s === undefined || n === undefined ? undefined : s * 1000 + n / 1e6;
}

/** The fields HTTP and TCP entries share: time, direction, services, duration. */
function common(entry: Plain, from: LogSource, now: Date): Result<Omit<AccessLogRecord, 'protocol' | 'bytesReceived' | 'bytesSent'>> {
  const props = (entry.commonProperties ?? {}) as Plain;
  const start = millis(props.startTime);
  if (start === undefined) return fail(issue('commonProperties.startTime', 'is required'));
  if (start > now.getTime() + MAX_CLOCK_SKEW_MS || start < now.getTime() - MAX_AGE_MS) {
    return fail(issue('commonProperties.startTime', `is ${new Date(start).toISOString()}, too far from now to be a real request`));
  }
  const cluster = serviceOfCluster(typeof props.upstreamCluster === 'string' ? props.upstreamCluster : '');
  const peerSans = ((props.tlsProperties as Plain | undefined)?.peerCertificateProperties as Plain | undefined)?.subjectAltName as Plain[] | undefined;
  const peer = peerSans?.map((s) => (typeof s.uri === 'string' ? serviceOfSpiffe(s.uri) : undefined)).find((s) => s !== undefined);
  const inbound = cluster.direction === 'inbound';
  const source = inbound ? peer : from.service;
  const destination = inbound ? (cluster.service ?? from.service) : cluster.service;
  const durationMs = millis(props.timeToLastDownstreamTxByte);
  const route = typeof props.routeName === 'string' && props.routeName !== '' ? props.routeName : undefined;
  return ok({
    at: new Date(start),
    proxyId: from.proxyId,
    direction: cluster.direction,
    ...(source ? { source } : {}),
    ...(destination ? { destination } : {}),
    ...(route ? { route } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
  });
}

/** A record of an HTTP access-log entry. */
export function httpRecordOf(entry: Plain, from: LogSource, now: Date): Result<AccessLogRecord> {
  const base = common(entry, from, now);
  if (!base.ok) return base;
  const request = (entry.request ?? {}) as Plain;
  const response = (entry.response ?? {}) as Plain;
  const status = num((response.responseCode as Plain | undefined)?.value);
  const headers = (request.requestHeaders ?? {}) as Record<string, unknown>;
  const traceparent = typeof headers.traceparent === 'string' ? TRACEPARENT.exec(headers.traceparent)?.[1] : undefined;
  const requestId = typeof request.requestId === 'string' && request.requestId !== '' ? request.requestId : undefined;
  const traceId = traceparent ?? requestId;
  const grpcStatus = num(((response.responseTrailers ?? {}) as Plain)['grpc-status'] ?? ((response.responseHeaders ?? {}) as Plain)['grpc-status']);
  const sum = (...v: unknown[]) => v.reduce<number>((t, x) => t + (num(x) ?? 0), 0);
  return ok({
    ...base.value,
    protocol: 'http',
    ...(typeof request.requestMethod === 'string' && request.requestMethod !== 'METHOD_UNSPECIFIED' ? { method: request.requestMethod } : {}),
    ...(typeof request.path === 'string' && request.path !== '' ? { path: request.path } : {}),
    ...(status !== undefined && status > 0 ? { status } : {}),
    ...(grpcStatus !== undefined && Number.isInteger(grpcStatus) && grpcStatus >= 0 && grpcStatus <= 16 ? { grpcStatus } : {}),
    bytesReceived: sum(request.requestHeadersBytes, request.requestBodyBytes),
    bytesSent: sum(response.responseHeadersBytes, response.responseBodyBytes),
    ...(traceId ? { traceId } : {}),
    ...(requestId ? { requestId } : {}),
  });
}

/** A record of a TCP access-log entry (one connection). */
export function tcpRecordOf(entry: Plain, from: LogSource, now: Date): Result<AccessLogRecord> {
  const base = common(entry, from, now);
  if (!base.ok) return base;
  const conn = (entry.connectionProperties ?? {}) as Plain;
  return ok({ ...base.value, protocol: 'tcp', bytesReceived: num(conn.receivedBytes) ?? 0, bytesSent: num(conn.sentBytes) ?? 0 });
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
