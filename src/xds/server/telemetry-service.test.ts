/** The telemetry services over real gRPC: who may stream, which identity a node may claim, and what reaches the receiver. */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeStreamAccessLogsMessage, type AccessLogsMessage } from '../../protos/telemetry.ts';
import type { Plain } from '../../protos/type-urls.ts';
import { httpEntry, identifier, TelemetryStream } from '../../../test/support/telemetry-client.ts';
import { TelemetryIngest } from '../../analytics/ingest.ts';
import { meshAuthenticator } from './auth.ts';
import { TelemetryServer, type TelemetryReceiver, type TelemetrySource } from './telemetry-service.ts';
import { TokenStreams } from './token-streams.ts';

/** Decodes what it is handed as the ingestion's worker would, and tells the stream when it cannot. */
class Recorder implements TelemetryReceiver {
  logs: [TelemetrySource, AccessLogsMessage][] = [];
  metricFamilies: [TelemetrySource, Plain[]][] = [];
  refusals: string[] = [];
  closed = 0;
  accessLogStream(from: TelemetrySource, fail: (reason: string) => void) {
    return {
      deliver: (bytes: Uint8Array) => {
        const m = decodeStreamAccessLogsMessage(bytes);
        if (m.ok) this.logs.push([from, m.value]);
        else fail(m.issues[0]!.message);
        return false;
      },
      close: () => void (this.closed += 1),
    };
  }
  metrics(from: TelemetrySource, f: Plain[]) {
    this.metricFamilies.push([from, f]);
  }
  refused(reason: string) {
    this.refusals.push(reason);
  }
}

describe('telemetry services with required credentials', () => {
  const receiver = new Recorder();
  const authenticator = meshAuthenticator({
    mode: 'required',
    trustDomain: 'mesh.local',
    verifyToken: async (t) => (t === 'apg_web' ? { tokenId: 't1', namespace: 'shop', service: 'web' } : undefined),
    stillValid: async () => new Set(['t1']),
  });
  const server = new TelemetryServer(receiver, { authenticator });
  let port: number;
  beforeAll(async () => {
    port = await server.listen('127.0.0.1', 0, grpc.ServerCredentials.createInsecure());
  });
  afterAll(() => server.close());
  const web = identifier('web-1', { role: 'sidecar', namespace: 'shop', service: 'web' });

  it('refuses a stream without a credential with UNAUTHENTICATED', async () => {
    const s = new TelemetryStream(port, 'accessLogs');
    await s.send({ identifier: web, httpLogs: { logEntry: [] } });
    expect(await s.status).toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: expect.stringContaining('join token') });
    expect(receiver.refusals).toEqual(['unauthenticated']);
  });

  it('refuses a node claiming another service than its token\'s with PERMISSION_DENIED', async () => {
    const s = new TelemetryStream(port, 'metrics', { authorization: 'Bearer apg_web' });
    await s.send({ identifier: identifier('orders-1', { role: 'sidecar', namespace: 'shop', service: 'orders' }), envoyMetrics: [] });
    expect(await s.status).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringContaining('claims shop/orders') });
  });

  it('delivers every message of an admitted stream with the source of its first message, and answers OK when it ends', async () => {
    const s = new TelemetryStream(port, 'accessLogs', { authorization: 'Bearer apg_web' });
    await s.send({ identifier: web, httpLogs: { logEntry: [{ commonProperties: { upstreamCluster: 'orders.shop' } }] } });
    await s.send({ tcpLogs: { logEntry: [{ commonProperties: { upstreamCluster: 'db.shop' } }] } });
    expect(await s.end()).toEqual({ code: grpc.status.OK, details: '' });
    expect(receiver.logs.map(([from, m]) => [from, Object.keys(m).filter((k) => k !== 'identifier')])).toEqual([
      [{ proxyId: 'web-1', service: 'shop/web' }, ['httpLogs']],
      [{ proxyId: 'web-1', service: 'shop/web' }, ['tcpLogs']],
    ]);
  });

  it('ends a stream with INVALID_ARGUMENT when the receiver finds a later message undecodable, and closes its sink once', async () => {
    const closedBefore = receiver.closed;
    const s = new TelemetryStream(port, 'accessLogs', { authorization: 'Bearer apg_web' });
    await s.send({ identifier: web, httpLogs: { logEntry: [] } });
    await s.sendRaw(Buffer.from([0x0a, 0xff, 0xff, 0xff]));
    expect(await s.status).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('truncated or corrupt') });
    expect(receiver.refusals.at(-1)).toBe('malformed');
    expect(receiver.closed - closedBefore).toBe(1);
  });

  it('names the field of a bad node', async () => {
    const s = new TelemetryStream(port, 'metrics', { authorization: 'Bearer apg_web' });
    await s.send({ identifier: { node: { id: '' } }, envoyMetrics: [] });
    expect(await s.status).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'identifier.node.id: is required' });
  });
});

