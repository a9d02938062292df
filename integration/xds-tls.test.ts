/**
 * The xDS port over TLS with XDS_AUTH=required, through the whole server: a proxy authenticates with
 * a bootstrap certificate issued by the mesh CA (`apg-mesh cert issue` / POST /api/v1/certificates)
 * and may claim only the identity it names; a proxy without a credential is refused.
 */
import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/main.ts';
import { TYPE_URLS } from '../src/protos/type-urls.ts';
import { AdsClient } from '../test/support/ads-client.ts';
import { testConfig } from '../test/support/config.ts';
import { apiCaller } from '../test/support/http.ts';

const sidecar = (id: string, service: string) => ({ id, metadata: { role: 'sidecar', service, namespace: 'shop' } });

describe('xDS over TLS with a bootstrap certificate (XDS_AUTH=required)', () => {
  let dir: string;
  let server: RunningServer;
  let bundle: string;
  let orders: { chainPem: string; keyPem: string };
  const api = apiCaller(() => server.apiPort);

  async function issue(namespace: string, service: string) {
    expect((await api('POST', '/api/v1/services', { namespace, name: service, protocol: 'http', port: 8080 })).status).toBe(201);
    const res = await api('POST', '/api/v1/certificates', { namespace, service });
    expect(res.status).toBe(201);
    return res.body as { chainPem: string; keyPem: string; bundlePem: string };
  }

  const tlsClient = (cert?: { chainPem: string; keyPem: string }) =>
    new AdsClient(server.xdsPort, undefined, {
      credentials: grpc.credentials.createSsl(Buffer.from(bundle), cert ? Buffer.from(cert.keyPem) : null, cert ? Buffer.from(cert.chainPem) : null, {
        checkServerIdentity: () => undefined,
      }),
    });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'apg-xds-tls-'));
    const data = path.join(dir, 'data');
    // First start: the CA is created; it issues the xDS port's own certificate and a proxy's.
    server = await startServer(testConfig({ dataDir: data, replicaId: 'it-xds-tls' }));
    const own = await issue('apg-system', 'control-plane');
    orders = await issue('shop', 'orders');
    await issue('shop', 'web');
    bundle = own.bundlePem;
    writeFileSync(path.join(dir, 'xds.pem'), own.chainPem);
    writeFileSync(path.join(dir, 'xds-key.pem'), own.keyPem, { mode: 0o600 });
    await server.close();
    server = await startServer(
      testConfig({ dataDir: data, replicaId: 'it-xds-tls', xdsAuth: 'required', xdsTlsCertFile: path.join(dir, 'xds.pem'), xdsTlsKeyFile: path.join(dir, 'xds-key.pem') }),
    );
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a proxy with the certificate of shop/orders, claiming shop/orders, gets its config', async () => {
    const c = tlsClient(orders);
    c.send({ typeUrl: TYPE_URLS.listener, resourceNames: [], node: sidecar('orders-1', 'orders') as never });
    const r = await c.next(5000);
    expect(r.names).toContain('inbound:orders.shop');
  });

  it('the same certificate claiming another service is refused with PERMISSION_DENIED', async () => {
    const c = tlsClient(orders);
    c.send({ typeUrl: TYPE_URLS.listener, resourceNames: [], node: sidecar('web-1', 'web') as never });
    expect((await c.ended()).code).toBe(grpc.status.PERMISSION_DENIED);
    expect(await c.silentFor(0)).toBe(true);
  });

  it('a proxy with TLS but no certificate and no token is refused with UNAUTHENTICATED', async () => {
    const c = tlsClient();
    c.send({ typeUrl: TYPE_URLS.listener, resourceNames: [], node: sidecar('orders-2', 'orders') as never });
    expect((await c.ended()).code).toBe(grpc.status.UNAUTHENTICATED);
    expect(await c.silentFor(0)).toBe(true);
  });

  it('a proxy with the join token of shop/web gets the certificate of shop/web; claiming shop/orders with it gets no secret', async () => {
    await server.issueCertificates();
    await server.reconciler.flush();
    const created = await api('POST', '/api/v1/join-tokens', { namespace: 'shop', service: 'web' });
    expect(created.status).toBe(201);
    const withToken = () =>
      new AdsClient(server.xdsPort, undefined, {
        credentials: grpc.credentials.createSsl(Buffer.from(bundle), null, null, { checkServerIdentity: () => undefined }),
        metadata: { authorization: `Bearer ${created.body.token}` },
      });
    const web = withToken();
    web.send({ typeUrl: TYPE_URLS.secret, resourceNames: ['default'], node: sidecar('web-2', 'web') as never });
    const r = await web.next(5000);
    const chain = (r.resources[0] as { tlsCertificate: { certificateChain: { inlineString: string } } }).tlsCertificate.certificateChain.inlineString;
    expect(new X509Certificate(chain).subjectAltName).toBe('URI:spiffe://mesh.local/ns/shop/sa/web');
    const thief = withToken();
    thief.send({ typeUrl: TYPE_URLS.secret, resourceNames: ['default'], node: sidecar('orders-9', 'orders') as never });
    expect((await thief.ended()).code).toBe(grpc.status.PERMISSION_DENIED);
    expect(await thief.silentFor(0)).toBe(true);
  });

  it('a plain-text connection, even from loopback, gets no config', async () => {
    const c = new AdsClient(server.xdsPort);
    c.send({ typeUrl: TYPE_URLS.listener, resourceNames: [], node: sidecar('orders-3', 'orders') as never });
    // A TLS port does not speak plain text: the call fails before any request reaches the server.
    expect((await c.ended()).code).toBe(grpc.status.UNAVAILABLE);
    expect(await c.silentFor(0)).toBe(true);
  });
});
