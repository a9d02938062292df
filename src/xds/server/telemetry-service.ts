/**
 * The telemetry services Envoy streams to: the Access Log Service and the Metrics Service, both
 * client-streaming with an empty response that is never sent while the stream lives. Messages are
 * taken as raw bytes and decoded here, so a bad message gets a clear INVALID_ARGUMENT status rather
 * than gRPC's generic one. The first message must identify the node; streams are admitted by the
 * same authenticator as xDS, and a node may only claim the identity its credential proves.
 */
import * as grpc from '@grpc/grpc-js';
import type { Plain } from '../../protos/type-urls.ts';
import { decodeAccessLogsForIngest, decodeStreamMetricsMessage, TELEMETRY_METHODS, type AccessLogsMessage } from '../../protos/telemetry.ts';
import { proxyFromNode, serviceKey, type NodeLike, type ProxyIdentity } from '../../model/proxy.ts';
import { credentialRefusal, PERMISSION_DENIED, type AuthOutcome, type StreamCredential, type XdsAuthenticator } from './auth.ts';
import { authenticateCall } from './call-auth.ts';
import type { Result } from '../../lib/result.ts';
import { structToPlain, type StructMsg } from '../../protos/struct.ts';
import { bindServer, shutdownServer } from './grpc-lifecycle.ts';
import type { TokenStreams } from './token-streams.ts';
import { widenReceiveWindow } from './http2-window.ts';

/** The proxy a telemetry stream comes from. */
export interface TelemetrySource {
  proxyId: string;
  /** `<namespace>/<name>` of its service, when it announced one. */
  service?: string;
}

/** What the services hand their messages to (src/analytics/ingest.ts); neither call may throw. */
export interface TelemetryReceiver {
  accessLogs(from: TelemetrySource, message: AccessLogsMessage): void;
  metrics(from: TelemetrySource, families: Plain[]): void;
  /** A stream ended with an error status (undecodable message, no node, refused), for the counters. */
  refused(reason: 'malformed' | 'no-node' | 'unauthenticated'): void;
  /** Optional back-pressure, asked after each delivery: true when the stream must stop reading until `resume` is called. */
  holdStream?(resume: () => void): boolean;
}

type Call = grpc.ServerReadableStream<Buffer, Buffer>;
/** Hands a decoded message on; true when the stream must stop reading until `resume` is called. */
type Deliver = (from: TelemetrySource, m: Plain, resume: () => void) => boolean | undefined;

/** How the telemetry services admit and read streams. */
export interface TelemetryServiceOptions {
  /** Who may stream (the xDS port's); without one every stream is admitted. */
  authenticator?: XdsAuthenticator;
  /** Where streams opened with a join token are registered; its owner (the xDS server) ends them once the token is revoked. */
  tokenStreams?: TokenStreams;
  /** HTTP/2 receive window of an access-log stream, bytes (src/xds/server/http2-window.ts); unset: HTTP/2's 64 KiB. */
  accessLogWindowBytes?: number;
}

