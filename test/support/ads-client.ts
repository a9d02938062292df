/**
 * A small ADS client for protocol tests: opens a SotW stream to our server, sends DiscoveryRequests
 * built from plain objects, and decodes every response (resources unpacked to plain Envoy objects).
 */
import * as grpc from '@grpc/grpc-js';
import { messageType } from '../../src/protos/loader.ts';
import { decodeToPlain, messageNameOf } from '../../src/protos/type-urls.ts';
import { plainToStruct } from '../../src/protos/struct.ts';

export interface Response {
  versionInfo: string;
  typeUrl: string;
  nonce: string;
  controlPlane?: string;
  resources: Record<string, unknown>[];
  /** Resource names in response order. */
  names: string[];
}

export interface NodeInit {
  id: string;
  cluster?: string;
  metadata?: Record<string, unknown>;
}

export interface RequestInit {
  typeUrl?: string;
  resourceNames?: string[];
  versionInfo?: string;
  responseNonce?: string;
  errorDetail?: { code: number; message: string };
  node?: NodeInit;
}

export interface DeltaRequestInit {
  typeUrl?: string;
  resourceNamesSubscribe?: string[];
  resourceNamesUnsubscribe?: string[];
  initialResourceVersions?: Record<string, string>;
  responseNonce?: string;
  errorDetail?: { code: number; message: string };
  node?: NodeInit;
}

export interface DeltaResponse {
  systemVersionInfo: string;
  typeUrl: string;
  nonce: string;
  controlPlane?: string;
  /** Resource names in response order, with their versions. */
  names: string[];
  versions: Record<string, string>;
  resources: Record<string, unknown>[];
  removed: string[];
}

/** How a test client connects: channel credentials (TLS) and metadata sent with the call (`authorization`). */
export interface ConnectOptions {
  credentials?: grpc.ChannelCredentials;
  metadata?: Record<string, string>;
  channelOptions?: grpc.ChannelOptions;
}

const ADS = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

/** One open xDS stream (either variant) with a queue of the responses not consumed yet. */
abstract class TestStream<Req extends { node?: NodeInit }, Res> {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  private readonly queue: Res[] = [];
  private waiters: ((r: Res) => void)[] = [];
  /** Set when the server ends the stream. */
  status: grpc.StatusObject | undefined;
  private statusWaiters: ((s: grpc.StatusObject) => void)[] = [];

  constructor(port: number, path: string, private readonly requestType: string, decode: (b: Buffer) => Res, connect: ConnectOptions = {}) {
    this.client = new grpc.Client(`127.0.0.1:${port}`, connect.credentials ?? grpc.credentials.createInsecure(), connect.channelOptions);
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(connect.metadata ?? {})) metadata.set(k, v);
    this.call = this.client.makeBidiStreamRequest(path, (b: Buffer) => b, (b: Buffer) => b, metadata);
    this.call.on('data', (bytes: Buffer) => this.push(decode(bytes)));
    this.call.on('status', (s: grpc.StatusObject) => {
      this.status = s;
      for (const w of this.statusWaiters) w(s);
    });
    this.call.on('error', () => {});
  }

  /** Sends a request; `node` is encoded with its metadata as a Struct. */
  send(req: Req): void {
    const type = messageType(this.requestType);
    const { node, ...rest } = req;
    const msg = type.fromObject({ ...rest, ...(node ? { node: { ...node, metadata: plainToStruct(node.metadata ?? {}) } } : {}) });
    this.call.write(Buffer.from(type.encode(msg).finish()));
  }

  /** Writes raw bytes (for garbage-input tests). */
  sendRaw(bytes: Buffer): void {
    this.call.write(bytes);
  }

  /** The next response, or a rejection after `timeoutMs`. */
  next(timeoutMs = 3000): Promise<Res> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no response within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (r: Res) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.push(waiter);
    });
  }

  /** Resolves true if no response arrives within `ms` (for "must not answer" rules). */
  async silentFor(ms: number): Promise<boolean> {
    try {
      const r = await this.next(ms);
      this.queue.unshift(r);
      return false;
    } catch {
      return true;
    }
  }


  /** Resolves with the final status when the server ends the stream. */
  ended(timeoutMs = 3000): Promise<grpc.StatusObject> {
    if (this.status) return Promise.resolve(this.status);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('stream did not end')), timeoutMs);
      this.statusWaiters.push((s) => {
        clearTimeout(timer);
        resolve(s);
      });
    });
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }

  private push(r: Res): void {
    const w = this.waiters.shift();
    if (w) w(r);
    else this.queue.push(r);
  }
}

/** Decodes DiscoveryResponse bytes, unpacking each Any into a plain Envoy object. */
export function decodeResponse(bytes: Buffer): Response {
  const type = messageType('envoy.service.discovery.v3.DiscoveryResponse');
  const msg = type.decode(bytes) as unknown as {
    versionInfo: string;
    typeUrl: string;
    nonce: string;
    controlPlane?: { identifier: string };
    resources: { type_url: string; value: Uint8Array }[];
  };
  const resources = msg.resources.map((a) => decodeToPlain(messageType(messageNameOf(a.type_url)), a.value));
  return {
    versionInfo: msg.versionInfo,
    typeUrl: msg.typeUrl,
    nonce: msg.nonce,
    controlPlane: msg.controlPlane?.identifier,
    resources,
    names: resources.map((r) => String(r.name ?? r.clusterName ?? '')),
  };
}

/** A state-of-the-world ADS (or per-type) stream. */
export class AdsClient extends TestStream<RequestInit, Response> {
  constructor(port: number, path = ADS, connect?: ConnectOptions) {
    super(port, path, 'envoy.service.discovery.v3.DiscoveryRequest', decodeResponse, connect);
  }

  /** Sends an ACK for a response (same version and nonce, names as given). */
  ack(r: Response, resourceNames: string[] = []): void {
    this.send({ typeUrl: r.typeUrl, versionInfo: r.versionInfo, responseNonce: r.nonce, resourceNames });
  }
}

const DELTA_ADS = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';

/** An incremental (Delta) ADS (or per-type) stream. */
export class DeltaClient extends TestStream<DeltaRequestInit, DeltaResponse> {
  constructor(port: number, path = DELTA_ADS, connect?: ConnectOptions) {
    super(port, path, 'envoy.service.discovery.v3.DeltaDiscoveryRequest', decodeDeltaResponse, connect);
  }

  /** ACKs a response. */
  ack(r: DeltaResponse): void {
    this.send({ typeUrl: r.typeUrl, responseNonce: r.nonce });
  }
}

/** Decodes DeltaDiscoveryResponse bytes, unpacking each resource into a plain Envoy object. */
export function decodeDeltaResponse(bytes: Buffer): DeltaResponse {
  const type = messageType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
  const msg = type.decode(bytes) as unknown as {
    systemVersionInfo: string;
    typeUrl: string;
    nonce: string;
    controlPlane?: { identifier: string };
    resources: { name: string; version: string; resource: { type_url: string; value: Uint8Array } }[];
    removedResources: string[];
  };
  return {
    systemVersionInfo: msg.systemVersionInfo,
    typeUrl: msg.typeUrl,
    nonce: msg.nonce,
    controlPlane: msg.controlPlane?.identifier,
    names: msg.resources.map((r) => r.name),
    versions: Object.fromEntries(msg.resources.map((r) => [r.name, r.version])),
    resources: msg.resources.map((r) => decodeToPlain(messageType(messageNameOf(r.resource.type_url)), r.resource.value)),
    removed: msg.removedResources,
  };
}
