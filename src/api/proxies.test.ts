/**
 * `/api/v1/proxies`: the proxies connected to a real xDS server (real ADS clients, both variants),
 * their per-type sync state, and the config dump of what each stream was sent.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TYPE_URLS } from '../protos/type-urls.ts';
import { ProxyViews } from '../xds/server/proxy-views.ts';
import type { ReplicaRow } from '../registry/schema.ts';
import { MeshProxyDirectory } from './proxy-directory.ts';
import { apiHarness, expectProblem, type ApiHarness } from '../../test/support/api.ts';
import { cleanUpHarnesses, greeterEds, grpcNode, harness, type Harness } from '../../test/support/xds-harness.ts';

const { cluster: CDS, endpoint: EDS } = TYPE_URLS;

cleanUpHarnesses();
let xds: Harness;
let api: ApiHarness;
let views: ProxyViews;
/** What the other replicas reported (rows of the replicas table); a function that throws stands for a database outage. */
let others: () => Promise<ReplicaRow[]> = async () => [];
const local = { list: () => views.list(), get: (id: string) => views.get(id), config: (id: string) => views.config(id) };
const proxies = new MeshProxyDirectory('here', local, () => others());

beforeAll(async () => {
  api = await apiHarness({ proxies });
});
afterAll(async () => api?.close());
beforeEach(async () => {
  xds = await harness();
  views = new ProxyViews(xds.status);
  others = async () => [];
});

const gatewayWithMetadata = {
  id: 'gw-1',
  cluster: 'edge',
  metadata: { role: 'gateway', service: 'ingress', namespace: 'infra' },
  locality: { region: 'eu-west', zone: 'eu-west-1a' },
  userAgentName: 'envoy',
};

/** Gateway `gw-1` on SotW (CDS ACKed, EDS NACKed) and proxyless `client-1` on Delta (CDS ACKed). */
async function connect() {
  const gw = xds.client();
  gw.send({ typeUrl: CDS, resourceNames: ['*'], node: gatewayWithMetadata as never });
  const cds = await gw.next();
  gw.ack(cds, ['*']);
  gw.send({ typeUrl: EDS, resourceNames: [greeterEds] });
  const eds = await gw.next();
  gw.send({ typeUrl: EDS, resourceNames: [greeterEds], responseNonce: eds.nonce, errorDetail: { code: 3, message: 'bad endpoint' } });
  const client = xds.delta();
  client.send({ typeUrl: CDS, resourceNamesSubscribe: ['*'], node: grpcNode('client-1') });
  const clientCds = await client.next();
  client.ack(clientCds);
  await client.silentFor(150);
  return { gw, client, cds, eds, clientCds };
}

