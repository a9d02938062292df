/**
 * The load generator (a child process of `bench/als/run.ts`): N Access Log Service streams, each on
 * its own HTTP/2 connection as N Envoys would have, writing pre-encoded messages. Two modes: as fast
 * as each stream's backpressure lets it (a write waits for `drain` once grpc-js' buffer is full), or
 * a fixed offered rate over all streams, where a message due on a stream that is backed up is
 * dropped and counted, as Envoy drops logs it cannot buffer: Envoy's gRPC access logger drops a
 * message while its stream is above the high watermark of its send buffer, which the HTTP/2 codec
 * sets to the cluster's `initial_stream_window_size` (Envoy's default 256 MiB; the clusters this
 * control plane serves and its bootstraps set `ACCESS_LOG_STREAM_BUFFER_BYTES`, 8 MiB). So a stream
 * here is backed up while more than that many bytes of its messages are not yet handed to HTTP/2;
 * ENVOY_STREAM_BUFFER (bytes) plays another limit (the bench before 2026-12-02 played 1 MiB, the
 * cluster's `per_connection_buffer_limit_bytes`, which bounds the connection's socket buffer, not
 * what waits for HTTP/2 window). Commands come over IPC.
 *
 * Not `TelemetryStream` of test/support: grpc-js would put all of its clients on one shared
 * connection, and its `send` hides `write()`'s backpressure signal, which both modes need.
 */
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { ACCESS_LOG_STREAM_BUFFER_BYTES } from '../../src/envoy/access-log.ts';
import { TELEMETRY_METHODS } from '../../src/protos/telemetry.ts';
import { Channel, now, processStats } from '../xds/ipc.ts';
import { encodeTraffic, helloMessage, type EntryShape } from './traffic.ts';

const ipc = new Channel(process);
const identity = (b: Buffer) => b;
// No retry buffer: grpc-js would report up to 1 MiB of a call's writes done while they wait in it,
// unsent, hiding the backlog the Envoy model below counts (a write is done once HTTP/2 took it).
const channelOptions = { 'grpc.use_local_subchannel_pool': 1, 'grpc.max_send_message_length': -1, 'grpc.enable_retries': 0, 'grpc.per_rpc_retry_buffer_size': 0 };

/** What an Envoy stream may hold unsent before its logs are dropped, bytes (see the module comment). */
const ENVOY_BUFFER_LIMIT = Number(process.env.ENVOY_STREAM_BUFFER ?? ACCESS_LOG_STREAM_BUFFER_BYTES);

interface Stream {
  client: grpc.Client;
  call: grpc.ClientWritableStream<Buffer>;
  status: Promise<string>;
  /** False from a `write()` that returned false until its `drain`. */
  writable: boolean;
  /** Bytes written whose write has not completed yet (still buffered in this process). */
  pending: number;
  next: number;
}

let pool: Buffer[] = [];
let entriesPerMessage = 0;
let streams: Stream[] = [];

/** Opens `n` streams to the server and sends each its identifying first message. */
function connect(port: number, n: number): void {
  streams = Array.from({ length: n }, (_, i) => {
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), channelOptions);
    let settle: (s: string) => void = () => {};
    const status = new Promise<string>((resolve) => (settle = resolve));
    const call = client.makeClientStreamRequest(TELEMETRY_METHODS.streamAccessLogs, identity, identity, (err) => settle(err ? `${grpc.status[err.code]}: ${err.details}` : 'OK'));
    call.on('error', () => undefined);
    const s: Stream = { client, call, status, writable: true, pending: 0, next: (i * 7) % pool.length };
    call.on('drain', () => (s.writable = true));
    s.writable = call.write(helloMessage(i, pool[s.next]!));
    s.next = (s.next + 1) % pool.length;
    return s;
  });
}

/** Writes the stream's next pooled message; false when grpc-js asks the writer to wait for `drain`. */
function writeNext(s: Stream): boolean {
  const message = pool[s.next]!;
  s.pending += message.length;
  s.writable = s.call.write(message, () => (s.pending -= message.length));
  s.next = (s.next + 1) % pool.length;
  return s.writable;
}

