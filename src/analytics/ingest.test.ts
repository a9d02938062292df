/** The ingestion with its real worker thread: messages in as bytes, COPY rows and rollups out, back-pressure, holds and failures. */
import type { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeTelemetry, httpEntry } from '../../test/support/telemetry-client.ts';
import { useTestDatabase } from '../../test/support/test-db.ts';
import { ACCESS_LOG_COLUMNS } from '../registry/access-logs.ts';
import { ensurePartitions } from '../registry/partitions.ts';
import { mergeMinuteDeltas, readRollups, type RollupColumns } from '../registry/rollups.ts';
import { TelemetryIngest, type IngestOptions } from './ingest.ts';

const FROM = { proxyId: 'web-1', service: 'shop/web' };
// One time for the whole file, mid-minute: entries made a few seconds apart must not fall into two minute buckets.
const START = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 30_000);
const start = () => START;
const entries = (n: number, path = '/') => Array.from({ length: n }, (_, i) => httpEntry({ start: start(), ms: 5, status: 200, cluster: 'orders.shop', path: `${path}${i}` }));
const message = (n: number, path?: string) => encodeTelemetry('accessLogs', { httpLogs: { logEntry: entries(n, path) } });

/** The stored rows, parsed back from their COPY text. */
type Row = Record<(typeof ACCESS_LOG_COLUMNS)[number], string>;
const rowsOf = (parts: Uint8Array[]): Row[] =>
  Buffer.concat(parts)
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => Object.fromEntries(l.split('\t').map((v, i) => [ACCESS_LOG_COLUMNS[i], v])) as Row);

// Rollups go to the real minute table, each store as a replica of its own.
const fixture = useTestDatabase();
beforeAll(() => ensurePartitions(fixture.db, 'traffic_rollups_minute', START));
let stores = 0;
/** Writes rollup deltas as the server does, into the rows of `replica`. */
const rollupWriter = (replica: string) => (batches: RollupColumns[]) => mergeMinuteDeltas(fixture.db, replica, batches);
/** The stored minute rows of `replica`. */
const storedRollups = async (replica: string) =>
  (await readRollups(fixture.db, 'minute', { from: new Date(START.getTime() - 60_000), to: new Date(START.getTime() + 60_000) })).filter((r) => r.replica === replica);

/** A database stand-in for raw rows whose writes wait until released, to play a database slower than the streams. */
function slowStore() {
  const rows: Row[] = [];
  const replica = `ingest-${++stores}`;
  let release: () => void = () => {};
  let gate = new Promise<void>((r) => (release = r));
  return {
    rows,
    cells: () => storedRollups(replica),
    open: () => {
      release();
      gate = Promise.resolve();
    },
    writeRows: async (parts: Uint8Array[], n: number) => {
      await gate;
      const parsed = rowsOf(parts);
      expect(parsed).toHaveLength(n);
      rows.push(...parsed);
    },
    writeRollups: rollupWriter(replica),
  };
}

const running: TelemetryIngest[] = [];
function ingestOf(opts: IngestOptions): TelemetryIngest {
  const ingest = new TelemetryIngest(opts);
  running.push(ingest);
  return ingest;
}
const noFail = (reason: string) => {
  throw new Error(`unexpected: ${reason}`);
};

afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.close()));
});

