import { describe, expect, it } from 'vitest';
import type { AccessLogsMessage } from '../protos/telemetry.ts';
import type { AccessLogRecord } from './access-log.ts';
import { TelemetryIngest } from './ingest.ts';
import type { RollupCell } from './rollup.ts';

const NOW = new Date('2026-12-02T10:00:00Z');
const FROM = { proxyId: 'web-1', service: 'shop/web' };
const entry = (status = 200) => ({
  commonProperties: { startTime: { seconds: String(NOW.getTime() / 1000 - 5) }, upstreamCluster: 'orders.shop', timeToLastDownstreamTxByte: { nanos: 5_000_000 } },
  response: { responseCode: { value: status } },
});
const message = (n: number, extra: Partial<AccessLogsMessage> = {}): AccessLogsMessage => ({ httpLogs: { logEntry: Array.from({ length: n }, () => entry()) }, ...extra });

/** A database stand-in whose writes wait until released, to play a database slower than the streams. */
function slowStore() {
  const records: AccessLogRecord[] = [];
  const cells: RollupCell[] = [];
  let release: () => void = () => {};
  let gate = new Promise<void>((r) => (release = r));
  return {
    records,
    cells,
    open: () => {
      release();
      gate = Promise.resolve();
    },
    writeRecords: async (batch: AccessLogRecord[]) => {
      await gate;
      records.push(...batch);
    },
    writeRollups: async (c: RollupCell[]) => {
      cells.push(...c);
    },
  };
}

