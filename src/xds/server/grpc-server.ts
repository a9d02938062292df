/**
 * The xDS gRPC server: ADS and the per-type discovery services, each stream a SotwStream over the
 * shared cache. Requests are decoded with Envoy's protos; responses are pre-assembled bytes.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { messageType } from '../../protos/loader.ts';
import { TYPE_URLS, type TypeUrl } from '../../protos/type-urls.ts';
import type { SnapshotCache } from '../cache/snapshot-cache.ts';
import type { DiscoveryRequest } from './protocol.ts';
import type { ProxyStatusTracker } from './proxy-status.ts';
import { SotwStream } from './sotw-stream.ts';

export interface XdsServerOptions {
  cache: SnapshotCache;
  status: ProxyStatusTracker;
  controlPlaneId: string;
  /** Largest request accepted, in bytes (gRPC's default is 4 MiB). */
  maxReceiveMessageBytes?: number;
}

/** A request that could not be decoded: the stream ends with INVALID_ARGUMENT instead of a generic INTERNAL. */
interface Undecodable {
  decodeError: string;
}

type Incoming = DiscoveryRequest | Undecodable;

/** The SotW streaming methods we serve: ADS first, then the per-type services. */
const SOTW_METHODS: { path: string; fixedType?: TypeUrl }[] = [
  { path: '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources' },
  { path: '/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters', fixedType: TYPE_URLS.cluster },
  { path: '/envoy.service.endpoint.v3.EndpointDiscoveryService/StreamEndpoints', fixedType: TYPE_URLS.endpoint },
  { path: '/envoy.service.listener.v3.ListenerDiscoveryService/StreamListeners', fixedType: TYPE_URLS.listener },
  { path: '/envoy.service.route.v3.RouteDiscoveryService/StreamRoutes', fixedType: TYPE_URLS.route },
  { path: '/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets', fixedType: TYPE_URLS.secret },
];

/** Runs the gRPC server that proxies connect to. */
export class XdsServer {
  private readonly server: grpc.Server;
  private readonly streams = new Set<SotwStream>();
  private nextStream = 0;
  /** Random per process, so nonces and stream ids never repeat across restarts (T4). */
  private readonly instance = randomBytes(3).toString('hex');
  private readonly unwatch: () => void;

  constructor(private readonly opts: XdsServerOptions) {
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': opts.maxReceiveMessageBytes ?? 4 * 1024 * 1024,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 10_000,
    });
    const requestType = messageType('envoy.service.discovery.v3.DiscoveryRequest');
    for (const method of SOTW_METHODS) this.addSotwMethod(method.path, requestType, method.fixedType);
    this.unwatch = opts.cache.watch((_snapshot, changed) => {
      for (const s of this.streams) s.onSnapshot(changed);
    });
  }

  private addSotwMethod(path: string, requestType: protobuf.Type, fixedType?: TypeUrl): void {
    const method = path.slice(path.lastIndexOf('/') + 1);
    const definition: grpc.ServiceDefinition = {
      [method]: {
        path,
        requestStream: true,
        responseStream: true,
        requestSerialize: (m: DiscoveryRequest) => Buffer.from(requestType.encode(requestType.fromObject(m)).finish()),
        requestDeserialize: (bytes: Buffer): Incoming => decodeRequest(requestType, bytes),
        responseSerialize: (bytes: Buffer) => bytes,
        responseDeserialize: (bytes: Buffer) => bytes,
      },
    };
    this.server.addService(definition, { [method]: (call: grpc.ServerDuplexStream<Incoming, Buffer>) => this.serve(call, fixedType) });
  }

  private serve(call: grpc.ServerDuplexStream<Incoming, Buffer>, fixedType?: TypeUrl): void {
    const streamId = `${this.opts.controlPlaneId}/${this.instance}-${(++this.nextStream).toString(36)}`;
    let ended = false;
    const stream = new SotwStream({
      streamId,
      cache: this.opts.cache,
      controlPlaneId: this.opts.controlPlaneId,
      observer: this.opts.status,
      fixedType,
      write: (bytes) => {
        if (!ended) call.write(bytes);
      },
      fail: (code, message) => {
        if (ended) return;
        ended = true;
        call.emit('error', { code, details: message });
      },
    });
    this.streams.add(stream);
    this.opts.status.opened(streamId);
    const finish = () => {
      ended = true;
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
      stream.onRequest(req);
    });
    call.on('end', () => {
      finish();
      call.end();
    });
    call.on('cancelled', finish);
    call.on('error', finish);
    call.on('close', finish);
  }

  /** Binds to `host:port` (0 picks a free port) and returns the port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      );
    });
  }

  /** Number of open streams. */
  get streamCount(): number {
    return this.streams.size;
  }

  /** Stops accepting streams; open streams (which never end by themselves) are cut after `graceMs`. */
  async close(graceMs = 500): Promise<void> {
    this.unwatch();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.server.forceShutdown(), graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Closes immediately, cutting open streams (what a crash looks like to proxies). */
  forceClose(): void {
    this.unwatch();
    this.server.forceShutdown();
  }
}

function decodeRequest(type: protobuf.Type, bytes: Buffer): Incoming {
  try {
    return type.decode(bytes) as unknown as DiscoveryRequest;
  } catch (err) {
    return { decodeError: `DiscoveryRequest could not be decoded: ${(err as Error).message}` };
  }
}
