/**
 * The transport floor (a child process of `bench/xds/run.ts`): a bare grpc-js server with no xDS logic
 * that, when told, writes given byte counts to each of N open streams, the same way our server writes
 * a response (one `call.write` of a ready buffer per message). Requests it gets are read and dropped.
 */
import * as grpc from '@grpc/grpc-js';
import { Channel, FLOOR_METHOD, now, processStats } from './ipc.ts';

const ipc = new Channel(process);
const streams: grpc.ServerDuplexStream<Buffer, Buffer>[] = [];
let payload = Buffer.alloc(0);

const server = new grpc.Server({ 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
const identity = (b: Buffer) => b;
server.addService(
  { Stream: { path: FLOOR_METHOD, requestStream: true, responseStream: true, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
  {
    Stream: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      let first = true;
      call.on('data', (bytes: Buffer) => {
        if (first) streams[bytes.readUInt32BE(0)] = call; // a hello with the stream's index; later messages are dropped
        first = false;
      });
      call.on('error', () => {});
    },
  },
);

ipc.handle('count', () => streams.filter(Boolean).length);

/** Writes `sizes[i]` (a list of message sizes) to stream i, and returns when it started and when the last write was queued. */
ipc.handle('send', (msg) => {
  const sizes = msg.sizes as number[][];
  const max = Math.max(0, ...sizes.flat());
  if (payload.length < max) payload = Buffer.alloc(max, 0x5a);
  const startedAt = now();
  sizes.forEach((list, i) => {
    const call = streams[i];
    if (call) for (const size of list) call.write(payload.subarray(0, size));
  });
  return { startedAt, queuedAt: now() };
});

ipc.handle('stats', () => processStats());

ipc.handle('exit', () => {
  setTimeout(() => {
    server.forceShutdown();
    process.exit(0);
  }, 10);
  return null;
});

server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  ipc.emit('ready', { port });
});
