/**
 * The load generator (a child process of `bench/xds/run.ts`): N simulated proxies on N ADS streams,
 * each on its own HTTP/2 connection like a real fleet, a SotW/Delta mix; and, for the transport
 * floor, N plain streams to the bare grpc-js server of `floor.ts`. Commands come over IPC.
 */
import * as grpc from '@grpc/grpc-js';
import { messageType } from '../../src/protos/loader.ts';
import { plainToStruct } from '../../src/protos/struct.ts';
import { Channel, FLOOR_METHOD, now, processStats } from './ipc.ts';
import { DeltaProxy, Fleet, SotwProxy, type SimProxy, type Watch, type Window } from './proxy.ts';
import { DELTA_ADS, SOTW_ADS } from './wire.ts';

const ipc = new Channel(process);
const identity = (b: Buffer) => b;
const channelOptions = {
  // One connection per proxy, as N Envoys would have, instead of grpc-js sharing one per target.
  'grpc.use_local_subchannel_pool': 1,
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
};

const proxies: SimProxy[] = [];
/** xDS streams that ended (the server failed them, or the connection broke): a healthy run has none. */
const ended = { count: 0, last: '' };
const clients: grpc.Client[] = [];

interface ConnectArgs {
  port: number;
  n: number;
  sotwFraction: number;
  expectedClusters: number;
  timeoutMs: number;
}

/** What a window looks like over IPC. */
function windows(pick: (p: SimProxy) => Window | undefined) {
  return proxies.map((p) => {
    const w = pick(p);
    return { variant: p.variant, doneAt: w?.doneAt ?? NaN, received: w?.received ?? [], replied: w?.replied ?? [] };
  });
}

let fleet: Fleet;
let fullCount = 0;
let convergedCount = 0;
let onAllFull: () => void = () => {};
let onAllConverged: () => void = () => {};

/** A node that says who the proxy is: a sidecar of one of the registry's services. */
function nodeBytes(i: number, services: number): Uint8Array {
  const type = messageType('envoy.config.core.v3.Node');
  const svc = i % Math.max(1, services);
  const node = {
    id: `bench-proxy-${i}`,
    cluster: `svc${svc}`,
    locality: { zone: `z${i % 3}` },
    userAgentName: 'envoy',
    metadata: plainToStruct({ role: 'sidecar', service: `svc${svc}`, namespace: `ns${svc % 20}` }),
  };
  return type.encode(type.fromObject(node)).finish();
}

ipc.handle('connect', async (msg) => {
  const a = msg as unknown as ConnectArgs;
  fleet = new Fleet(
    a.expectedClusters,
    () => {
      if (++fullCount === proxies.length) onAllFull();
    },
    () => {
      if (++convergedCount === proxies.length) onAllConverged();
    },
  );
  const sotwCount = Math.round(a.n * a.sotwFraction);
  const allFull = new Promise<void>((resolve) => (onAllFull = resolve));
  const startedAt = now();
  for (let i = 0; i < a.n; i++) {
    const client = new grpc.Client(`127.0.0.1:${a.port}`, grpc.credentials.createInsecure(), channelOptions);
    clients.push(client);
    // Alternate the variants so that both are spread over the connection order.
    const sotw = Math.floor(((i + 1) * sotwCount) / a.n) > Math.floor((i * sotwCount) / a.n);
    const call = client.makeBidiStreamRequest(sotw ? SOTW_ADS : DELTA_ADS, identity, identity);
    call.on('status', (st: grpc.StatusObject) => {
      ended.count++;
      ended.last = `${grpc.status[st.code]}: ${st.details}`;
    });
    const node = nodeBytes(i, a.expectedClusters);
    proxies.push(sotw ? new SotwProxy(i, fleet, call, node) : new DeltaProxy(i, fleet, call, node));
  }
  for (const p of proxies) p.start();
  const timedOut = await Promise.race([allFull.then(() => false), sleep(a.timeoutMs).then(() => true)]);
  return { startedAt, timedOut, full: fullCount, ended, proxies: windows((p) => p.cold) };
});

ipc.handle('arm', (msg) => {
  const watch = msg.watch as Watch;
  convergedCount = 0;
  fleet.watch = watch;
  for (const p of proxies) p.arm(watch);
  return null;
});

ipc.handle('collect', async (msg) => {
  const timeoutMs = msg.timeoutMs as number;
  if (convergedCount < proxies.length) {
    const all = new Promise<void>((resolve) => (onAllConverged = resolve));
    await Promise.race([all, sleep(timeoutMs)]);
  }
  return { converged: convergedCount, ended, proxies: windows((p) => p.current) };
});

ipc.handle('stats', () => ({
  ...processStats(),
  received: proxies.reduce((s, p) => s + p.received, 0),
  receivedBytes: proxies.reduce((s, p) => s + p.receivedBytes, 0),
}));

// ---- the transport floor: the same N streams' worth of bytes from a bare grpc-js server ----

interface FloorStream {
  call: grpc.ClientDuplexStream<Buffer, Buffer>;
  expect: number;
  got: number;
  acks: number[];
  doneAt: number;
}

const floor: FloorStream[] = [];
let floorPending = 0;
let onFloorDone: () => void = () => {};

ipc.handle('floorConnect', async (msg) => {
  const port = msg.port as number;
  for (let i = 0; i < proxies.length; i++) {
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), channelOptions);
    clients.push(client);
    const call = client.makeBidiStreamRequest(FLOOR_METHOD, identity, identity);
    const s: FloorStream = { call, expect: 0, got: 0, acks: [], doneAt: NaN };
    call.on('data', () => {
      // Reply like the proxy did (same request sizes), so both directions carry the same bytes.
      const ack = s.acks[s.got++];
      if (ack) call.write(Buffer.alloc(ack));
      if (s.got === s.expect) {
        s.doneAt = now();
        if (--floorPending === 0) onFloorDone();
      }
    });
    call.on('error', () => {});
    const hello = Buffer.alloc(4);
    hello.writeUInt32BE(i);
    call.write(hello);
    floor.push(s);
  }
  return null;
});

/** Arms a floor round: stream i expects `counts[i]` messages and answers the k-th with `acks[i][k]` bytes. */
ipc.handle('floorArm', (msg) => {
  const counts = msg.counts as number[];
  const acks = msg.acks as number[][];
  floorPending = 0;
  floor.forEach((s, i) => {
    s.expect = counts[i] ?? 0;
    s.got = 0;
    s.acks = acks[i] ?? [];
    s.doneAt = NaN;
    if (s.expect > 0) floorPending++;
  });
  return null;
});

ipc.handle('floorCollect', async (msg) => {
  if (floorPending > 0) {
    const done = new Promise<void>((resolve) => (onFloorDone = resolve));
    await Promise.race([done, sleep(msg.timeoutMs as number)]);
  }
  return { pending: floorPending, doneAt: floor.map((s) => s.doneAt) };
});

ipc.handle('exit', () => {
  setTimeout(() => {
    for (const c of clients) c.close();
    process.exit(0);
  }, 10);
  return null;
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

messageType('envoy.service.discovery.v3.DiscoveryRequest'); // load the protos before the clock starts
ipc.emit('ready');
