/**
 * A small CSDS client for tests: `FetchClientStatus` and `StreamClientStatus` over real gRPC, requests
 * built from plain objects and responses decoded to plain JSON (Anys unpacked with `@type`).
 */
import * as grpc from '@grpc/grpc-js';
import { messageType } from '../../src/protos/loader.ts';
import { decodeToPlain } from '../../src/protos/type-urls.ts';

const SERVICE = '/envoy.service.status.v3.ClientStatusDiscoveryService';
const encodeRequest = (req: object) => {
  const type = messageType('envoy.service.status.v3.ClientStatusRequest');
  return Buffer.from(type.encode(type.fromObject(req)).finish());
};
/** A ClientStatusResponse as Envoy JSON (camelCase, enums by name, Anys unpacked). */
export const decodeClientStatus = (bytes: Buffer): Record<string, any> =>
  decodeToPlain(messageType('envoy.service.status.v3.ClientStatusResponse'), bytes);

/** One FetchClientStatus call; rejects with the gRPC error (with `code` and `details`). */
export function fetchClientStatus(port: number, req: object = {}): Promise<Record<string, any>> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise<Record<string, any>>((resolve, reject) => {
    client.makeUnaryRequest(`${SERVICE}/FetchClientStatus`, encodeRequest, (b: Buffer) => b, req, (err, bytes) => {
      client.close();
      if (err) reject(err);
      else resolve(decodeClientStatus(bytes!));
    });
  });
}

/** A StreamClientStatus stream: each request gets one response. */
export class CsdsStream {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<object, Buffer>;
  private readonly responses: Buffer[] = [];
  private waiter: (() => void) | undefined;
  status: grpc.StatusObject | undefined;

  constructor(port: number) {
    this.client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    this.call = this.client.makeBidiStreamRequest(`${SERVICE}/StreamClientStatus`, encodeRequest, (b: Buffer) => b);
    this.call.on('data', (b: Buffer) => {
      this.responses.push(b);
      this.waiter?.();
    });
    this.call.on('status', (s: grpc.StatusObject) => {
      this.status = s;
      this.waiter?.();
    });
    this.call.on('error', () => {});
  }

  /** Sends a request and resolves with its response, or rejects with the status that ended the stream. */
  async ask(req: object = {}, timeoutMs = 3000): Promise<Record<string, any>> {
    this.call.write(req);
    const deadline = Date.now() + timeoutMs;
    while (this.responses.length === 0) {
      if (this.status) throw Object.assign(new Error(this.status.details), { code: this.status.code, details: this.status.details });
      if (Date.now() > deadline) throw new Error('no CSDS response');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
    return decodeClientStatus(this.responses.shift()!);
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}
