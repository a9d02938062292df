/**
 * Zero trust end to end with the real client (gRFC A29 xDS security, A36 xDS-enabled servers, A41
 * RBAC): a proxyless gRPC server of service `echo` gets its server listener from us and terminates
 * mTLS with a certificate of our CA; proxyless clients get clusters with mTLS towards it. Each side's
 * certificate comes from `POST /api/v1/certificates`, read through the bootstrap's file_watcher
 * certificate provider, as `apg-mesh cert issue` writes it. Each client and the server use their own
 * bootstrap (grpc-js-xds' per-channel bootstrap option), so one process holds them all.
 */
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/main.ts';
import { testConfig } from '../test/support/config.ts';
import { apiCaller } from '../test/support/http.ts';
import { EchoClient, echoService } from './support/echo.ts';

// gRPC registers its RBAC filter only with this flag, read when its modules load.
process.env.GRPC_XDS_EXPERIMENTAL_RBAC = 'true';
const xds = await import('@grpc/grpc-js-xds');
xds.register();

/** grpc-js-xds' option for a bootstrap of one channel or server (instead of the process-wide one). */
const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as { port: number };
  await new Promise((r) => probe.close(r));
  return port;
}

describe('mTLS and authorization between proxyless gRPC services (A29, A36, A41)', () => {
  let dir: string;
  let server: RunningServer;
  let echoPort: number;
  let echo: grpc.Server;
  const clients: grpc.Client[] = [];
  const api = apiCaller(() => server.apiPort);

  /** Writes a service's certificate files and returns a bootstrap with the mesh certificate provider. */
  async function bootstrapFor(service: string, nodeId: string, withCertificate = true): Promise<string> {
    const files = path.join(dir, service);
    const providers: Record<string, unknown> = {};
    if (withCertificate) {
      const res = await api('POST', '/api/v1/certificates', { service });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      mkdirSync(files, { recursive: true });
      writeFileSync(path.join(files, 'cert.pem'), res.body.chainPem);
      writeFileSync(path.join(files, 'key.pem'), res.body.keyPem, { mode: 0o600 });
      writeFileSync(path.join(files, 'ca.pem'), res.body.bundlePem);
      providers.mesh = {
        plugin_name: 'file_watcher',
        config: {
          certificate_file: path.join(files, 'cert.pem'),
          private_key_file: path.join(files, 'key.pem'),
          ca_certificate_file: path.join(files, 'ca.pem'),
          refresh_interval: '1s',
        },
      };
    }
    return JSON.stringify({
      xds_servers: [{ server_uri: `127.0.0.1:${server.xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: nodeId, locality: { zone: 'z1' }, metadata: { role: 'grpc', service, namespace: 'default', ...(withCertificate ? { mtls: true } : {}) } },
      certificate_providers: providers,
      server_listener_resource_name_template: 'grpc/server?xds.resource.listening_address=%s',
    });
  }

  async function clientAs(service: string, withCertificate = true): Promise<grpc.Client> {
    const bootstrap = await bootstrapFor(service, `client-${service}-${clients.length}`, withCertificate);
    const creds = new xds.XdsChannelCredentials(grpc.credentials.createInsecure());
    const client = new EchoClient(`xds:///echo.default:${echoPort}`, creds, { [BOOTSTRAP_OPTION]: bootstrap });
    clients.push(client);
    return client;
  }

  function call(client: grpc.Client): Promise<{ answer?: string; code?: grpc.status; details?: string }> {
    return new Promise((resolve) => {
      (client as unknown as { Call: Function }).Call(Buffer.from('ping'), new grpc.Metadata(), { deadline: Date.now() + 3000 }, (err: grpc.ServiceError | null, res: Buffer) =>
        resolve(err ? { code: err.code, details: err.details } : { answer: res.toString() }),
      );
    });
  }

  /** Calls until the outcome is `want` (config arrives asynchronously) or 15 s pass; returns the last outcome. */
  async function callUntil(client: grpc.Client, want: (r: Awaited<ReturnType<typeof call>>) => boolean) {
    const end = Date.now() + 15_000;
    let last = await call(client);
    while (!want(last) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      last = await call(client);
    }
    return last;
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'apg-mtls-'));
    server = await startServer(testConfig({ dataDir: path.join(dir, 'data'), replicaId: 'it-mtls' }));
    echoPort = await freePort();
    for (const body of [
      { name: 'echo', protocol: 'grpc', port: echoPort, mtls: 'strict' },
      { name: 'client-a', protocol: 'grpc', port: 50051 },
      { name: 'client-b', protocol: 'grpc', port: 50051 },
    ]) {
      expect((await api('POST', '/api/v1/services', body)).status).toBe(201);
    }
    expect((await api('POST', '/api/v1/services/default/echo/endpoints', { address: '127.0.0.1', port: echoPort })).status).toBe(201);
    const allowA = { name: 'echo-from-a', target: { service: 'echo' }, action: 'allow', rules: [{ from: [{ service: 'client-a' }] }] };
    expect((await api('POST', '/api/v1/authorization-policies', allowA)).status).toBe(201);

    echo = new xds.XdsServer({ [BOOTSTRAP_OPTION]: await bootstrapFor('echo', 'server-echo') } as never);
    echo.addService(echoService, { Call: (_c: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from('echo')) });
    // The server starts serving only once its listener (with mTLS and RBAC) arrived and was accepted.
    await new Promise<void>((resolve, reject) =>
      echo.bindAsync(`127.0.0.1:${echoPort}`, new xds.XdsServerCredentials(grpc.ServerCredentials.createInsecure()), (err) => (err ? reject(err) : resolve())),
    );
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    echo?.forceShutdown();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an allowed caller with a mesh certificate reaches the server over mTLS', async () => {
    const a = await clientAs('client-a');
    expect(await callUntil(a, (r) => r.answer === 'echo')).toEqual({ answer: 'echo' });
  });

  it('a caller with a mesh certificate that no policy allows gets PERMISSION_DENIED', async () => {
    const b = await clientAs('client-b');
    const r = await callUntil(b, (x) => x.code === grpc.status.PERMISSION_DENIED);
    expect(r.code).toBe(grpc.status.PERMISSION_DENIED);
  });

  it('a caller without a certificate cannot connect to a strict service', async () => {
    const plain = await clientAs('client-a', false);
    const r = await call(plain);
    expect(r.answer).toBeUndefined();
    expect(r.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('the caller is checked again after a policy change: allowing client-b lets it through', async () => {
    const b = await clientAs('client-b');
    const allowB = { name: 'echo-from-b', target: { service: 'echo' }, action: 'allow', rules: [{ from: [{ service: 'client-b' }] }] };
    expect((await api('POST', '/api/v1/authorization-policies', allowB)).status).toBe(201);
    expect(await callUntil(b, (r) => r.answer === 'echo')).toEqual({ answer: 'echo' });
  });
});

