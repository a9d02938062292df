/**
 * Proxyless gRPC and the topology: a real @grpc/grpc-js-xds client (its own process) sends RPCs to
 * echo servers through the config the server produced, while a test ALS stream, standing in for
 * the caller's sidecar, reports each RPC as Envoy would (HTTP 200 with the gRPC status in the
 * trailers); the topology then shows the edge with the RPCs counted and the failures as errors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/main.ts';
import { testConfig } from '../test/support/config.ts';
import { apiCaller } from '../test/support/http.ts';
import { httpEntry, identifier, TelemetryStream } from '../test/support/telemetry-client.ts';
import { startEchoServer, type EchoServer } from './support/echo.ts';
import { XdsClientProcess } from './support/xds-client.ts';

const TARGET = 'xds:///greeter.default:50051';

describe('a proxyless gRPC client\'s RPCs reported over ALS show in the topology', () => {
  let dataDir: string;
  let server: RunningServer;
  let client: XdsClientProcess;
  let echo: EchoServer;
  const api = apiCaller(() => server.apiPort);

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'apg-telemetry-grpc-'));
    server = await startServer(testConfig({ dataDir, leaderRetryMs: 100, replicaId: 'telemetry-grpc' }));
    echo = await startEchoServer('greeter-a');
    expect((await api('POST', '/api/v1/services', { name: 'greeter', protocol: 'grpc', port: 50051 })).status).toBe(201);
    expect((await api('POST', '/api/v1/services', { name: 'frontend', protocol: 'grpc', port: 50052 })).status).toBe(201);
    expect((await api('POST', '/api/v1/services/default/greeter/endpoints', { address: '127.0.0.1', port: echo.port })).status).toBe(201);
    client = await XdsClientProcess.start({ xdsPort: server.xdsPort, nodeId: 'frontend-1', metadata: { service: 'frontend' } });
    await client.until(TARGET, 5, (r) => r.answers['greeter-a'] === 5);
    const end = Date.now() + 10_000;
    while (!server.isLeader() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    await server.maintainTelemetry();
  });

  afterAll(async () => {
    client?.stop();
    await server?.close();
    await echo?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('counts the RPCs on the edge frontend → greeter, with UNAVAILABLE answers as 5xx', async () => {
    const ok = await client.call(TARGET, 40);
    echo.behaviour.failWith = grpc.status.UNAVAILABLE;
    const failed = await client.call(TARGET, 10);
    expect(ok.answers).toEqual({ 'greeter-a': 40 });
    expect(failed.errors).toEqual({ UNAVAILABLE: 10 });

    // What the frontend's sidecar would log for those RPCs.
    const now = new Date();
    const entry = (grpcStatus: number) => ({
      ...httpEntry({ start: now, ms: 2, status: 200, cluster: 'greeter.default', path: '/apg.test.Echo/Call' }),
      response: { responseCode: { value: 200 }, responseTrailers: { 'grpc-status': String(grpcStatus) } },
    });
    const als = new TelemetryStream(server.xdsPort, 'accessLogs');
    const okEntries = Array.from({ length: Object.values(ok.answers).reduce((a, b) => a + b, 0) }, () => entry(0));
    const failedEntries = Array.from({ length: Object.values(failed.errors).reduce((a, b) => a + b, 0) }, () => entry(grpc.status.UNAVAILABLE));
    await als.send({ identifier: identifier('frontend-1', { role: 'sidecar', service: 'frontend' }), httpLogs: { logEntry: [...okEntries, ...failedEntries] } });
    expect((await als.end()).code).toBe(grpc.status.OK);
    await server.telemetry.flush();

    const topo = (await api('GET', '/api/v1/topology?window=5m')).body;
    expect(topo.edges).toEqual([
      expect.objectContaining({ source: 'default/frontend', destination: 'default/greeter', status: 'failing', traffic: expect.objectContaining({ requests: 50, status5xx: 10, errorRate: 0.2 }) }),
    ]);
    expect(topo.nodes.map((n: { id: string; status: string }) => [n.id, n.status])).toEqual([
      ['default/frontend', 'idle'],
      ['default/greeter', 'failing'],
    ]);
    const failures = (await api('GET', '/api/v1/traces?failed=true&service=default/greeter')).body.items;
    expect(failures).toHaveLength(10);
    expect(failures[0]).toMatchObject({ status: 200, grpcStatus: 14, source: 'default/frontend' });
  });
});