describe('GET /api/v1/proxies', () => {
  it('is empty with no proxy connected', async () => {
    const res = await api.call('GET', '/api/v1/proxies');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ items: [], complete: true });
  });

  it('lists proxies sorted by node id with identity, streams and per-type versions', async () => {
    const { cds, eds } = await connect();
    const res = await api.call('GET', '/api/v1/proxies');
    expect(res.statusCode).toBe(200);
    const { items } = res.json();
    expect(items.map((p: { id: string }) => p.id)).toEqual(['client-1', 'gw-1']);
    const gw = items[1];
    expect(gw).toMatchObject({
      id: 'gw-1',
      role: 'gateway',
      cluster: 'edge',
      service: 'ingress',
      namespace: 'infra',
      region: 'eu-west',
      zone: 'eu-west-1a',
      userAgent: 'envoy',
      connectedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(gw.streams).toHaveLength(1);
    expect(gw.streams[0]).toMatchObject({ replica: 'test-cp', variant: 'sotw', id: expect.stringMatching(/^test-cp\//) });
    expect(Object.keys(gw.streams[0].types)).toEqual(['cds', 'eds']);
    expect(gw.streams[0].types.cds).toEqual({
      state: 'synced',
      sentVersion: cds.versionInfo,
      sentAt: expect.any(String),
      sentRevision: xds.cache.current.revision,
      ackedVersion: cds.versionInfo,
      ackedAt: expect.any(String),
      lastNack: null,
      resourceCount: 2,
    });
    expect(gw.streams[0].types.eds).toMatchObject({
      state: 'error',
      sentVersion: eds.versionInfo,
      ackedVersion: null,
      lastNack: { version: eds.versionInfo, errorDetail: 'bad endpoint', at: expect.any(String) },
    });
    expect(items[0]).toMatchObject({ id: 'client-1', role: 'grpc', service: null, region: null, zone: null, userAgent: null });
    expect(items[0].streams[0]).toMatchObject({ variant: 'delta', types: { cds: { state: 'synced' } } });
  });
});

describe('GET /api/v1/proxies/{id}', () => {
  it('returns the node with every stream it holds, oldest first', async () => {
    await connect();
    const again = xds.delta();
    again.send({ typeUrl: EDS, resourceNamesSubscribe: [greeterEds], node: gatewayWithMetadata as never });
    await again.next();
    const res = await api.call('GET', '/api/v1/proxies/gw-1');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.streams.map((s: { variant: string }) => s.variant)).toEqual(['sotw', 'delta']);
    expect(body.streams[1].types).toEqual({ eds: expect.objectContaining({ state: 'stale', ackedVersion: null, resourceCount: 1 }) });
    expect(body.connectedAt).toBe(body.streams[0].connectedAt);
  });

  it('finds node ids that need escaping in a URL', async () => {
    const c = xds.client();
    c.send({ typeUrl: CDS, resourceNames: ['*'], node: grpcNode('sidecar~10.0.0.1~web/1.shop') });
    await c.next();
    const res = await api.call('GET', `/api/v1/proxies/${encodeURIComponent('sidecar~10.0.0.1~web/1.shop')}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().id).toBe('sidecar~10.0.0.1~web/1.shop');
  });

  it('answers 404 problem+json for a proxy that is not connected', async () => {
    const body = expectProblem(await api.call('GET', '/api/v1/proxies/nobody'), 404, 'not-found');
    expect(body.detail).toMatch(/nobody/);
    expectProblem(await api.call('GET', '/api/v1/proxies/nobody/config'), 404, 'not-found');
  });

  it('forgets a proxy once its streams close', async () => {
    const { gw } = await connect();
    gw.close();
    await gw.silentFor(100);
    expectProblem(await api.call('GET', '/api/v1/proxies/gw-1'), 404, 'not-found');
  });
});

describe('GET /api/v1/proxies/{id}/config', () => {
  it('dumps what each stream was last sent, per type, as Envoy JSON with versions and states', async () => {
    const { eds } = await connect();
    const res = await api.call('GET', '/api/v1/proxies/gw-1/config');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.id).toBe('gw-1');
    const [stream] = body.streams;
    expect(stream).toMatchObject({ replica: 'test-cp', variant: 'sotw' });
    const clusters = stream.types.cds.resources;
    expect(clusters.map((r: { name: string }) => r.name)).toEqual(['billing.shop', 'greeter.default']);
    const greeter = xds.cache.current.resources.get(CDS)!.get('greeter.default')!;
    expect(clusters[1]).toMatchObject({
      name: 'greeter.default',
      version: greeter.version,
      state: 'synced',
      sentAt: expect.any(String),
      resource: { name: 'greeter.default', type: 'EDS', edsClusterConfig: { serviceName: greeterEds } },
    });
    expect(stream.types.eds).toMatchObject({
      version: eds.versionInfo,
      resources: [{ name: greeterEds, state: 'error', resource: eds.resources[0] }],
    });
  });
});

describe('proxies held by other replicas', () => {
  /** A proxy view as replica `replica` reported it. */
  const remoteView = (id: string, replica: string, connectedAt = '2026-01-01T00:00:00.000Z') => ({
    id,
    role: 'sidecar',
    cluster: 'web',
    service: 'web',
    namespace: 'shop',
    region: null,
    zone: null,
    userAgent: 'envoy',
    connectedAt,
    streams: [{ id: `${replica}/1`, replica, variant: 'delta', connectedAt, types: {} }],
  });
  const row = (id: string, apiUrl: string, proxies: unknown[]): ReplicaRow => ({ id, apiUrl, leader: false, startedAt: new Date(), seenAt: new Date(), proxies, telemetry: {} });

  /** A stand-in for another replica's API: answers config dumps, counting the requests and their forwarding header. */
  async function replicaApi(answer: (id: string) => { status: number; body?: unknown }) {
    const seen: { url: string; forwardedBy?: string }[] = [];
    const server = createServer((req, res) => {
      seen.push({ url: req.url!, forwardedBy: req.headers['x-apg-forwarded-by'] as string | undefined });
      const id = decodeURIComponent(req.url!.split('/')[4]!);
      const { status, body } = answer(id);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? {}));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  it('lists every replica’s proxies with the replica holding each stream, merged by node id', async () => {
    await connect();
    others = async () => [row('b', 'http://b', [remoteView('web-1', 'b'), remoteView('gw-1', 'b', '2099-01-01T00:00:00.000Z')])];
    const body = (await api.call('GET', '/api/v1/proxies')).json();
    expect(body.complete).toBe(true);
    expect(body.items.map((p: { id: string }) => p.id)).toEqual(['client-1', 'gw-1', 'web-1']);
    const gw = body.items[1];
    expect(gw.streams.map((s: { replica: string }) => s.replica)).toEqual(['test-cp', 'b']); // the older connection first
    expect(body.items[2]).toMatchObject({ id: 'web-1', streams: [{ replica: 'b' }] });
    const one = (await api.call('GET', '/api/v1/proxies/web-1')).json();
    expect(one).toMatchObject({ id: 'web-1', service: 'web', streams: [{ replica: 'b', variant: 'delta' }] });
  });

  it('lists this replica’s proxies, marked incomplete, when the others cannot be read', async () => {
    await connect();
    others = async () => {
      throw new Error('connection refused');
    };
    const body = (await api.call('GET', '/api/v1/proxies')).json();
    expect(body).toMatchObject({ complete: false });
    expect(body.items.map((p: { id: string }) => p.id)).toEqual(['client-1', 'gw-1']);
    expect((await api.call('GET', '/api/v1/proxies/gw-1')).statusCode).toBe(200);
  });

  it('forwards a config dump to the replica holding the proxy, marked so it is not forwarded again', async () => {
    const dump = { id: 'web-1', streams: [{ id: 'b/1', replica: 'b', variant: 'delta', types: {} }] };
    const b = await replicaApi((id) => (id === 'web-1' ? { status: 200, body: dump } : { status: 404 }));
    try {
      others = async () => [row('b', `${b.url}/`, [remoteView('web-1', 'b'), remoteView('gone-1', 'b')])];
      const res = await api.call('GET', '/api/v1/proxies/web-1/config');
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual(dump);
      expect(b.seen).toEqual([{ url: '/api/v1/proxies/web-1/config', forwardedBy: 'here' }]);
      // it disconnected from b since b's last report
      expectProblem(await api.call('GET', '/api/v1/proxies/gone-1/config'), 404, 'not-found');
      // a forwarded request is answered from this replica only
      const forwarded = await api.app.inject({ method: 'GET', url: '/api/v1/proxies/web-1/config', headers: { 'x-apg-forwarded-by': 'c' } });
      expectProblem(forwarded, 404, 'not-found');
      expect(b.seen).toHaveLength(2);
    } finally {
      await b.close();
    }
  });

  it('answers 502 problem+json naming the replica when the holder does not answer', async () => {
    const b = await replicaApi(() => ({ status: 500 }));
    await b.close(); // nothing listens there any more
    others = async () => [row('b', b.url, [remoteView('web-1', 'b')])];
    const body = expectProblem(await api.call('GET', '/api/v1/proxies/web-1/config'), 502, 'replica-unreachable');
    expect(body.detail).toMatch(/replica "b"/);
    const failing = await replicaApi(() => ({ status: 500 }));
    try {
      others = async () => [row('b', failing.url, [remoteView('web-1', 'b')])];
      expect(expectProblem(await api.call('GET', '/api/v1/proxies/web-1/config'), 502, 'replica-unreachable').detail).toMatch(/HTTP 500/);
    } finally {
      await failing.close();
    }
  });
});
