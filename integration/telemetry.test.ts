/**
 * Telemetry end to end on the server: Envoy-shaped access-log streams over real gRPC into the
 * server's ALS service, then the REST API's metrics, topology and traces, checked against a
 * brute-force computation of the same entries; and bad input that ends streams with a clear status
 * or is counted, never taking the server down. PGlite always, the real PostgreSQL when DATABASE_URL is set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/main.ts';
import { testConfig } from '../test/support/config.ts';
import { apiCaller } from '../test/support/http.ts';
import { createPostgresDatabase, onPostgres } from '../test/support/test-db.ts';
import { httpEntry, identifier, TelemetryStream } from '../test/support/telemetry-client.ts';

const engines = onPostgres() ? (['pglite', 'postgres'] as const) : (['pglite'] as const);
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

/** Nearest-rank percentile of raw values. */
const nearestRank = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.max(0, Math.ceil(q * values.length) - 1)]!;
const until = async (check: () => Promise<boolean>, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe.each(engines)('telemetry from Envoy access logs (%s)', (engine) => {
  let dataDir: string;
  let dropDatabase: (() => Promise<void>) | undefined;
  let server: RunningServer;
  const api = apiCaller(() => server.apiPort);
  const start = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 120_000);
  const range = `from=${new Date(start.getTime() - 60_000).toISOString()}&to=${new Date(Date.now() + 120_000).toISOString()}&step=1m`;
  // 1,200 requests from web to orders: latencies spread over 1..~400 ms, 2% 503, 5% 404.
  const latencies = Array.from({ length: 1200 }, (_, i) => 1 + ((i * 7919) % 1200) / 3);
  const statusOf = (i: number) => (i % 50 === 0 ? 503 : i % 20 === 1 ? 404 : 200);

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'apg-telemetry-'));
    let databaseUrl: string | undefined;
    if (engine === 'postgres') ({ url: databaseUrl, drop: dropDatabase } = await createPostgresDatabase());
    server = await startServer(testConfig({ databaseUrl, dataDir, leaderRetryMs: 100, replicaId: `telemetry-${engine}` }));
    for (const name of ['web', 'orders']) expect((await api('POST', '/api/v1/services', { namespace: 'shop', name, protocol: 'http', port: 8080 })).status).toBe(201);
    expect((await api('POST', '/api/v1/services/shop/orders/endpoints', { address: '10.0.0.2', port: 8080 })).status).toBe(201);
    await until(async () => server.isLeader());
    await server.maintainTelemetry();
  });

  afterAll(async () => {
    await server?.close();
    await dropDatabase?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('counts requests, status classes and latency percentiles per service, route and edge', async () => {
    const stream = new TelemetryStream(server.xdsPort, 'accessLogs');
    const entries = latencies.map((ms, i) => httpEntry({ start: new Date(start.getTime() + (i % 60) * 1000), ms, status: statusOf(i), cluster: 'orders.shop', route: i % 2 ? 'shop/list' : undefined }));
    await stream.send({ identifier: identifier('web-1', { role: 'sidecar', namespace: 'shop', service: 'web' }), httpLogs: { logEntry: entries.slice(0, 600) } });
    await stream.send({ httpLogs: { logEntry: entries.slice(600) } });
    expect(await stream.end()).toEqual({ code: grpc.status.OK, details: '' });
    await server.telemetry.flush();

    const res = await api('GET', `/api/v1/metrics?service=shop/orders&${range}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const s = res.body.summary;
    expect(s).toMatchObject({ requests: 1200, status5xx: 24, status4xx: 60, status2xx: 1116, errorRate: 0.02 });
    for (const [q, got] of [[0.5, s.p50], [0.9, s.p90], [0.99, s.p99]] as const) {
      const want = nearestRank(latencies, q);
      expect(Math.abs(got - want) / want).toBeLessThanOrEqual(1 / 128 + 1e-9);
    }
    expect(res.body.points.reduce((n: number, p: { requests: number }) => n + p.requests, 0)).toBe(1200);
    const route = await api('GET', `/api/v1/metrics?service=shop/orders&route=shop/list&${range}`);
    expect(route.body.summary.requests).toBe(600);
    const edge = await api('GET', `/api/v1/metrics?service=shop/orders&source=shop/web&${range}`);
    expect(edge.body.summary.requests).toBe(1200);
  });

  it('shows the edge in the topology, coloured by its 5xx ratio', async () => {
    const res = await api('GET', '/api/v1/topology?window=10m');
    expect(res.status).toBe(200);
    const edge = res.body.edges.find((e: { source: string }) => e.source === 'shop/web');
    expect(edge).toMatchObject({ destination: 'shop/orders', status: 'degraded', traffic: { requests: 1200, errorRate: 0.02 } });
    expect(res.body.nodes.find((n: { id: string }) => n.id === 'shop/orders')).toMatchObject({ registered: true, endpoints: { total: 1, healthy: 1 }, status: 'degraded' });
    expect((await api('GET', '/api/v1/topology?window=10m&failing=0.01&degraded=0.005')).body.edges[0].status).toBe('failing');
  });

  it('follows one request across both hops by its trace id, and finds recent slow or failed requests', async () => {
    const out = new TelemetryStream(server.xdsPort, 'accessLogs');
    const traceparent = `00-${TRACE}-00f067aa0ba902b7-01`;
    await out.send({ identifier: identifier('web-2', { role: 'sidecar', namespace: 'shop', service: 'web' }), httpLogs: { logEntry: [httpEntry({ start, ms: 950, status: 503, cluster: 'orders.shop', traceparent })] } });
    const inb = new TelemetryStream(server.xdsPort, 'accessLogs');
    const inbound = httpEntry({ start: new Date(start.getTime() + 2), ms: 940, status: 503, cluster: 'inbound:orders.shop', traceparent, peerUri: 'spiffe://mesh.local/ns/shop/sa/web' });
    await inb.send({ identifier: identifier('orders-1', { role: 'sidecar', namespace: 'shop', service: 'orders' }), httpLogs: { logEntry: [inbound] } });
    await Promise.all([out.end(), inb.end()]);
    await server.telemetry.flush();

    const trace = await api('GET', `/api/v1/traces/${TRACE}`);
    expect(trace.status).toBe(200);
    expect(trace.body.entries.map((e: Record<string, unknown>) => [e.proxyId, e.direction, e.source, e.destination, e.status])).toEqual([
      ['web-2', 'outbound', 'shop/web', 'shop/orders', 503],
      ['orders-1', 'inbound', 'shop/web', 'shop/orders', 503],
    ]);
    expect((await api('GET', '/api/v1/traces/nope')).status).toBe(404);
    const slow = await api('GET', '/api/v1/traces?minDurationMs=900&window=1h');
    expect(slow.body.items.map((e: { traceId: string }) => e.traceId)).toEqual([TRACE, TRACE]);
    const failed = await api('GET', '/api/v1/traces?failed=true&service=shop/orders&limit=1000');
    expect(failed.body.items).toHaveLength(26);
    expect((await api('GET', '/api/v1/traces?window=2y')).body.errors[0].path).toBe('query.window');
  });

  it('ends a stream with INVALID_ARGUMENT for garbage or a first message without node, counts absurd entries, and keeps serving', async () => {
    const garbage = new TelemetryStream(server.xdsPort, 'accessLogs');
    await garbage.sendRaw(Buffer.from([0x0a, 0xff, 0xff, 0xff]));
    expect(await garbage.status).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('StreamAccessLogsMessage') });

    // A later message is decoded by the ingestion worker, which ends its stream just the same.
    const later = new TelemetryStream(server.xdsPort, 'accessLogs');
    await later.send({ identifier: identifier('web-4', { role: 'sidecar', namespace: 'shop', service: 'web' }), httpLogs: { logEntry: [] } });
    await later.sendRaw(Buffer.from([0x0a, 0xff, 0xff, 0xff]));
    expect(await later.status).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('truncated or corrupt') });

    const anonymous = new TelemetryStream(server.xdsPort, 'accessLogs');
    await anonymous.send({ httpLogs: { logEntry: [httpEntry({ start, ms: 1, status: 200, cluster: 'orders.shop' })] } });
    expect(await anonymous.status).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('identifier.node') });

    const before = server.telemetry.stats;
    const absurd = new TelemetryStream(server.xdsPort, 'accessLogs');
    await absurd.send({
      identifier: identifier('web-3', { role: 'sidecar', namespace: 'shop', service: 'web' }),
      httpLogs: { logEntry: [httpEntry({ start: new Date('1999-01-01T00:00:00Z'), ms: 1, status: 200, cluster: 'orders.shop' }), httpEntry({ start, ms: 1, status: 200, cluster: 'orders.shop' })] },
    });
    expect(await absurd.end()).toMatchObject({ code: grpc.status.OK });
    await server.telemetry.flush();
    const after = server.telemetry.stats;
    expect(after.rejected - before.rejected).toBe(1);
    expect(after.written - before.written).toBe(1);
    expect(after.malformed).toBeGreaterThanOrEqual(2);
    expect(after.noNode).toBeGreaterThanOrEqual(1);

    const counters = await api('GET', '/api/v1/telemetry');
    expect(counters.body.replicas[0]).toMatchObject({ id: `telemetry-${engine}`, counters: { rejected: after.rejected, droppedFull: 0, paused: 0 } });
  });

  it('keeps the cluster stats a proxy streams to the metrics service', async () => {
    const stream = new TelemetryStream(server.xdsPort, 'metrics');
    const counter = (name: string, value: number) => ({ name, type: 'COUNTER', metric: [{ counter: { value } }] });
    await stream.send({
      identifier: identifier('web-1', { role: 'sidecar', namespace: 'shop', service: 'web' }),
      envoyMetrics: [counter('cluster.orders.shop.upstream_rq_5xx', 24), counter('cluster.orders.shop.upstream_rq_2xx', 1116), counter('server.uptime', 5)],
    });
    await until(async () => (await api('GET', '/api/v1/cluster-stats?proxy=web-1')).body.items.length === 2);
    const stats = (await api('GET', '/api/v1/cluster-stats?service=shop/orders')).body.items;
    expect(stats.map((s: Record<string, unknown>) => [s.proxyId, s.cluster, s.stat, s.value])).toEqual([
      ['web-1', 'orders.shop', 'upstream_rq_2xx', 1116],
      ['web-1', 'orders.shop', 'upstream_rq_5xx', 24],
    ]);
    stream.cancel();
  });

  it('fires an error-rate rule from the ingested traffic, delivers its webhook, and resolves it when the ratio falls', async () => {
    const received: { event: string; alert: { subject: string; state: string } }[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const webhookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    try {
      const rule = await api('POST', '/api/v1/alert-rules', { name: 'orders-errors', kind: 'error-rate', service: 'shop/orders', params: { threshold: 0.01, windowMs: 600_000 }, webhookUrl });
      expect(rule.status, JSON.stringify(rule.body)).toBe(201);
      await server.evaluateAlerts();
      await until(async () => received.length === 1);
      expect(received[0]).toMatchObject({ event: 'firing', alert: { subject: 'shop/orders', state: 'firing' } });

      // 5,000 good requests more bring the 5xx ratio under 1%.
      const stream = new TelemetryStream(server.xdsPort, 'accessLogs');
      const good = Array.from({ length: 5000 }, (_, i) => httpEntry({ start: new Date(start.getTime() + (i % 60) * 1000), ms: 3, status: 200, cluster: 'orders.shop' }));
      await stream.send({ identifier: identifier('web-4', { role: 'sidecar', namespace: 'shop', service: 'web' }), httpLogs: { logEntry: good } });
      await stream.end();
      await server.telemetry.flush();
      await server.evaluateAlerts();
      await until(async () => received.length === 2);
      expect(received[1]).toMatchObject({ event: 'resolved', alert: { subject: 'shop/orders', state: 'resolved' } });
      const history = await api('GET', '/api/v1/alerts?rule=orders-errors');
      expect(history.body.items).toEqual([expect.objectContaining({ state: 'resolved', subject: 'shop/orders', deliveries: [expect.objectContaining({ event: 'firing', ok: true }), expect.objectContaining({ event: 'resolved', ok: true })] })]);
    } finally {
      hook.close();
    }
  });

  it('adds the mesh traffic to /metrics', async () => {
    const res = await fetch(`http://127.0.0.1:${server.apiPort}/metrics`);
    const text = await res.text();
    expect(text).toMatch(/apg_mesh_requests_total\{reporter="source",source="shop\/web",destination="shop\/orders",code_class="5xx"\} \d+/);
    expect(text).toMatch(/apg_telemetry_entries_dropped \d+/);
  });
});

describe('telemetry on a port of its own', () => {
  let server: RunningServer;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'apg-telemetry-port-'));
    server = await startServer(testConfig({ dataDir, telemetryPort: 0, telemetryAddress: 'control-plane:18090', replicaId: 'telemetry-port' }));
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the access-log service on TELEMETRY_PORT and no longer on the xDS port', async () => {
    expect(server.telemetryPort).not.toBe(server.xdsPort);
    const own = new TelemetryStream(server.telemetryPort, 'accessLogs');
    await own.send({ identifier: identifier('gw-1', { role: 'gateway' }), httpLogs: { logEntry: [] } });
    expect(await own.end()).toEqual({ code: grpc.status.OK, details: '' });
    await server.telemetry.flush();
    expect(server.telemetry.stats.messages).toBe(1);
    const xds = new TelemetryStream(server.xdsPort, 'accessLogs');
    await xds.send({ identifier: identifier('gw-1', { role: 'gateway' }), httpLogs: { logEntry: [] } });
    expect((await xds.end()).code).toBe(grpc.status.UNIMPLEMENTED);
  });
});
