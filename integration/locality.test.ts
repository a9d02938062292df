/**
 * Locality failover with the real client: a service with `localityFailover` sends each proxyless
 * gRPC client (its own process, its node's locality in its bootstrap) to the endpoints of its own
 * zone, and the client fails over to the next zone when those stop answering, with no registry
 * change. Runs on PGlite, like the other traffic tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/main.ts';
import { testConfig } from '../test/support/config.ts';
import { apiCaller } from '../test/support/http.ts';
import { startEchoServer, type EchoServer } from './support/echo.ts';
import type { CallResult } from './support/xds-client-worker.ts';
import { XdsClientProcess } from './support/xds-client.ts';

const TARGET = 'xds:///geo.default:50051';
const onlyFrom = (...names: string[]) => (r: CallResult) => Object.keys(r.answers).sort().join() === [...names].sort().join() && Object.keys(r.errors).length === 0;

describe('locality failover through proxyless gRPC clients', () => {
  let dataDir: string;
  let server: RunningServer;
  const clients: XdsClientProcess[] = [];
  const echo: Record<string, EchoServer> = {};

  const api = apiCaller(() => server.apiPort);

  async function client(nodeId: string, region: string, zone: string): Promise<XdsClientProcess> {
    const c = await XdsClientProcess.start({ xdsPort: server.xdsPort, nodeId, region, zone });
    clients.push(c);
    return c;
  }

  const service = (trafficPolicy: object) => ({ protocol: 'grpc', port: 50051, trafficPolicy });

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'apg-locality-'));
    server = await startServer(testConfig({ dataDir, catchUpIntervalMs: 5000, leaderRetryMs: 5000, replicaId: 'locality-it' }));
    expect((await api('POST', '/api/v1/services', { name: 'geo', ...service({}) })).status).toBe(201);
    for (const [name, zone] of [['eu-a', 'eu-a'], ['eu-b', 'eu-b'], ['us-a', 'us-a']] as const) {
      echo[name] = await startEchoServer(name);
      const region = zone.slice(0, 2);
      const res = await api('POST', '/api/v1/services/default/geo/endpoints', { address: '127.0.0.1', port: echo[name]!.port, region, zone });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
  });

  afterAll(async () => {
    for (const c of clients) c.stop();
    await server?.close();
    await Promise.all(Object.values(echo).map((e) => e.close()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps each client in its zone, then its region, and fails over when its zone stops answering', async () => {
    const inA = await client('geo-eu-a', 'eu', 'eu-a');
    const inB = await client('geo-eu-b', 'eu', 'eu-b');
    const inC = await client('geo-eu-c', 'eu', 'eu-c');
    const inAsia = await client('geo-ap-a', 'ap', 'ap-a');
    // Without the policy every client balances over every zone.
    for (const c of [inA, inB]) expect(onlyFrom('eu-a', 'eu-b', 'us-a')(await c.until(TARGET, 30, onlyFrom('eu-a', 'eu-b', 'us-a')))).toBe(true);

    expect((await api('PUT', '/api/v1/services/default/geo', service({ localityFailover: true }))).status).toBe(200);
    expect(onlyFrom('eu-a')(await inA.until(TARGET, 30, onlyFrom('eu-a')))).toBe(true);
    expect(onlyFrom('eu-b')(await inB.until(TARGET, 30, onlyFrom('eu-b')))).toBe(true);
    // A zone with no endpoint: its region's zones; a region with none: everything.
    expect(onlyFrom('eu-a', 'eu-b')(await inC.until(TARGET, 30, onlyFrom('eu-a', 'eu-b')))).toBe(true);
    expect(onlyFrom('eu-a', 'eu-b', 'us-a')(await inAsia.call(TARGET, 30))).toBe(true);
    // Still in zone, batch after batch.
    expect(onlyFrom('eu-a')(await inA.call(TARGET, 50))).toBe(true);

    // eu-a's server goes away; the registry still lists it as healthy. The client fails over to the
    // next priority (the rest of its region) on its own.
    await echo['eu-a']!.close();
    const failedOver = await inA.until(TARGET, 30, onlyFrom('eu-b'), 20_000);
    expect(onlyFrom('eu-b')(failedOver)).toBe(true);

    // Marking eu-b unhealthy in the registry leaves the region without a serving endpoint for inB:
    // its priorities are rebuilt and it goes to the other region.
    const list = await api('GET', '/api/v1/services/default/geo/endpoints');
    const b = list.body.items.find((e: { zone: string }) => e.zone === 'eu-b');
    const marked = await api('PUT', `/api/v1/services/default/geo/endpoints/${b.id}`, { address: b.address, port: b.port, region: 'eu', zone: 'eu-b', health: 'unhealthy' });
    expect(marked.status, JSON.stringify(marked.body)).toBe(200);
    expect(onlyFrom('us-a')(await inB.until(TARGET, 30, onlyFrom('us-a'), 15_000))).toBe(true);
  });
});
