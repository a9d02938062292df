/**
 * The xDS gRPC server: ADS and the per-type discovery services, state of the world and Delta, each
 * stream a SotwStream or DeltaStream over the shared cache, and CSDS reporting what each stream holds.
 * Requests are decoded with Envoy's protos; responses are pre-assembled bytes.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { messageType } from '../../protos/loader.ts';
import { TYPE_URLS, type TypeUrl } from '../../protos/type-urls.ts';
import type { SnapshotCache } from '../cache/snapshot-cache.ts';
import { csdsService } from './csds.ts';
import { DeltaStream } from './delta-stream.ts';
import type { DeltaDiscoveryRequest, DiscoveryRequest } from './protocol.ts';
import type { ProxyStatusTracker } from './proxy-status.ts';
import { decodeSotwRequest } from './request-decoder.ts';
import { SotwStream } from './sotw-stream.ts';
import { WriteBudget } from './write-budget.ts';
import type { StreamDeps, Variant } from './stream-base.ts';
import { PERMISSION_DENIED, UNAUTHENTICATED, type AuthOutcome, type StreamCredential, type XdsAuthenticator } from './auth.ts';
import { addTelemetryServices, type TelemetryReceiver } from './telemetry-service.ts';
import { TokenStreams } from './token-streams.ts';
import { bindServer, shutdownServer } from './grpc-lifecycle.ts';
import { authenticateCall } from './call-auth.ts';
import { optionalClientCertCredentials, StaticCertificateProvider, type XdsTlsOptions } from './tls.ts';

export interface XdsServerOptions {
  cache: SnapshotCache;
  status: ProxyStatusTracker;
  controlPlaneId: string;
  /** Largest request accepted, in bytes (gRPC's default is 4 MiB). */
  maxReceiveMessageBytes?: number;
  /** Response bytes handed to gRPC and not yet flushed, across all streams, before responses wait (default 64 MiB). */
  writeBudgetBytes?: number;
  /** Who may open a stream and which identity it may claim; unset: every stream is admitted with no check (tests, benchmarks). */
  authenticator?: XdsAuthenticator;
  /** How often open streams' join tokens are re-checked, so revocation and expiry cut them (default 2000 ms). */
  revalidateMs?: number;
  /** Serve TLS instead of plaintext; client certificates issued by the mesh CA then authenticate streams. */
  tls?: XdsTlsOptions;
  /** Where refused streams are logged. */
  log?: { warn(obj: object, msg: string): void };
  /** Serve the access-log and metrics services on this port too, handing their messages here. */
  telemetry?: TelemetryReceiver;
  /** HTTP/2 receive window of those access-log streams, bytes (TELEMETRY_STREAM_WINDOW). */
  accessLogWindowBytes?: number;
}

/** A request that could not be decoded: the stream ends with INVALID_ARGUMENT instead of a generic INTERNAL. */
interface Undecodable {
  decodeError: string;
}

type Incoming = DiscoveryRequest | DeltaDiscoveryRequest | Undecodable;

interface Method {
  path: string;
  variant: Variant;
  fixedType?: TypeUrl;
}

/** T1: ADS and the per-type services, each in both variants. */
const METHODS: Method[] = [
  ['envoy.service.discovery.v3.AggregatedDiscoveryService', 'AggregatedResources', undefined],
  ['envoy.service.cluster.v3.ClusterDiscoveryService', 'Clusters', TYPE_URLS.cluster],
  ['envoy.service.endpoint.v3.EndpointDiscoveryService', 'Endpoints', TYPE_URLS.endpoint],
  ['envoy.service.listener.v3.ListenerDiscoveryService', 'Listeners', TYPE_URLS.listener],
  ['envoy.service.route.v3.RouteDiscoveryService', 'Routes', TYPE_URLS.route],
  ['envoy.service.secret.v3.SecretDiscoveryService', 'Secrets', TYPE_URLS.secret],
].flatMap(([service, what, fixedType]) => [
  { path: `/${service}/Stream${what}`, variant: 'sotw' as const, fixedType: fixedType as TypeUrl | undefined },
  { path: `/${service}/Delta${what}`, variant: 'delta' as const, fixedType: fixedType as TypeUrl | undefined },
]);

