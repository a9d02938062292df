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
 * From `decodeAccessLogsForIngest` the entries are protobufjs message instances instead.
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

/** Which fields of a message to keep: `true` for a scalar, map or enum, a nested tree for a message. */
type FieldTree = { [field: string]: true | FieldTree };

const TIME: FieldTree = { seconds: true, nanos: true };
const COMMON: FieldTree = {
  startTime: TIME,
  upstreamCluster: true,
  routeName: true,
  timeToLastDownstreamTxByte: TIME,
  tlsProperties: { peerCertificateProperties: { subjectAltName: { uri: true } } },
};

/**
 * The fields of an access-log entry that src/analytics/access-log.ts reads (a field it starts to read
 * must be added here; the shapes test compares its records with those of a full decode).
 */
const INGESTED_FIELDS: FieldTree = {
  httpLogs: {
    logEntry: {
      commonProperties: COMMON,
      request: { requestMethod: true, path: true, requestId: true, requestHeadersBytes: true, requestBodyBytes: true, requestHeaders: true },
      response: { responseCode: { value: true }, responseHeadersBytes: true, responseBodyBytes: true, responseHeaders: true, responseTrailers: true },
    },
  },
  tcpLogs: { logEntry: { commonProperties: COMMON, connectionProperties: { receivedBytes: true, sentBytes: true } } },
};

/**
 * A copy of `type` with only the fields of `keep` (same numbers and wire types), its message fields
 * pruned likewise, added to `into`. Decoding with it skips every other field without building it:
 * an Envoy entry carries some thirty fields (addresses, a dozen durations, metadata) ingestion never reads.
 * Enums become int32 (the same varint on the wire, the number a message instance holds anyway).
 */
function prunedType(type: protobuf.Type, keep: FieldTree, into: protobuf.Namespace, name: string): protobuf.Type {
  const out = new protobuf.Type(name);
  into.add(out);
  for (const [fieldName, sub] of Object.entries(keep)) {
    const field = type.fields[fieldName];
    if (!field) throw new Error(`${type.fullName} has no field ${fieldName}`);
    field.resolve();
    if (field instanceof protobuf.MapField) {
      out.add(new protobuf.MapField(fieldName, field.id, field.keyType, field.type));
      continue;
    }
    let fieldType = field.type;
    if (field.resolvedType instanceof protobuf.Type) {
      if (sub === true) throw new Error(`${type.fullName}.${fieldName} is a message: name the fields to keep`);
      fieldType = prunedType(field.resolvedType, sub, into, `${name}_${fieldName}`).name;
    } else if (field.resolvedType instanceof protobuf.Enum) fieldType = 'int32';
    out.add(new protobuf.Field(fieldName, field.id, fieldType, field.repeated ? 'repeated' : undefined));
  }
  return out;
}

let ingestType: protobuf.Type | undefined;

/** StreamAccessLogsMessage pruned to `INGESTED_FIELDS`, with the identifier kept as its raw bytes (decoded in full, once a stream). */
function accessLogsIngestType(): protobuf.Type {
  if (ingestType) return ingestType;
  const full = messageType(TELEMETRY_MESSAGES.streamAccessLogs);
  const root = new protobuf.Root();
  const type = prunedType(full, INGESTED_FIELDS, root.define('apg.ingest'), 'StreamAccessLogsMessage');
  type.add(new protobuf.Field('identifier', full.fields.identifier!.id, 'bytes'));
  root.resolveAll();
  return (ingestType = type);
}

/**
 * Decodes one StreamAccessLogsMessage for ingestion: only the fields ingestion reads are decoded
 * (`INGESTED_FIELDS`; the others are skipped, their lengths still checked), and without `toObject`:
 * the identifier is made plain as in `decodeStreamAccessLogsMessage`, but the entries stay protobufjs
 * message instances (64-bit integers as Long objects, enums as numbers, '' / null for unset fields).
 * Only readers that accept both shapes (src/analytics/access-log.ts) may take them.
 */
export function decodeAccessLogsForIngest(bytes: Uint8Array): Result<AccessLogsMessage> {
  const name = TELEMETRY_MESSAGES.streamAccessLogs;
  if (!(bytes instanceof Uint8Array)) return fail(issue('', `cannot decode ${name}: expected bytes, got ${describe(bytes)}`));
  try {
    const message = accessLogsIngestType().decode(bytes) as unknown as { identifier: Uint8Array; httpLogs?: { logEntry?: Plain[] } | null; tcpLogs?: { logEntry?: Plain[] } | null };
    const out: AccessLogsMessage = {};
    if (message.identifier.length > 0) {
      const identifierType = messageType(`${name}.Identifier`);
      out.identifier = identifierType.toObject(identifierType.decode(message.identifier), TO_OBJECT) as AccessLogsMessage['identifier'];
    }
    if (message.httpLogs) out.httpLogs = message.httpLogs;
    if (message.tcpLogs) out.tcpLogs = message.tcpLogs;
    return ok(out);
  } catch (e) {
    return fail(issue('', `cannot decode ${name} from ${bytes.length} bytes: ${explain(e)}`));
  }
}

let methodNames: Record<number, string> | undefined;

/** The name of an `envoy.config.core.v3.RequestMethod` number (what `toObject` with `enums: String` gives). */
export function requestMethodName(n: number): string | undefined {
  methodNames ??= (messageType('envoy.data.accesslog.v3.HTTPRequestProperties').fields.requestMethod!.resolve().resolvedType as protobuf.Enum).valuesById;
  return methodNames[n];
}

/** Decodes one StreamMetricsMessage (the bytes of one gRPC message, without the 5-byte frame header). */
export function decodeStreamMetricsMessage(bytes: Uint8Array): Result<MetricsMessage> {
  return decodeTelemetry(TELEMETRY_MESSAGES.streamMetrics, bytes) as Result<MetricsMessage>;
}

/** protobufjs' JSON shape: what every decoder here returns. */
const TO_OBJECT: protobuf.IConversionOptions = { json: true, longs: String, enums: String, bytes: String };

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
    return ok(type.toObject(message, TO_OBJECT) as Plain);
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