describe('TelemetryIngest', () => {
  it('queues records for the raw table and counts them into rollups', async () => {
    const store = slowStore();
    store.open();
    const ingest = new TelemetryIngest({ ...store, queueCapacity: 1000, now: () => NOW });
    ingest.accessLogs(FROM, message(3));
    await ingest.flush();
    expect(store.records).toHaveLength(3);
    expect(store.cells.find((c) => c.kind === 'edge')).toMatchObject({ source: 'shop/web', destination: 'shop/orders', requests: 3 });
    expect(ingest.stats).toMatchObject({ messages: 1, entries: 3, accepted: 3, written: 3, droppedFull: 0, queueDepth: 0 });
  });

  it('drops and counts what does not fit while the database is slow, without waiting; rollups still count every entry', async () => {
    const store = slowStore();
    const ingest = new TelemetryIngest({ ...store, queueCapacity: 1000, batchSize: 100, writers: 1, now: () => NOW });
    for (let i = 0; i < 30; i++) ingest.accessLogs(FROM, message(100));
    // The writer holds its first batch of 100 outside the queue while it waits.
    expect(ingest.stats).toMatchObject({ entries: 3000, accepted: 1100, droppedFull: 1900, queueDepth: 1000 });
    store.open();
    await ingest.flush();
    expect(store.records).toHaveLength(1100);
    expect(store.cells.find((c) => c.kind === 'service')!.requests).toBe(3000);
  });

  it('holds streams above the high-water mark, lets them read again below the low one, and drops nothing', async () => {
    const store = slowStore();
    const ingest = new TelemetryIngest({ ...store, queueCapacity: 1000, batchSize: 100, writers: 1, highWater: 0.75, lowWater: 0.5, now: () => NOW });
    const resumed: string[] = [];
    // The writer takes the first 100 and waits; 8 messages leave 700 queued, under the mark of 750.
    for (let i = 0; i < 8; i++) {
      ingest.accessLogs(FROM, message(100));
      expect(ingest.holdStream(() => resumed.push('early'))).toBe(false);
    }
    ingest.accessLogs(FROM, message(100));
    expect(ingest.holdStream(() => resumed.push('a'))).toBe(true);
    // Once held, every stream that delivers is held until the queue is down to 500.
    expect(ingest.holdStream(() => resumed.push('b'))).toBe(true);
    store.open();
    await ingest.flush();
    expect(resumed).toEqual(['a', 'b']);
    expect(ingest.stats).toMatchObject({ paused: 2, accepted: 900, written: 900, droppedFull: 0, queueDepth: 0 });
    expect(ingest.holdStream(() => resumed.push('late'))).toBe(false);
  });

  it('holds every stream that delivers while an xDS build holds reading, and lets them go when the last hold ends', async () => {
    const ingest = new TelemetryIngest({ writeRecords: async () => {}, writeRollups: async () => {}, queueCapacity: 1000, now: () => NOW });
    const resumed: string[] = [];
    const first = ingest.holdReading();
    const second = ingest.holdReading();
    ingest.accessLogs(FROM, message(1));
    expect(ingest.holdStream(() => resumed.push('a'))).toBe(true);
    expect(ingest.holdStream(() => resumed.push('b'))).toBe(true);
    first();
    first(); // a second release of the same hold changes nothing
    expect(resumed).toEqual([]);
    second();
    expect(resumed).toEqual(['a', 'b']);
    expect(ingest.holdStream(() => resumed.push('late'))).toBe(false);
    expect(ingest.stats).toMatchObject({ paused: 0, heldForXds: 2 });
    await ingest.flush();
  });

  it('ends a hold by itself after its longest time, so a build stuck on the database does not stop ingestion', async () => {
    const ingest = new TelemetryIngest({ writeRecords: async () => {}, writeRollups: async () => {}, queueCapacity: 1000, now: () => NOW });
    const resumed: string[] = [];
    const release = ingest.holdReading(20);
    expect(ingest.holdStream(() => resumed.push('a'))).toBe(true);
    await expect.poll(() => resumed).toEqual(['a']);
    release(); // late: changes nothing
    expect(ingest.holdStream(() => resumed.push('b'))).toBe(false);
  });

  it('keeps streams held for a deep queue held past the end of a build, until the queue is down', async () => {
    const store = slowStore();
    const ingest = new TelemetryIngest({ ...store, queueCapacity: 1000, batchSize: 100, writers: 1, highWater: 0.75, lowWater: 0.5, now: () => NOW });
    const resumed: string[] = [];
    for (let i = 0; i < 9; i++) ingest.accessLogs(FROM, message(100));
    const release = ingest.holdReading();
    expect(ingest.holdStream(() => resumed.push('a'))).toBe(true);
    release();
    expect(resumed).toEqual([]);
    store.open();
    await ingest.flush();
    expect(resumed).toEqual(['a']);
  });

  it('refuses invalid entries one by one, keeping the rest of the message', async () => {
    const store = slowStore();
    store.open();
    const warnings: object[] = [];
    const ingest = new TelemetryIngest({ ...store, queueCapacity: 1000, now: () => NOW, log: { warn: (o) => warnings.push(o) } });
    ingest.accessLogs(FROM, { httpLogs: { logEntry: [entry(), { commonProperties: {} }, { commonProperties: {} }] }, tcpLogs: { logEntry: [{ commonProperties: entry().commonProperties, connectionProperties: { receivedBytes: '7' } }] } });
    await ingest.flush();
    expect(ingest.stats).toMatchObject({ entries: 4, rejected: 2, written: 2 });
    // Logged once, then only counted.
    expect(warnings).toEqual([{ proxy: 'web-1', field: 'commonProperties.startTime', reason: 'is required' }]);
  });

  it('keeps rollups whose write failed for the next write', async () => {
    let fail = true;
    const written: RollupCell[] = [];
    const ingest = new TelemetryIngest({
      writeRecords: async () => {},
      writeRollups: async (c) => {
        if (fail) throw new Error('database away');
        written.push(...c);
      },
      queueCapacity: 1000,
      now: () => NOW,
    });
    ingest.accessLogs(FROM, message(2));
    await ingest.flushRollups();
    expect(ingest.stats.rollupWriteFailures).toBe(1);
    fail = false;
    ingest.accessLogs(FROM, message(1));
    await ingest.flushRollups();
    expect(written.find((c) => c.kind === 'service')!.requests).toBe(3);
  });

  it('counts refused streams and metrics messages by kind', () => {
    const seen: string[] = [];
    const ingest = new TelemetryIngest({ writeRecords: async () => {}, writeRollups: async () => {}, queueCapacity: 1000, metrics: (from) => seen.push(from.proxyId) });
    ingest.refused('malformed');
    ingest.refused('no-node');
    ingest.refused('unauthenticated');
    ingest.metrics(FROM, []);
    expect(ingest.stats).toMatchObject({ malformed: 1, noNode: 1, unauthenticated: 1, metricsMessages: 1 });
    expect(seen).toEqual(['web-1']);
  });
});