describe('TelemetryIngest', () => {
  it('makes a stream\'s messages into COPY rows for the raw table and counts them into rollups', async () => {
    const store = slowStore();
    store.open();
    const ingest = ingestOf({ ...store, queueCapacity: 1000 });
    const stream = ingest.accessLogStream(FROM, noFail);
    expect(stream.deliver(message(3), () => {})).toBe(false);
    await ingest.flush();
    expect(store.rows.map((r) => [r.proxy_id, r.source, r.destination, r.path, r.status])).toEqual([0, 1, 2].map((i) => ['web-1', 'shop/web', 'shop/orders', `/${i}`, '200']));
    const edge = (await store.cells()).find((c) => c.kind === 'edge');
    expect(edge).toMatchObject({ source: 'shop/web', destination: 'shop/orders', requests: 3 });
    expect(edge!.latency.quantile(0.5)).toBeCloseTo(5, 0);
    expect(ingest.stats).toMatchObject({ messages: 1, entries: 3, accepted: 3, written: 3, droppedFull: 0, queueDepth: 0, inFlightBytes: 0 });
  });

  it('drops and counts what does not fit while the database is slow, without waiting; rollups still count every entry', async () => {
    const store = slowStore();
    const ingest = ingestOf({ ...store, queueCapacity: 1000, batchSize: 100, writers: 1 });
    const stream = ingest.accessLogStream(FROM, noFail);
    // Streams that already had these in flight when told to pause: they are taken, and what does not fit is dropped.
    for (let i = 0; i < 30; i++) stream.deliver(message(100), () => {});
    await ingest.processed();
    expect(ingest.stats.entries).toBe(3000);
    // The writer holds its first batch of 100 outside the queue while it waits.
    expect(ingest.stats).toMatchObject({ accepted: 1100, droppedFull: 1900, queueDepth: 1000 });
    store.open();
    await ingest.flush();
    expect(store.rows).toHaveLength(1100);
    expect((await store.cells()).find((c) => c.kind === 'service')!.requests).toBe(3000);
  });

  it('cuts a chunk of rows that only partly fits at a row boundary', async () => {
    const store = slowStore();
    const ingest = ingestOf({ ...store, queueCapacity: 150, batchSize: 100, writers: 1 });
    const stream = ingest.accessLogStream(FROM, noFail);
    for (const path of ['/a', '/b', '/c']) stream.deliver(message(100, path), () => {});
    await ingest.processed();
    expect(ingest.stats.entries).toBe(300);
    expect(ingest.stats).toMatchObject({ accepted: 250, droppedFull: 50, queueDepth: 150 });
    store.open();
    await ingest.flush();
    expect(store.rows.map((r) => r.path)).toEqual([...['/a', '/b'].flatMap((p) => entries(100).map((_, i) => `${p}${i}`)), ...entries(50).map((_, i) => `/c${i}`)]);
  });

  it('holds streams above the high-water mark, lets them read again below the low one, and drops nothing', async () => {
    const store = slowStore();
    const ingest = ingestOf({ ...store, queueCapacity: 1000, batchSize: 100, writers: 1, highWater: 0.75, lowWater: 0.5 });
    const resumed: string[] = [];
    const a = ingest.accessLogStream(FROM, noFail);
    const b = ingest.accessLogStream({ proxyId: 'web-2' }, noFail);
    expect(a.deliver(message(100), () => resumed.push('early'))).toBe(false);
    for (let i = 0; i < 8; i++) a.deliver(message(100), () => resumed.push('early'));
    // The writer takes the first 100 and waits; 800 queued, above the mark of 750.
    await ingest.processed();
    expect(ingest.stats.queueDepth).toBe(800);
    expect(a.deliver(message(100), () => resumed.push('a'))).toBe(true);
    // Once held, every stream that delivers is held until the queue is down to 500.
    expect(b.deliver(message(100), () => resumed.push('b'))).toBe(true);
    store.open();
    await ingest.flush();
    expect(resumed).toEqual(['a', 'b']);
    expect(ingest.stats).toMatchObject({ paused: 2, accepted: 1100, written: 1100, droppedFull: 0, queueDepth: 0 });
    expect(a.deliver(message(1), () => resumed.push('late'))).toBe(false);
  });

  it('holds a stream while the worker has more bytes in hand than allowed, and lets it read once they are made into rows', async () => {
    const store = slowStore();
    store.open();
    const ingest = ingestOf({ ...store, queueCapacity: 1000, maxInFlightBytes: 1 });
    const resumed: string[] = [];
    const stream = ingest.accessLogStream(FROM, noFail);
    expect(stream.deliver(message(10), () => resumed.push('a'))).toBe(true);
    expect(ingest.stats.inFlightBytes).toBeGreaterThan(0);
    await ingest.processed();
    expect(resumed).toEqual(['a']);
    expect(ingest.stats).toMatchObject({ paused: 1, inFlightBytes: 0 });
    await ingest.flush();
    expect(store.rows).toHaveLength(10);
  });

  it('holds every stream that delivers while an xDS build holds reading, and lets them go when the last hold ends', async () => {
    const ingest = ingestOf({ writeRows: async () => {}, writeRollups: async () => {}, queueCapacity: 1000 });
    const resumed: string[] = [];
    const a = ingest.accessLogStream(FROM, noFail);
    const b = ingest.accessLogStream(FROM, noFail);
    const first = ingest.holdReading();
    const second = ingest.holdReading();
    expect(a.deliver(message(1), () => resumed.push('a'))).toBe(true);
    expect(b.deliver(message(1), () => resumed.push('b'))).toBe(true);
    first();
    first(); // a second release of the same hold changes nothing
    expect(resumed).toEqual([]);
    second();
    expect(resumed).toEqual(['a', 'b']);
    expect(a.deliver(message(1), () => resumed.push('late'))).toBe(false);
    expect(ingest.stats).toMatchObject({ paused: 0, heldForXds: 2 });
    await ingest.flush();
    expect(ingest.stats.written).toBe(3);
  });

  it('ends a hold by itself after its longest time, so a build stuck on the database does not stop ingestion', async () => {
    const ingest = ingestOf({ writeRows: async () => {}, writeRollups: async () => {}, queueCapacity: 1000 });
    const resumed: string[] = [];
    const stream = ingest.accessLogStream(FROM, noFail);
    const release = ingest.holdReading(20);
    expect(stream.deliver(message(1), () => resumed.push('a'))).toBe(true);
    await expect.poll(() => resumed).toEqual(['a']);
    release(); // late: changes nothing
    expect(stream.deliver(message(1), () => resumed.push('b'))).toBe(false);
  });

  it('keeps streams held for a deep queue held past the end of a build, until the queue is down', async () => {
    const store = slowStore();
    const ingest = ingestOf({ ...store, queueCapacity: 1000, batchSize: 100, writers: 1, highWater: 0.75, lowWater: 0.5 });
    const resumed: string[] = [];
    const stream = ingest.accessLogStream(FROM, noFail);
    for (let i = 0; i < 9; i++) stream.deliver(message(100), () => {});
    await ingest.processed();
    expect(ingest.stats.queueDepth).toBe(800);
    const release = ingest.holdReading();
    expect(stream.deliver(message(1), () => resumed.push('a'))).toBe(true);
    release();
    expect(resumed).toEqual([]);
    store.open();
    await ingest.flush();
    expect(resumed).toEqual(['a']);
  });

  it('refuses invalid entries one by one, keeping the rest of the message, and logs the first', async () => {
    const store = slowStore();
    store.open();
    const warnings: object[] = [];
    const ingest = ingestOf({ ...store, queueCapacity: 1000, log: { warn: (o) => warnings.push(o) } });
    const stream = ingest.accessLogStream(FROM, noFail);
    const good = entries(1)[0]!;
    stream.deliver(encodeTelemetry('accessLogs', { httpLogs: { logEntry: [good, { commonProperties: {} }, { commonProperties: {} }] } }), () => {});
    stream.deliver(encodeTelemetry('accessLogs', { tcpLogs: { logEntry: [{ commonProperties: good.commonProperties, connectionProperties: { receivedBytes: 7 } }] } }), () => {});
    await ingest.flush();
    expect(ingest.stats).toMatchObject({ messages: 2, entries: 4, rejected: 2, written: 2 });
    expect(store.rows.map((r) => [r.protocol, r.bytes_received])).toEqual([['http', expect.any(String)], ['tcp', '7']]);
    // Logged once, then only counted.
    expect(warnings).toEqual([{ proxy: 'web-1', field: 'commonProperties.startTime', reason: 'is required' }]);
  });

  it('ends a stream whose message the worker cannot decode, ignores what it sent after, and keeps the other streams', async () => {
    const store = slowStore();
    store.open();
    const ingest = ingestOf({ ...store, queueCapacity: 1000 });
    const failures: string[] = [];
    const bad = ingest.accessLogStream({ proxyId: 'bad-1' }, (reason) => failures.push(reason));
    const good = ingest.accessLogStream(FROM, noFail);
    bad.deliver(message(1), () => {});
    bad.deliver(Buffer.from([0x0a, 0xff, 0xff, 0xff]), () => {});
    bad.deliver(message(5), () => {});
    good.deliver(message(2), () => {});
    await ingest.flush();
    expect(failures).toEqual([expect.stringContaining('truncated or corrupt')]);
    expect(store.rows.map((r) => r.proxy_id).sort()).toEqual(['bad-1', 'web-1', 'web-1']);
    expect(ingest.stats).toMatchObject({ messages: 2, entries: 3, written: 3, inFlightBytes: 0 });
  });

  it('starts another worker when one dies, with the streams still open, and keeps the counters', async () => {
    const store = slowStore();
    store.open();
    const warnings: object[] = [];
    const ingest = ingestOf({ ...store, queueCapacity: 1000, log: { warn: (o) => warnings.push(o) } });
    const stream = ingest.accessLogStream(FROM, noFail);
    stream.deliver(message(2), () => {});
    await ingest.flush();
    await (ingest as unknown as { worker: Worker }).worker.terminate();
    expect(ingest.stats).toMatchObject({ workerRestarts: 1, entries: 2 });
    expect(warnings).toEqual([expect.objectContaining({ err: expect.stringContaining('exited') })]);
    stream.deliver(message(3), () => {});
    await ingest.flush();
    expect(store.rows.map((r) => r.proxy_id)).toEqual(Array(5).fill('web-1'));
    expect(ingest.stats).toMatchObject({ messages: 2, entries: 5, written: 5, workerRestarts: 1 });
  });

  it('stores every rollup cell when they take several statements', async () => {
    const store = slowStore();
    store.open();
    const ingest = ingestOf({ ...store, queueCapacity: 1000 });
    const logEntry = Array.from({ length: 1200 }, (_, i) => httpEntry({ start: start(), ms: 5, status: 200, cluster: 'orders.shop', route: `shop/r${i}` }));
    ingest.accessLogStream(FROM, noFail).deliver(encodeTelemetry('accessLogs', { httpLogs: { logEntry } }), () => {});
    await ingest.flush();
    const cells = await store.cells();
    expect(cells).toHaveLength(1202);
    expect(new Set(cells.filter((c) => c.kind === 'route').map((c) => c.route)).size).toBe(1200);
    expect(cells.find((c) => c.kind === 'service')).toMatchObject({ requests: 1200 });
  });

  it('waits longer each time new workers die before answering, and counts the messages lost meanwhile', async () => {
    const store = slowStore();
    store.open();
    const warnings: object[] = [];
    const ingest = ingestOf({ ...store, queueCapacity: 1000, log: { warn: (o) => warnings.push(o) } });
    const worker = () => (ingest as unknown as { worker: Worker }).worker;
    const stream = ingest.accessLogStream(FROM, noFail);
    stream.deliver(message(1), () => {});
    await ingest.flush();
    await worker().terminate(); // it had answered: the next message starts another at once
    stream.deliver(message(1), () => {});
    await worker().terminate(); // died before answering, with a message in hand
    expect(ingest.stats).toMatchObject({ workerRestarts: 2, messagesLost: 1 });
    expect(stream.deliver(message(1), () => {})).toBe(false); // no worker for a second: lost and counted
    expect(worker()).toBeUndefined();
    expect(ingest.stats.messagesLost).toBe(2);
    await ingest.flush(); // nothing to ask: answers at once
    await new Promise((r) => setTimeout(r, 1100));
    stream.deliver(message(2), () => {});
    await ingest.flush();
    expect(ingest.stats).toMatchObject({ written: 3, messagesLost: 2, workerRestarts: 2 });
    await ingest.close();
    await ingest.flush(); // closed: answers at once
  });

  it('keeps rollups whose write failed for the next write, and tells the mesh metrics only of stored ones', async () => {
    let fail = true;
    const write = rollupWriter('ingest-retry');
    const observed: number[] = [];
    const ingest = ingestOf({
      writeRows: async () => {},
      writeRollups: async (batches) => {
        if (fail) throw new Error('database away');
        await write(batches);
      },
      onRollups: (edges) => observed.push(...edges.map((e) => e.requests[0])),
      queueCapacity: 1000,
    });
    const stream = ingest.accessLogStream(FROM, noFail);
    stream.deliver(message(2), () => {});
    await ingest.flushEntries();
    await ingest.flushRollups();
    expect(ingest.stats.rollupWriteFailures).toBe(1);
    fail = false;
    stream.deliver(message(1), () => {});
    await ingest.flushEntries();
    await ingest.flushRollups();
    const service = (await storedRollups('ingest-retry')).find((c) => c.kind === 'service');
    expect(service!.requests).toBe(3);
    expect(service!.latency.count).toBe(3);
    expect(observed).toEqual([3]);
  });

  it('counts refused streams and metrics messages by kind, without a worker', async () => {
    const seen: string[] = [];
    const ingest = ingestOf({ writeRows: async () => {}, writeRollups: async () => {}, queueCapacity: 1000, metrics: (from) => seen.push(from.proxyId) });
    ingest.refused('malformed');
    ingest.refused('no-node');
    ingest.refused('unauthenticated');
    ingest.metrics(FROM, []);
    expect(ingest.stats).toMatchObject({ malformed: 1, noNode: 1, unauthenticated: 1, metricsMessages: 1 });
    expect(seen).toEqual(['web-1']);
    await ingest.flush();
    expect((ingest as unknown as { worker?: Worker }).worker).toBeUndefined();
  });
});
