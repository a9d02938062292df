/**
 * End to end with the real client: register a gRPC service over REST, and a real @grpc/grpc-js-xds
 * client (its own process, bootstrap pointing at our ADS port) follows every registry change.
 * Runs on PGlite always, and also on the real PostgreSQL when DATABASE_URL is set (CI).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.ts';
import { testConfig } from '../test/support/config.ts';
import { apiCaller } from '../test/support/http.ts';
import { startServer, type RunningServer } from '../src/main.ts';
import { createPostgresDatabase, onPostgres } from '../test/support/test-db.ts';
import { startEchoServer, type EchoServer } from './support/echo.ts';
import { XdsClientProcess } from './support/xds-client.ts';

const TARGET = 'xds:///greeter.default:50051';

const only = (name: string) => (r: { answers: Record<string, number> }) => Object.keys(r.answers).join() === name;
const both = (r: { answers: Record<string, number> }) => Object.keys(r.answers).length === 2;

const engines = onPostgres() ? (['pglite', 'postgres'] as const) : (['pglite'] as const);

describe.each(engines)('a proxyless gRPC client follows the registry (%s)', (engine) => {
  let dataDir: string;
  let dropDatabase: (() => Promise<void>) | undefined;
  let config: Config;
  let server: RunningServer;
  let client: XdsClientProcess;
  let a: EchoServer;
  let b: EchoServer;
  let idA: string;

  const api = apiCaller(() => server.apiPort);

  async function addEndpoint(echo: EchoServer, extra: object = {}): Promise<string> {
    const res = await api('POST', '/api/v1/services/default/greeter/endpoints', { address: '127.0.0.1', port: echo.port, ...extra });
    expect(res.status).toBe(201);
    return res.body.id;
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'apg-it-'));
    let databaseUrl: string | undefined;
    if (engine === 'postgres') {
      const created = await createPostgresDatabase();
      databaseUrl = created.url;
      dropDatabase = created.drop;
    }
    config = testConfig({ databaseUrl, dataDir, catchUpIntervalMs: 5000, leaderRetryMs: 5000, replicaId: `it-${engine}` });
    server = await startServer(config);
    a = await startEchoServer('backend-a');
    b = await startEchoServer('backend-b');
    client = await XdsClientProcess.start({ xdsPort: server.xdsPort, nodeId: `it-client-${engine}` });
  });

  afterAll(async () => {
    client?.stop();
    await server?.close();
    await Promise.all([a?.close(), b?.close()]);
    await dropDatabase?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reaches a service registered over REST', async () => {
    expect((await api('POST', '/api/v1/services', { name: 'greeter', protocol: 'grpc', port: 50051 })).status).toBe(201);
    idA = await addEndpoint(a);
    const r = await client.until(TARGET, 10, only('backend-a'));
    expect(r.answers).toEqual({ 'backend-a': 10 });
  });

  it('spreads RPCs over a second endpoint once it is added', async () => {
    await addEndpoint(b);
    const r = await client.until(TARGET, 20, both);
    expect(Object.keys(r.answers).sort()).toEqual(['backend-a', 'backend-b']);
  });

  it('moves every RPC away from an endpoint marked unhealthy', async () => {
    expect((await api('PUT', `/api/v1/services/default/greeter/endpoints/${idA}`, { address: '127.0.0.1', port: a.port, health: 'unhealthy' })).status).toBe(200);
    const r = await client.until(TARGET, 20, only('backend-b'));
    expect(r.answers).toEqual({ 'backend-b': 20 });
  });

  it('moves RPCs away from an endpoint whose heartbeat TTL lapsed', async () => {
    await api('PUT', `/api/v1/services/default/greeter/endpoints/${idA}`, { address: '127.0.0.1', port: a.port, health: 'healthy', ttlSeconds: 1 });
    await client.until(TARGET, 20, both);
    const hb = await api('PUT', `/api/v1/services/default/greeter/endpoints/${idA}/heartbeat`);
    expect(hb.body.health).toBe('healthy');
    await new Promise((r) => setTimeout(r, 1100));
    await server.housekeeping(); // the leader's job; it also runs every second on its own
    expect((await api('GET', `/api/v1/services/default/greeter/endpoints/${idA}`)).body.health).toBe('unhealthy');
    const r = await client.until(TARGET, 20, only('backend-b'));
    expect(r.answers).toEqual({ 'backend-b': 20 });
  });

  it('fails with UNAVAILABLE once the service is deleted', async () => {
    expect((await api('DELETE', '/api/v1/services/default/greeter')).status).toBe(204);
    const r = await client.until(TARGET, 5, (x) => x.errors.UNAVAILABLE === 5);
    expect(r.errors).toEqual({ UNAVAILABLE: 5 });
    expect(r.answers).toEqual({});
  });

  it('keeps working while the control plane restarts, then resynchronises', async () => {
    await api('POST', '/api/v1/services', { name: 'greeter', protocol: 'grpc', port: 50051 });
    await addEndpoint(a);
    await client.until(TARGET, 10, only('backend-a'));
    const xdsPort = server.xdsPort;
    await server.close();
    const during = await client.call(TARGET, 10);
    expect(during.answers).toEqual({ 'backend-a': 10 }); // the last good config keeps serving
    server = await startServer({ ...config, xdsPort });
    await addEndpoint(b);
    const r = await client.until(TARGET, 20, both, 20_000);
    expect(Object.keys(r.answers).sort()).toEqual(['backend-a', 'backend-b']);
  });
});