describe('telemetry streams opened with a join token that is then revoked', () => {
  const receiver = new Recorder();
  const valid = new Set(['t1', 't2']);
  const tokens: Record<string, { tokenId: string; namespace: string; service: string }> = {
    apg_web: { tokenId: 't1', namespace: 'shop', service: 'web' },
    apg_orders: { tokenId: 't2', namespace: 'shop', service: 'orders' },
  };
  const authenticator = meshAuthenticator({
    mode: 'required',
    trustDomain: 'mesh.local',
    verifyToken: async (t) => (valid.has(tokens[t]?.tokenId ?? '') ? tokens[t] : undefined),
    stillValid: async (ids) => new Set(ids.filter((id) => valid.has(id))),
  });
  const tokenStreams = new TokenStreams();
  const server = new TelemetryServer(receiver, { authenticator, tokenStreams });
  let port: number;
  beforeAll(async () => {
    port = await server.listen('127.0.0.1', 0, grpc.ServerCredentials.createInsecure());
  });
  afterAll(() => server.close());

  it('ends the revoked token\'s streams with PERMISSION_DENIED and leaves the others streaming', async () => {
    const web = new TelemetryStream(port, 'accessLogs', { authorization: 'Bearer apg_web' });
    await web.send({ identifier: identifier('web-1', { role: 'sidecar', namespace: 'shop', service: 'web' }), httpLogs: { logEntry: [] } });
    const orders = new TelemetryStream(port, 'metrics', { authorization: 'Bearer apg_orders' });
    await orders.send({ identifier: identifier('orders-1', { role: 'sidecar', namespace: 'shop', service: 'orders' }), envoyMetrics: [] });
    await expect.poll(() => tokenStreams.size).toBe(2);
    valid.delete('t1');
    await tokenStreams.revalidate((ids) => authenticator.stillValid!(ids));
    expect(await web.status).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: 'join token t1 was revoked or has expired' });
    expect(receiver.refusals).toEqual(['unauthenticated']);
    await orders.send({ envoyMetrics: [{ name: 'still-here' }] });
    await expect.poll(() => receiver.metricFamilies.length).toBe(2);
    expect(await orders.end()).toEqual({ code: grpc.status.OK, details: '' });
    expect(tokenStreams.size).toBe(0);
  });
});

describe('telemetry services under back-pressure', () => {
  let written = 0;
  // A database slower than the stream: 100 entries every 10 ms at best.
  const ingest = new TelemetryIngest({
    writeRows: async (_parts, rows) => {
      await new Promise((r) => setTimeout(r, 10));
      written += rows;
    },
    writeRollups: async () => {},
    queueCapacity: 1000,
    batchSize: 100,
  });
  const server = new TelemetryServer(ingest);
  let port: number;
  beforeAll(async () => {
    port = await server.listen('127.0.0.1', 0, grpc.ServerCredentials.createInsecure());
  });
  afterAll(async () => {
    await server.close();
    await ingest.close();
  });

  it('pauses reading a fast stream while the queue is above its high-water mark, resumes, and loses nothing it accepted', async () => {
    const s = new TelemetryStream(port, 'accessLogs');
    const logEntry = Array.from({ length: 100 }, () => httpEntry({ start: new Date(), ms: 5, status: 200, cluster: 'orders.shop' }));
    // 6,000 entries sent without waiting: six times the queue, which would drop most of them unpaused.
    const sends = [s.send({ identifier: identifier('web-1', { role: 'sidecar', namespace: 'shop', service: 'web' }), httpLogs: { logEntry } })];
    for (let i = 1; i < 60; i++) sends.push(s.send({ httpLogs: { logEntry } }));
    await Promise.all(sends);
    expect(await s.end()).toEqual({ code: grpc.status.OK, details: '' });
    await ingest.flush();
    expect(ingest.stats).toMatchObject({ entries: 6000, accepted: 6000, droppedFull: 0, written: 6000 });
    expect(ingest.stats.paused).toBeGreaterThan(0);
    expect(written).toBe(6000);
  });
});