const REQUEST_TYPES: Record<Variant, string> = {
  sotw: 'envoy.service.discovery.v3.DiscoveryRequest',
  delta: 'envoy.service.discovery.v3.DeltaDiscoveryRequest',
};

/** Runs the gRPC server that proxies connect to. */
export class XdsServer {
  private readonly server: grpc.Server;
  private readonly streams = new Set<SotwStream | DeltaStream>();
  private nextStream = 0;
  /** Random per process, so nonces and stream ids never repeat across restarts (T4). */
  private readonly instance = randomBytes(3).toString('hex');
  private readonly unwatch: () => void;
  private readonly budget: WriteBudget;
  /** Open streams admitted with a join token, this server's and a telemetry port's: re-checked every `revalidateMs`. */
  readonly tokenStreams = new TokenStreams();
  private readonly revalidation: NodeJS.Timeout | undefined;
  private readonly certificates: StaticCertificateProvider | undefined;

  constructor(private readonly opts: XdsServerOptions) {
    this.budget = new WriteBudget(opts.writeBudgetBytes ?? 64 * 1024 * 1024);
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': opts.maxReceiveMessageBytes ?? 4 * 1024 * 1024,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 10_000,
    });
    for (const method of METHODS) this.addMethod(method, messageType(REQUEST_TYPES[method.variant]));
    this.server.addService(...csdsService(opts.status));
    if (opts.telemetry) addTelemetryServices(this.server, opts.telemetry, { authenticator: opts.authenticator, tokenStreams: this.tokenStreams, accessLogWindowBytes: opts.accessLogWindowBytes });
    this.unwatch = opts.cache.watch((snapshot, changed) => {
      opts.status.fanOut(snapshot, () => {
        for (const s of this.streams) s.onSnapshot(changed);
      });
    });
    if (opts.tls) this.certificates = new StaticCertificateProvider(opts.tls);
    if (opts.authenticator?.stillValid) {
      this.revalidation = setInterval(() => void this.revalidateTokens(), opts.revalidateMs ?? 2000);
      this.revalidation.unref();
    }
  }

  private addMethod({ path, variant, fixedType }: Method, requestType: protobuf.Type): void {
    const method = path.slice(path.lastIndexOf('/') + 1);
    const definition: grpc.ServiceDefinition = {
      [method]: {
        path,
        requestStream: true,
        responseStream: true,
        requestSerialize: (m: object) => Buffer.from(requestType.encode(requestType.fromObject(m)).finish()),
        requestDeserialize: (bytes: Buffer): Incoming => decodeRequest(requestType, bytes, variant),
        responseSerialize: (bytes: Buffer) => bytes,
        responseDeserialize: (bytes: Buffer) => bytes,
      },
    };
    this.server.addService(definition, { [method]: (call: grpc.ServerDuplexStream<Incoming, Buffer>) => this.serve(call, variant, fixedType) });
  }

  /** Authenticates a new stream (once, before any request is read), then opens it or refuses it. */
  private serve(call: grpc.ServerDuplexStream<Incoming, Buffer>, variant: Variant, fixedType?: TypeUrl): void {
    const auth = this.opts.authenticator;
    if (!auth) return this.open(call, variant, fixedType, undefined);
    const admit = (outcome: AuthOutcome) => {
      if (call.cancelled) return;
      if (outcome.ok) return this.open(call, variant, fixedType, outcome.credential);
      this.refuse(call, outcome.code, outcome.message);
    };
    // Requests that arrive meanwhile wait in the call's buffer: no 'data' listener is attached yet.
    authenticateCall(call, auth, admit);
  }

  /** Ends a stream with an auth status, and logs why. */
  private refuse(call: grpc.ServerDuplexStream<Incoming, Buffer>, code: number, message: string): void {
    this.opts.log?.warn({ peer: call.getPeer(), code: grpc.status[code], reason: message }, 'xDS stream refused');
    call.emit('error', { code, details: message });
  }

  private open(call: grpc.ServerDuplexStream<Incoming, Buffer>, variant: Variant, fixedType: TypeUrl | undefined, credential: StreamCredential | undefined): void {
    const streamId = `${this.opts.controlPlaneId}/${this.instance}-${(++this.nextStream).toString(36)}`;
    let ended = false;
    const send = (bytes: Buffer, done: () => void) => {
      if (ended) return done();
      call.write(bytes, () => done());
    };
    const deps: StreamDeps = {
      streamId,
      cache: this.opts.cache,
      controlPlaneId: this.opts.controlPlaneId,
      observer: this.opts.status,
      fixedType,
      credential,
      write: (build) => {
        if (!ended) this.budget.submit(streamId, send, build);
      },
      fail: (code, message) => {
        if (ended) return;
        ended = true;
        if (code === PERMISSION_DENIED || code === UNAUTHENTICATED) this.refuse(call, code, message);
        else call.emit('error', { code, details: message });
      },
    };
    const stream = variant === 'sotw' ? new SotwStream(deps) : new DeltaStream(deps);
    this.streams.add(stream);
    this.opts.status.opened(streamId, variant, this.opts.controlPlaneId);
    const untrack =
      credential !== undefined && credential !== 'loopback' && credential.tokenId
        ? this.tokenStreams.add(credential.tokenId, (message) => {
            stream.close();
            deps.fail(PERMISSION_DENIED, message);
          })
        : undefined;
    const finish = () => {
      ended = true;
      untrack?.();
      this.budget.close(streamId);
      stream.close();
      this.streams.delete(stream);
      this.opts.status.closed(streamId);
    };
    call.on('data', (req: Incoming) => {
      if ('decodeError' in req) {
        stream.close();
        if (!ended) call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: req.decodeError });
        ended = true;
        return;
      }
      if (stream instanceof SotwStream) stream.onRequest(req as DiscoveryRequest);
      else stream.onRequest(req as DeltaDiscoveryRequest);
    });
    call.on('end', () => {
      finish();
      call.end();
    });
    call.on('cancelled', finish);
    call.on('error', finish);
    call.on('close', finish);
  }

  /** Ends the open streams (xDS and telemetry) whose join token was revoked or expired since they opened (one query for all of them). */
  async revalidateTokens(): Promise<void> {
    const auth = this.opts.authenticator;
    if (auth?.stillValid) await this.tokenStreams.revalidate((ids) => auth.stillValid!(ids));
  }

  /** Replaces the TLS certificates for new connections (a renewed server certificate, a rotated CA bundle). */
  updateTls(tls: XdsTlsOptions): void {
    if (!this.certificates) throw new Error('the xDS server was not started with TLS');
    this.certificates.update(tls);
  }

  /** The credentials this server binds with (TLS with optional client certificates, or plaintext); a telemetry port shares them. */
  credentials(): grpc.ServerCredentials {
    return this.certificates ? optionalClientCertCredentials(this.certificates) : grpc.ServerCredentials.createInsecure();
  }

  /** Binds to `host:port` (0 picks a free port) and returns the port. */
  listen(host: string, port: number): Promise<number> {
    return bindServer(this.server, host, port, this.credentials());
  }

  /** Number of open streams. */
  get streamCount(): number {
    return this.streams.size;
  }

  /** Stops accepting streams; open streams (which never end by themselves) are cut after `graceMs`. */
  async close(graceMs = 500): Promise<void> {
    this.unwatch();
    clearInterval(this.revalidation);
    await shutdownServer(this.server, graceMs);
  }

  /** Closes immediately, cutting open streams (what a crash looks like to proxies). */
  forceClose(): void {
    this.unwatch();
    clearInterval(this.revalidation);
    this.server.forceShutdown();
  }
}

function decodeRequest(type: protobuf.Type, bytes: Buffer, variant: Variant): Incoming {
  try {
    return variant === 'sotw' ? decodeSotwRequest(type, bytes) : (type.decode(bytes) as unknown as DeltaDiscoveryRequest);
  } catch (err) {
    return { decodeError: `${type.name} could not be decoded: ${(err as Error).message}` };
  }
}
