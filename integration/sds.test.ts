/**
 * SDS end to end over the whole server: the leader issues each service a certificate, every replica
 * builds the secrets from the registry, and over ADS a proxy gets its own service's certificate
 * under the shared name `default` and nothing else; a re-keyed identity reaches the open stream; the
 * management API never shows a private key.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/main.ts';
import { TYPE_URLS } from '../src/protos/type-urls.ts';
import { AdsClient, type Response } from '../test/support/ads-client.ts';
import { testConfig } from '../test/support/config.ts';
import { apiCaller } from '../test/support/http.ts';

const { secret: SDS, cluster: CDS } = TYPE_URLS;
const sidecar = (id: string, service: string) => ({ id, metadata: { role: 'sidecar', service, namespace: 'shop' } });

type Secret = { name: string; tlsCertificate?: { certificateChain: { inlineString: string }; privateKey: { inlineString: string } }; validationContext?: unknown };

/** The SPIFFE ID in the leaf of a `default` secret. */
function identityOf(r: Response): string {
  const secret = r.resources.find((s) => s.name === 'default') as Secret | undefined;
  if (!secret?.tlsCertificate) return 'none';
  return new X509Certificate(secret.tlsCertificate.certificateChain.inlineString).subjectAltName ?? 'no SAN';
}

describe('SDS: each proxy gets its own identity', () => {
  let dir: string;
  let server: RunningServer;
  const streams: AdsClient[] = [];
  const api = apiCaller(() => server.apiPort);

  async function subscribe(node: object, typeUrl: string, names: string[]): Promise<{ c: AdsClient; r: Response }> {
    const c = new AdsClient(server.xdsPort);
    streams.push(c);
    c.send({ typeUrl, resourceNames: names, node: node as never });
    const r = await c.next(5000);
    c.ack(r, names);
    return { c, r };
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'apg-sds-'));
    server = await startServer(testConfig({ dataDir: dir, replicaId: 'it-sds', mtlsDefault: 'strict' }));
    for (const name of ['orders', 'web']) {
      expect((await api('POST', '/api/v1/services', { namespace: 'shop', name, protocol: 'http', port: 8080 })).status).toBe(201);
    }
    await server.issueCertificates();
    await server.reconciler.flush();
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a sidecar of shop/orders gets the certificate of shop/orders and the trust bundle', async () => {
    const { r } = await subscribe(sidecar('orders-1', 'orders'), SDS, ['default', 'ROOTCA']);
    expect(r.names.sort()).toEqual(['ROOTCA', 'default']);
    expect(identityOf(r)).toBe('URI:spiffe://mesh.local/ns/shop/sa/orders');
    const secret = r.resources.find((s) => s.name === 'default') as Secret;
    expect(secret.tlsCertificate!.privateKey.inlineString).toContain('BEGIN PRIVATE KEY');
  });

  it('a sidecar of shop/web asking for the same names gets the certificate of shop/web', async () => {
    const { r } = await subscribe(sidecar('web-1', 'web'), SDS, ['default', 'ROOTCA']);
    expect(identityOf(r)).toBe('URI:spiffe://mesh.local/ns/shop/sa/web');
  });

  it('a gateway without an identity gets the trust bundle and no certificate', async () => {
    const { r } = await subscribe({ id: 'gw-1', metadata: { role: 'gateway' } }, SDS, ['default', 'ROOTCA']);
    expect(r.names).toEqual(['ROOTCA']);
  });

  it('sidecars get the mTLS clusters, checking the server\'s identity; a gateway without identity gets plain ones', async () => {
    const { r } = await subscribe(sidecar('orders-2', 'orders'), CDS, []);
    const web = r.resources.find((c) => c.name === 'web.shop')!;
    expect(JSON.stringify(web.transportSocket)).toContain('spiffe://mesh.local/ns/shop/sa/web');
    const gw = await subscribe({ id: 'gw-2', metadata: { role: 'gateway' } }, CDS, []);
    expect(gw.r.resources.find((c) => c.name === 'web.shop')!.transportSocket).toBeUndefined();
  });

  it('the config dump of a proxy shows its secrets with the private key redacted', async () => {
    await subscribe(sidecar('orders-3', 'orders'), SDS, ['default']);
    await new Promise((r) => setTimeout(r, 100));
    const dump = await api('GET', '/api/v1/proxies/orders-3/config');
    expect(dump.status).toBe(200);
    const text = JSON.stringify(dump.body);
    expect(text).toContain('[redacted]');
    expect(text).not.toContain('PRIVATE KEY');
  });

  it('revoking an identity re-keys it: the open stream receives the new certificate', async () => {
    const { c, r } = await subscribe(sidecar('orders-4', 'orders'), SDS, ['default']);
    const before = (r.resources[0] as Secret).tlsCertificate!.certificateChain.inlineString;
    const revoke = await api('POST', '/api/v1/certificates/revoke', { namespace: 'shop', service: 'orders' });
    expect(revoke.status).toBe(200);
    // Issued by this run, or by the job's timer just before it.
    await server.issueCertificates();
    await server.reconciler.flush();
    const pushed = await c.next(5000);
    const after = (pushed.resources[0] as Secret).tlsCertificate!.certificateChain.inlineString;
    expect(after).not.toBe(before);
    expect(identityOf(pushed)).toBe('URI:spiffe://mesh.local/ns/shop/sa/orders');
    expect(new X509Certificate(after).serialNumber).not.toBe(new X509Certificate(before).serialNumber);
  });
});
