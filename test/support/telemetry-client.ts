/**
 * A telemetry stream the way Envoy opens one: client-streaming StreamAccessLogs or StreamMetrics,
 * messages built with Envoy's protos (or raw bytes, for the bad-input tests), and the status the
 * server ends the stream with.
 */
import * as grpc from '@grpc/grpc-js';
import { messageType } from '../../src/protos/loader.ts';
import { TELEMETRY_MESSAGES, TELEMETRY_METHODS } from '../../src/protos/telemetry.ts';

export type TelemetryKind = 'accessLogs' | 'metrics';

const PATHS = { accessLogs: TELEMETRY_METHODS.streamAccessLogs, metrics: TELEMETRY_METHODS.streamMetrics };
const TYPES = { accessLogs: TELEMETRY_MESSAGES.streamAccessLogs, metrics: TELEMETRY_MESSAGES.streamMetrics };

/** Encodes a plain StreamAccessLogsMessage / StreamMetricsMessage with Envoy's protos. */
export function encodeTelemetry(kind: TelemetryKind, plain: Record<string, unknown>): Buffer {
  const type = messageType(TYPES[kind]);
  const message = type.fromObject(plain);
  const err = type.verify(message);
  if (err) throw new Error(`not a valid ${TYPES[kind]}: ${err}`);
  return Buffer.from(type.encode(message).finish());
}

export class TelemetryStream {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientWritableStream<Buffer>;
  /** Resolves with the status the server ended the stream with. */
  readonly status: Promise<{ code: number; details: string }>;

  constructor(port: number, readonly kind: TelemetryKind, metadata: Record<string, string> = {}) {
    this.client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(metadata)) md.set(k, v);
    let settle: (s: { code: number; details: string }) => void = () => {};
    this.status = new Promise((resolve) => (settle = resolve));
    this.call = this.client.makeClientStreamRequest(
      PATHS[kind],
      (b: Buffer) => b,
      (b: Buffer) => b,
      md,
      (err) => settle(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '' }),
    );
    this.call.on('error', () => undefined);
  }

  /** Sends one message built from a plain object. */
  send(plain: Record<string, unknown>): Promise<void> {
    return this.sendRaw(encodeTelemetry(this.kind, plain));
  }

  /** Sends bytes as one gRPC message, whatever they are. */
  sendRaw(bytes: Buffer): Promise<void> {
    return new Promise((resolve) => this.call.write(bytes, () => resolve()));
  }

  /** Half-closes the stream and resolves with the server's status. */
  async end(): Promise<{ code: number; details: string }> {
    this.call.end();
    const s = await this.status;
    this.client.close();
    return s;
  }

  /** Cancels the stream. */
  cancel(): void {
    this.call.cancel();
    this.client.close();
  }
}

/** An HTTP access-log entry shaped like Envoy's, starting at `start` and lasting `ms`. */
export function httpEntry(o: { start: Date; ms: number; status?: number; cluster: string; route?: string; traceparent?: string; requestId?: string; path?: string; peerUri?: string }) {
  return {
    commonProperties: {
      startTime: { seconds: Math.floor(o.start.getTime() / 1000), nanos: (o.start.getTime() % 1000) * 1e6 },
      upstreamCluster: o.cluster,
      ...(o.route ? { routeName: o.route } : {}),
      timeToLastDownstreamTxByte: { seconds: Math.floor(o.ms / 1000), nanos: Math.round((o.ms % 1000) * 1e6) },
      ...(o.peerUri ? { tlsProperties: { peerCertificateProperties: { subjectAltName: [{ uri: o.peerUri }] } } } : {}),
    },
    request: {
      requestMethod: 'GET',
      path: o.path ?? '/',
      ...(o.requestId ? { requestId: o.requestId } : {}),
      requestHeadersBytes: 100,
      ...(o.traceparent ? { requestHeaders: { traceparent: o.traceparent } } : {}),
    },
    response: { ...(o.status !== undefined ? { responseCode: { value: o.status } } : {}), responseHeadersBytes: 50, responseBodyBytes: 200 },
  };
}

/** The identifier of a stream's first message. */
export function identifier(nodeId: string, meta: Record<string, string> = {}) {
  return { node: { id: nodeId, cluster: 'test', metadata: { fields: Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, { stringValue: v }])) } }, logName: 'apg' };
}
