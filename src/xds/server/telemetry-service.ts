/**
 * The telemetry services Envoy streams to: the Access Log Service and the Metrics Service, both
 * client-streaming with an empty response that is never sent while the stream lives. Messages are
 * taken as raw bytes and decoded here (access logs by the receiver's worker), so a bad message gets
 * a clear INVALID_ARGUMENT status rather than gRPC's generic one. The first message must identify
 * the node; streams are admitted by the
 * same authenticator as xDS, and a node may only claim the identity its credential proves.
 */
import * as grpc from '@grpc/grpc-js';
import type { Plain } from '../../protos/type-urls.ts';
import { decodeAccessLogsForIngest, decodeStreamMetricsMessage, TELEMETRY_METHODS } from '../../protos/telemetry.ts';
import { proxyFromNode, serviceKey, type NodeLike, type ProxyIdentity } from '../../model/proxy.ts';
import { credentialRefusal, PERMISSION_DENIED, type AuthOutcome, type StreamCredential, type XdsAuthenticator } from './auth.ts';
import { authenticateCall } from './call-auth.ts';
import { issuesText, type Result } from '../../lib/result.ts';
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

/** Where a stream's messages go, as received (src/analytics/ingest.ts hands access logs to its worker). */
export interface AccessLogSink {
  /** One StreamAccessLogsMessage's bytes; true when the stream must stop reading until `resume` is called. */
  deliver(bytes: Uint8Array, resume: () => void): boolean;
  /** The stream ended. */
  close(): void;
}

/** What the services hand their messages to (src/analytics/ingest.ts); none of the calls may throw. */
export interface TelemetryReceiver {
  /** An access-log stream whose first message named `from`; `fail` ends it with INVALID_ARGUMENT (a later message was found undecodable). */
  accessLogStream(from: TelemetrySource, fail: (reason: string) => void): AccessLogSink;
  metrics(from: TelemetrySource, families: Plain[]): void;
  /** A stream ended with an error status (undecodable message, no node, refused), for the counters. */
  refused(reason: 'malformed' | 'no-node' | 'unauthenticated'): void;
}

type Call = grpc.ServerReadableStream<Buffer, Buffer>;
/** Decodes a stream's first message, for the node it names; the reason when it cannot. */
type DecodeFirst = (b: Uint8Array) => Result<{ identifier?: { node?: Plain } }>;
/** What reads a stream once its first message named the node: its sink gets every message, the first too. */
type Open = (from: TelemetrySource, fail: (reason: string) => void) => AccessLogSink;

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
  const add = (path: string, decodeFirst: DecodeFirst, open: Open, windowBytes?: number) => {
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
        serveStream(call, callback, outcome.credential, decodeFirst, open, receiver, tokenStreams);
      });
    };
    server.addService(definition, { [method]: handler });
  };
  // Access logs are decoded off this thread (the receiver's worker): here only the first message, for its node.
  add(
    TELEMETRY_METHODS.streamAccessLogs,
    decodeAccessLogsForIngest,
    (from, fail) => receiver.accessLogStream(from, fail),
    opts.accessLogWindowBytes,
  );
  // Metrics streams are small and never held: cluster health must keep flowing while access logs back up.
  add(TELEMETRY_METHODS.streamMetrics, decodeStreamMetricsMessage, (from, fail) => ({
    deliver: (bytes) => {
      const m = decodeStreamMetricsMessage(bytes);
      if (m.ok) receiver.metrics(from, (m.value.envoyMetrics ?? []) as Plain[]);
      else fail(issuesText(m.issues));
      return false;
    },
    close: () => undefined,
  }));
}

/** Runs the authenticator (once, before any message is read); without one every stream is admitted. */
function admit(call: Call, authenticator: XdsAuthenticator | undefined, then: (o: AuthOutcome) => void): void {
  if (!authenticator) return then({ ok: true });
  authenticateCall(call, authenticator, then);
}

/** Reads a stream's messages: the first names the node, then each goes to the reader; a bad one ends the stream with its reason. */
function serveStream(
  call: Call,
  callback: grpc.sendUnaryData<Buffer>,
  credential: StreamCredential | undefined,
  decodeFirst: DecodeFirst,
  open: Open,
  receiver: TelemetryReceiver,
  tokenStreams: TokenStreams | undefined,
): void {
  let reader: ReturnType<Open> | undefined;
  let done = false;
  let untrack: (() => void) | undefined;
  const closeReader = () => {
    reader?.close();
    reader = undefined;
  };
  const end = (err: grpc.ServiceError | Partial<grpc.StatusObject> | null) => {
    untrack?.();
    closeReader();
    if (done) return;
    done = true;
    call.removeAllListeners('data');
    callback(err, err ? undefined : Buffer.alloc(0));
  };
  const malformed = (reason: string) => {
    receiver.refused('malformed');
    end({ code: grpc.status.INVALID_ARGUMENT, details: reason });
  };
  if (tokenStreams && credential !== undefined && credential !== 'loopback' && credential.tokenId) {
    untrack = tokenStreams.add(credential.tokenId, (message) => {
      receiver.refused('unauthenticated');
      end({ code: PERMISSION_DENIED, details: message });
    });
  }
  call.on('data', (bytes: Buffer) => {
    if (done) return;
    if (reader === undefined) {
      const first = decodeFirst(bytes);
      if (!first.ok) return malformed(issuesText(first.issues));
      const identified = sourceOf(first.value.identifier?.node as NodeLike | undefined, credential);
      if (!identified.ok) {
        receiver.refused(identified.code === PERMISSION_DENIED ? 'unauthenticated' : 'no-node');
        return end({ code: identified.code, details: identified.message });
      }
      reader = open(identified.source, (reason) => !done && malformed(reason));
    }
    // Paused, grpc-js stops reading the HTTP/2 stream once its small buffer fills, and flow control
    // holds the rest at the sender; what was already read is delivered after `resume`.
    if (reader.deliver(bytes, () => call.resume())) call.pause();
  });
  call.on('end', () => end(null));
  call.on('error', () => end(null));
  call.on('cancelled', () => {
    untrack?.();
    closeReader();
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