/** Adds the Access Log and Metrics services to a gRPC server. */
export function addTelemetryServices(server: grpc.Server, receiver: TelemetryReceiver, opts: TelemetryServiceOptions = {}): void {
  const { authenticator, tokenStreams } = opts;
  const add = (path: string, decode: (b: Uint8Array) => Result<{ identifier?: { node?: Plain } }>, deliver: Deliver, windowBytes?: number) => {
    const method = path.slice(path.lastIndexOf('/') + 1);
    const definition: grpc.ServiceDefinition = {
      [method]: {
        path,
        requestStream: true,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    };
    const handler = (call: Call, callback: grpc.sendUnaryData<Buffer>) => {
      admit(call, authenticator, (outcome) => {
        if (!outcome.ok) {
          receiver.refused('unauthenticated');
          return callback({ code: outcome.code, details: outcome.message });
        }
        if (windowBytes !== undefined) widenReceiveWindow(call, windowBytes);
        serveStream(call, callback, outcome.credential, decode, deliver, receiver, tokenStreams);
      });
    };
    server.addService(definition, { [method]: handler });
  };
  add(
    TELEMETRY_METHODS.streamAccessLogs,
    decodeAccessLogsForIngest,
    (from, m, resume) => {
      receiver.accessLogs(from, m as AccessLogsMessage);
      return receiver.holdStream?.(resume);
    },
    opts.accessLogWindowBytes,
  );
  // Metrics streams are small and never held: cluster health must keep flowing while access logs back up.
  add(TELEMETRY_METHODS.streamMetrics, decodeStreamMetricsMessage, (from, m) => {
    receiver.metrics(from, ((m as { envoyMetrics?: Plain[] }).envoyMetrics ?? []) as Plain[]);
    return false;
  });
}

/** Runs the authenticator (once, before any message is read); without one every stream is admitted. */
function admit(call: Call, authenticator: XdsAuthenticator | undefined, then: (o: AuthOutcome) => void): void {
  if (!authenticator) return then({ ok: true });
  authenticateCall(call, authenticator, then);
}

/** Reads a stream's messages: the first names the node, each is decoded and delivered; a bad one ends the stream with its reason. */
function serveStream(
  call: Call,
  callback: grpc.sendUnaryData<Buffer>,
  credential: StreamCredential | undefined,
  decode: (b: Uint8Array) => Result<{ identifier?: { node?: Plain } }>,
  deliver: Deliver,
  receiver: TelemetryReceiver,
  tokenStreams: TokenStreams | undefined,
): void {
  let from: TelemetrySource | undefined;
  let done = false;
  let untrack: (() => void) | undefined;
  const end = (err: grpc.ServiceError | Partial<grpc.StatusObject> | null) => {
    untrack?.();
    if (done) return;
    done = true;
    call.removeAllListeners('data');
    callback(err, err ? undefined : Buffer.alloc(0));
  };
  if (tokenStreams && credential !== undefined && credential !== 'loopback' && credential.tokenId) {
    untrack = tokenStreams.add(credential.tokenId, (message) => {
      receiver.refused('unauthenticated');
      end({ code: PERMISSION_DENIED, details: message });
    });
  }
  call.on('data', (bytes: Buffer) => {
    if (done) return;
    const message = decode(bytes);
    if (!message.ok) {
      receiver.refused('malformed');
      return end({ code: grpc.status.INVALID_ARGUMENT, details: message.issues.map((i) => `${i.path || 'message'}: ${i.message}`).join('; ') });
    }
    if (!from) {
      const identified = sourceOf(message.value.identifier?.node as NodeLike | undefined, credential);
      if (!identified.ok) {
        receiver.refused(identified.code === PERMISSION_DENIED ? 'unauthenticated' : 'no-node');
        return end({ code: identified.code, details: identified.message });
      }
      from = identified.source;
    }
    // Paused, grpc-js stops reading the HTTP/2 stream once its small buffer fills, and flow control
    // holds the rest at the sender; what was already read is delivered after `resume`.
    if (deliver(from, message.value as Plain, () => call.resume())) call.pause();
  });
  call.on('end', () => end(null));
  call.on('error', () => end(null));
  call.on('cancelled', () => {
    untrack?.();
    done = true;
  });
}

type Identified = { ok: true; source: TelemetrySource } | { ok: false; code: number; message: string };

/** The stream's proxy from the first message's node, checked against the stream's credential. */
export function sourceOf(node: NodeLike | undefined, credential: StreamCredential | undefined): Identified {
  if (!node) return { ok: false, code: grpc.status.INVALID_ARGUMENT, message: 'identifier.node: is required in the first message of a stream' };
  // Decoded from the wire, node metadata is a google.protobuf.Struct.
  const proxy = proxyFromNode({ ...node, metadata: structToPlain(node.metadata as StructMsg | null | undefined) });
  if (!proxy.ok) return { ok: false, code: grpc.status.INVALID_ARGUMENT, message: proxy.issues.map((i) => `identifier.${i.path}: ${i.message}`).join('; ') };
  const refusal = credentialRefusal(proxy.value, credential);
  if (refusal) return { ok: false, code: PERMISSION_DENIED, message: refusal };
  return { ok: true, source: telemetrySourceOf(proxy.value) };
}

/** What the analytics need of a proxy's identity. */
function telemetrySourceOf(proxy: ProxyIdentity): TelemetrySource {
  const service = serviceKey(proxy);
  return { proxyId: proxy.id, ...(service ? { service } : {}) };
}

/**
 * The telemetry services on a port of their own (TELEMETRY_PORT), with the xDS port's credentials,
 * authenticator and token-stream registry (so a revoked join token cuts these streams too).
 */
export class TelemetryServer {
  private readonly server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });

  constructor(receiver: TelemetryReceiver, opts: TelemetryServiceOptions = {}) {
    addTelemetryServices(this.server, receiver, opts);
  }

  /** Binds and resolves with the port. */
  listen(host: string, port: number, credentials: grpc.ServerCredentials): Promise<number> {
    return bindServer(this.server, host, port, credentials);
  }

  /** Stops; open streams are cut after `graceMs`. */
  close(graceMs = 500): Promise<void> {
    return shutdownServer(this.server, graceMs);
  }
}