/** Whether an Envoy would still take the stream's next message into its buffer (see the module comment). */
const hasRoom = (s: Stream) => s.pending + pool[s.next]!.length <= ENVOY_BUFFER_LIMIT;

/** As fast as backpressure allows, until `deadline`: returns the messages written. */
async function pumpMax(s: Stream, deadline: number): Promise<number> {
  let sent = 0;
  while (now() < deadline) {
    sent += 1;
    if (!writeNext(s)) {
      const timeout = AbortSignal.timeout(Math.max(1, Math.ceil(deadline - now())));
      await once(s.call, 'drain', { signal: timeout }).catch(() => undefined);
    } else if (sent % 16 === 0) {
      await new Promise((r) => setImmediate(r)); // let grpc-js move the bytes
    }
  }
  return sent;
}

/** `rate` entries per second over all streams, round robin, until `deadline`. */
async function offerRate(rate: number, deadline: number): Promise<{ sent: number; offered: number; dropped: number; maxTickGapMs: number; dropsBySecond: number[] }> {
  const perMs = rate / entriesPerMessage / 1000;
  const startedAt = now();
  const counts = { sent: 0, offered: 0, dropped: 0, maxTickGapMs: 0, dropsBySecond: [] as number[] };
  let turn = 0;
  let lastTick = startedAt;
  while (now() < deadline) {
    // This process's own stalls (CPU shared with the server and PostgreSQL): what fell due meanwhile is written at once.
    counts.maxTickGapMs = Math.max(counts.maxTickGapMs, now() - lastTick);
    lastTick = now();
    const due = Math.floor((now() - startedAt) * perMs) - counts.offered;
    for (let k = 0; k < due; k++) {
      const s = streams[turn++ % streams.length]!;
      counts.offered += 1;
      if (hasRoom(s)) {
        writeNext(s);
        counts.sent += 1;
      } else {
        counts.dropped += 1;
        // When the drops happened: entries dropped in each second of the run.
        const second = Math.floor((now() - startedAt) / 1000);
        counts.dropsBySecond[second] = (counts.dropsBySecond[second] ?? 0) + entriesPerMessage;
      }
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  return counts;
}

ipc.handle('prepare', (msg) => {
  entriesPerMessage = msg.perMessage as number;
  pool = encodeTraffic(msg.messages as number, entriesPerMessage, msg.shape as EntryShape);
  return { bytes: pool.reduce((n, b) => n + b.length, 0) };
});

ipc.handle('connect', (msg) => {
  connect(msg.port as number, msg.streams as number);
  return null;
});

/** Runs one load for `durationMs`; the hello messages are not counted (one per stream). */
ipc.handle('run', async (msg) => {
  const durationMs = msg.durationMs as number;
  const rate = msg.rate as number | undefined;
  const startedAt = now();
  const deadline = startedAt + durationMs;
  const cpu0 = processStats().cpuMs;
  let out: { sent: number; offered: number; dropped: number; maxTickGapMs: number; dropsBySecond: number[] };
  if (rate) out = await offerRate(rate, deadline);
  else {
    const sent = (await Promise.all(streams.map((s) => pumpMax(s, deadline)))).reduce((a, b) => a + b, 0);
    out = { sent, offered: sent, dropped: 0, maxTickGapMs: 0, dropsBySecond: [] };
  }
  const endedAt = now();
  return {
    startedAt,
    endedAt,
    sentEntries: out.sent * entriesPerMessage,
    offeredEntries: out.offered * entriesPerMessage,
    clientDroppedEntries: out.dropped * entriesPerMessage,
    maxTickGapMs: out.maxTickGapMs,
    dropsBySecond: out.dropsBySecond,
    cpuMs: processStats().cpuMs - cpu0,
  };
});

/** Half-closes every stream and waits for the server's statuses (it has then read every message). */
ipc.handle('close', async () => {
  for (const s of streams) s.call.end();
  const statuses = await Promise.all(streams.map((s) => s.status));
  for (const s of streams) s.client.close();
  streams = [];
  return { notOk: statuses.filter((st) => st !== 'OK') };
});

ipc.handle('exit', () => {
  setTimeout(() => process.exit(0), 10);
  return null;
});

ipc.emit('ready');
