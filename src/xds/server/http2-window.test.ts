/** The receive window of a grpc-js server call, widened through grpc-js internals: what a sender may send while the server reads nothing. */
import * as grpc from '@grpc/grpc-js';
import http2, { type Http2Session } from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { sessionOf, widenReceiveWindow } from './http2-window.ts';

const METHOD = '/test.Sink/Stream';
const identity = (b: Buffer) => b;
// 640 KiB in small messages: ten times HTTP/2's default window, within 1 MiB, and far more than the
// 16 messages grpc-js buffers before it stops reading a paused call's HTTP/2 stream.
const MESSAGE = Buffer.alloc(4 * 1024, 7);
const MESSAGES = 160;

/** A server whose one client-streaming method never reads: the first `data` pauses the call for good. */
async function stalledServer(windowBytes?: number) {
  const server = new grpc.Server();
  const sessions: (Http2Session | undefined)[] = [];
  let received = 0;
  server.addService(
    { Stream: { path: METHOD, requestStream: true, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    {
      Stream: (call: grpc.ServerReadableStream<Buffer, Buffer>) => {
        if (windowBytes !== undefined) sessions.push(widenReceiveWindow(call, windowBytes));
        call.on('data', () => {
          received += 1;
          call.pause();
        });
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { server, port, sessions, received: () => received };
}

/**
 * Writes the messages, gRPC-framed, on one stream of a plain HTTP/2 client (grpc-js' client reports
 * a write done once it is in its own buffer; Node's http2 only once HTTP/2 flow control let it out);
 * resolves with how many were sent after `waitMs`.
 */
async function writesDone(port: number, waitMs: number): Promise<{ done: number; client: http2.ClientHttp2Session }> {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  client.on('error', () => undefined);
  const stream = client.request({ ':method': 'POST', ':path': METHOD, 'content-type': 'application/grpc', te: 'trailers' });
  stream.on('error', () => undefined);
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), MESSAGE]);
  frame.writeUInt32BE(MESSAGE.length, 1);
  let done = 0;
  for (let i = 0; i < MESSAGES; i++) stream.write(frame, () => (done += 1));
  await new Promise((r) => setTimeout(r, waitMs));
  return { done, client };
}

describe('widenReceiveWindow', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanup.splice(0)) c();
  });

  it('lets a client send 640 KiB to a server that reads nothing, which HTTP/2\'s 64 KiB window holds back', async () => {
    const wide = await stalledServer(1024 * 1024);
    const narrow = await stalledServer();
    cleanup.push(() => wide.server.forceShutdown(), () => narrow.server.forceShutdown());
    const [a, b] = await Promise.all([writesDone(wide.port, 500), writesDone(narrow.port, 500)]);
    cleanup.push(() => a.client.destroy(), () => b.client.destroy());
    expect(wide.received()).toBe(1);
    expect(narrow.received()).toBe(1);
    expect(a.done).toBe(MESSAGES);
    expect(b.done).toBeLessThan(MESSAGES);
    const session = wide.sessions[0]!;
    expect(session).toBeDefined();
    await expect.poll(() => session.localSettings.initialWindowSize).toBe(1024 * 1024);
  });

  it('widens a connection once, and finds no session behind an object without grpc-js internals', async () => {
    const s = await stalledServer(256 * 1024);
    cleanup.push(() => s.server.forceShutdown());
    const { client } = await writesDone(s.port, 100);
    cleanup.push(() => client.destroy());
    // A second stream on the same connection must not send the settings again.
    const session = s.sessions[0]!;
    let settingsSent = 0;
    const settings = session.settings.bind(session);
    session.settings = ((...args: Parameters<typeof settings>) => {
      settingsSent += 1;
      return settings(...args);
    }) as typeof session.settings;
    const again = client.request({ ':method': 'POST', ':path': METHOD, 'content-type': 'application/grpc', te: 'trailers' });
    again.on('error', () => undefined);
    again.write(Buffer.from([0, 0, 0, 0, 1, 7]));
    await expect.poll(() => s.sessions.length).toBe(2);
    expect(s.sessions[1]).toBe(session);
    expect(settingsSent).toBe(0);
    expect(sessionOf({})).toBeUndefined();
    expect(sessionOf({ call: { nextCall: { stream: {} } } })).toBeUndefined();
    expect(widenReceiveWindow({ call: null }, 256 * 1024)).toBeUndefined();
  });
});
