/**
 * Telemetry Envoy streams to the control plane: the gRPC Access Log Service (ALS,
 * envoy/service/accesslog/v3/als.proto) and the Metrics Service (envoy/service/metrics/v3/metrics_service.proto,
 * Prometheus data model from protos/io/prometheus/client/metrics.proto). Decoding returns a Result:
 * bytes from the network never make these helpers throw.
 */
import protobuf from 'protobufjs';
import { fail, issue, ok, type Result } from '../lib/result.ts';
import { messageType } from './loader.ts';
import type { Plain } from './type-urls.ts';

/** gRPC services and their client-streaming methods (full names, without the leading dot). */
export const TELEMETRY_SERVICES = {
  accessLog: 'envoy.service.accesslog.v3.AccessLogService',
  metrics: 'envoy.service.metrics.v3.MetricsService',
} as const;

/** gRPC method paths as they appear on the wire (`:path`). */
export const TELEMETRY_METHODS = {
  streamAccessLogs: `/${TELEMETRY_SERVICES.accessLog}/StreamAccessLogs`,
  streamMetrics: `/${TELEMETRY_SERVICES.metrics}/StreamMetrics`,
} as const;

/** Message full names: what Envoy sends, and the (never sent) empty responses. */
export const TELEMETRY_MESSAGES = {
  streamAccessLogs: 'envoy.service.accesslog.v3.StreamAccessLogsMessage',
  streamAccessLogsResponse: 'envoy.service.accesslog.v3.StreamAccessLogsResponse',
  streamMetrics: 'envoy.service.metrics.v3.StreamMetricsMessage',
  streamMetricsResponse: 'envoy.service.metrics.v3.StreamMetricsResponse',
  metricFamily: 'io.prometheus.client.MetricFamily',
} as const;

export type TelemetryMessageName = (typeof TELEMETRY_MESSAGES)[keyof typeof TELEMETRY_MESSAGES];

/**
 * A decoded StreamAccessLogsMessage in protobufjs' JSON shape (camelCase keys, 64-bit integers as
 * strings, enums as names, Timestamps/Durations as objects `{seconds, nanos}`, wrappers as `{value}`).
 * `identifier` is only sent in the first message of a stream; exactly one of `httpLogs`/`tcpLogs` is set.
 */
export interface AccessLogsMessage {
  identifier?: { node?: Plain; logName?: string };
  httpLogs?: { logEntry?: Plain[] };
  tcpLogs?: { logEntry?: Plain[] };
}

/** A decoded StreamMetricsMessage; `envoyMetrics` are Prometheus MetricFamily objects (`{name, type, metric: [...]}`). */
export interface MetricsMessage {
  identifier?: { node?: Plain };
  envoyMetrics?: Plain[];
}

/** Decodes one StreamAccessLogsMessage (the bytes of one gRPC message, without the 5-byte frame header). */
export function decodeStreamAccessLogsMessage(bytes: Uint8Array): Result<AccessLogsMessage> {
  return decodeTelemetry(TELEMETRY_MESSAGES.streamAccessLogs, bytes) as Result<AccessLogsMessage>;
}

/** Decodes one StreamMetricsMessage (the bytes of one gRPC message, without the 5-byte frame header). */
export function decodeStreamMetricsMessage(bytes: Uint8Array): Result<MetricsMessage> {
  return decodeTelemetry(TELEMETRY_MESSAGES.streamMetrics, bytes) as Result<MetricsMessage>;
}

/** Decodes bytes of any loaded message type into a plain object; the issue names the type and what is wrong. */
export function decodeTelemetry(fullName: TelemetryMessageName, bytes: Uint8Array): Result<Plain> {
  if (!(bytes instanceof Uint8Array)) return fail(issue('', `cannot decode ${fullName}: expected bytes, got ${describe(bytes)}`));
  let type: protobuf.Type;
  try {
    type = messageType(fullName);
  } catch (e) {
    return fail(issue('', `cannot decode ${fullName}: message type not loaded (${errorText(e)})`));
  }
  try {
    const message = type.decode(bytes);
    // Inside the try too: toObject unpacks Anys (e.g. typed filter metadata), whose inner bytes may be bad.
    return ok(type.toObject(message, { json: true, longs: String, enums: String, bytes: String }) as Plain);
  } catch (e) {
    return fail(issue('', `cannot decode ${fullName} from ${bytes.length} bytes: ${explain(e)}`));
  }
}

/** protobufjs' errors are terse ("index out of range: 3 + 1 > 3"): say what they mean. */
function explain(e: unknown): string {
  const text = errorText(e);
  if (e instanceof RangeError || /index out of range/.test(text)) return `truncated or corrupt (a length or value runs past the end: ${text})`;
  if (/invalid wire type/.test(text)) return `not a protobuf encoding of this message (${text})`;
  if (/invalid varint/i.test(text)) return `corrupt varint (${text})`;
  return text;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}
