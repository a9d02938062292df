/**
 * The xDS protocol rules of shared/XDS-PROTOCOL.md, one named test each, driven over real gRPC
 * against the real server with a small ADS client (state of the world).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { TYPE_URLS } from '../../protos/type-urls.ts';
import { AdsClient } from '../../../test/support/ads-client.ts';
import { endpoint, service } from '../../../test/support/mesh-fixtures.ts';
import {
  billing,
  billingEds,
  cleanUpHarnesses,
  gatewayNode,
  greeter,
  greeterAt,
  greeterEds,
  grpcNode,
  harness,
  type Harness,
} from '../../../test/support/xds-harness.ts';

const { cluster: CDS, endpoint: EDS, listener: LDS, route: RDS } = TYPE_URLS;

cleanUpHarnesses();
let h: Harness;
beforeEach(async () => {
  h = await harness();
});

/** Opens a subscription and returns the first response, already ACKed. */
async function subscribe(c: AdsClient, typeUrl: string, resourceNames: string[], node: object = grpcNode()) {
  c.send({ typeUrl, resourceNames, node: node as never });
  const r = await c.next();
  c.ack(r, resourceNames);
  return r;
}

describe('transport and streams', () => {
  it('T2: an ADS request with an empty type_url ends the stream with INVALID_ARGUMENT', async () => {
    const c = h.client();
    c.send({ typeUrl: '', node: grpcNode() });
    const s = await c.ended();
    expect(s.code).toBe(3);
    expect(s.details).toMatch(/type_url/);
  });

  it('T3: the node of the first request is remembered for later requests without one', async () => {
    const c = h.client();
    await subscribe(c, LDS, ['greeter.default:50051']);
    c.send({ typeUrl: CDS, resourceNames: ['greeter.default'] });
    const r = await c.next();
    expect(r.names).toEqual(['greeter.default']);
    expect(h.status.list()[0]?.proxy).toMatchObject({ id: 'client-1', role: 'grpc' });
  });

  it('T3: a first request without node is refused with INVALID_ARGUMENT naming node', async () => {
    const c = h.client();
    c.send({ typeUrl: CDS, resourceNames: [] });
    const s = await c.ended();
    expect(s.code).toBe(3);
    expect(s.details).toMatch(/node/);
  });

  it('T3: a node with an unknown role is refused naming node.metadata.role', async () => {
    const c = h.client();
    c.send({ typeUrl: CDS, node: { id: 'x', metadata: { role: 'mainframe' } } });
    expect((await c.ended()).details).toMatch(/node\.metadata\.role/);
  });

  it('T4: every response carries a fresh nonce, unique across streams', async () => {
    const a = h.client();
    const b = h.client();
    const ra = await subscribe(a, CDS, ['*']);
    const rb = await subscribe(b, CDS, ['*']);
    a.send({ typeUrl: LDS, resourceNames: ['greeter.default'] });
    const ra2 = await a.next();
    expect(new Set([ra.nonce, rb.nonce, ra2.nonce]).size).toBe(3);
  });

  it('T5: the response type_url matches its resources and never repeats a name', async () => {
    const c = h.client();
    const r = await subscribe(c, CDS, ['*', 'greeter.default']);
    expect(r.typeUrl).toBe(CDS);
    expect(r.names).toEqual(['billing.shop', 'greeter.default']);
    expect(new Set(r.names).size).toBe(r.names.length);
  });

  it('T5: responses name the replica that sent them (control_plane)', async () => {
    const r = await subscribe(h.client(), CDS, ['*']);
    expect(r.controlPlane).toBe('test-cp');
  });
});

describe('versions, ACK and NACK', () => {
  it('V1: the type version changes when a subscribed resource changes, and not otherwise', async () => {
    const c = h.client();
    const first = await subscribe(c, CDS, ['*']);
    h.publish([greeter, { ...billing, endpoints: [endpoint({ address: '10.0.0.9' })] }]); // EDS-only change
    expect(await c.silentFor(300)).toBe(true);
    h.publish([{ ...greeter, protocol: 'http' }, billing]);
    const second = await c.next();
    expect(second.versionInfo).not.toBe(first.versionInfo);
  });

  it('V2: an ACK is recorded as the accepted version and answered with nothing', async () => {
    const c = h.client();
    const r = await subscribe(c, CDS, ['*']);
    expect(await c.silentFor(300)).toBe(true);
    const s = h.status.list()[0]!;
    expect(s.types.cds).toMatchObject({ sentVersion: r.versionInfo, ackedVersion: r.versionInfo });
  });

  it('V3/V4: a NACK is recorded with its error_detail and the rejected version is not re-sent', async () => {
    const c = h.client();
    c.send({ typeUrl: CDS, resourceNames: ['*'], node: grpcNode() });
    const r = await c.next();
    c.send({ typeUrl: CDS, resourceNames: ['*'], versionInfo: '', responseNonce: r.nonce, errorDetail: { code: 3, message: 'bad cluster' } });
    expect(await c.silentFor(300)).toBe(true);
    const s = h.status.list()[0]!;
    expect(s.types.cds?.lastNack).toMatchObject({ version: r.versionInfo, errorDetail: 'bad cluster' });
    expect(await h.metrics.getSingleMetricAsString('apg_xds_nacks_total')).toMatch(/type="cds"} 1/);
    h.publish([greeter]); // a new version is sent again
    const next = await c.next();
    expect(next.versionInfo).not.toBe(r.versionInfo);
    expect(next.names).toEqual(['greeter.default']);
  });

  it('V3: a NACK is detected by error_detail even when version_info equals the sent version', async () => {
    const c = h.client();
    c.send({ typeUrl: CDS, resourceNames: ['*'], node: grpcNode() });
    const r = await c.next();
    c.send({ typeUrl: CDS, resourceNames: ['*'], versionInfo: r.versionInfo, responseNonce: r.nonce, errorDetail: { code: 13, message: 'nope' } });
    await c.silentFor(200);
    expect(h.status.list()[0]?.types.cds?.lastNack?.errorDetail).toBe('nope');
    expect(h.status.list()[0]?.types.cds?.ackedVersion).toBeUndefined();
  });

  it('V5: a request with a stale nonce gets no response, even when it changes the subscription', async () => {
    const c = h.client();
    const r1 = await subscribe(c, EDS, [greeterEds]);
    h.publish([greeterAt('10.0.0.7'), billing]);
    const r2 = await c.next();
    c.send({ typeUrl: EDS, resourceNames: [greeterEds, billingEds], versionInfo: r1.versionInfo, responseNonce: r1.nonce });
    expect(await c.silentFor(300)).toBe(true);
    c.send({ typeUrl: EDS, resourceNames: [greeterEds, billingEds], versionInfo: r2.versionInfo, responseNonce: r2.nonce });
    expect((await c.next()).names).toContain(billingEds);
  });

  it('V5: a garbage nonce is treated as stale and ignored; the stream keeps serving', async () => {
    const c = h.client();
    await subscribe(c, CDS, ['*']);
    c.send({ typeUrl: CDS, resourceNames: ['*'], responseNonce: '\u0000garbage' });
    expect(await c.silentFor(200)).toBe(true);
    c.send({ typeUrl: LDS, resourceNames: ['greeter.default'] });
    expect((await c.next()).names).toEqual(['greeter.default']);
  });

  it('V6: EDS pushes carry only the changed load assignments, and none to clients that do not watch them', async () => {
    const c = h.client();
    await subscribe(c, EDS, [greeterEds, billingEds]);
    const other = h.client();
    await subscribe(other, EDS, [billingEds], grpcNode('client-2'));
    h.publish([greeterAt('10.0.0.3'), billing]);
    const r = await c.next();
    expect(r.names).toEqual([greeterEds]);
    expect(await other.silentFor(300)).toBe(true);
  });

  it('V7: versions are content hashes: a second server with the same content sends the same versions', async () => {
    const other = await harness();
    const a = await subscribe(h.client(), CDS, ['*']);
    const b = await subscribe(other.client(), CDS, ['*']);
    expect(b.versionInfo).toBe(a.versionInfo);
  });

  it('V7: a reconnecting client that holds the current version is not sent it again; an outdated one is', async () => {
    const r = await subscribe(h.client(), CDS, ['*']);
    const current = h.client();
    current.send({ typeUrl: CDS, resourceNames: ['*'], versionInfo: r.versionInfo, node: grpcNode('again') });
    expect(await current.silentFor(300)).toBe(true);
    const again = h.status.list().find((s) => s.proxy?.id === 'again');
    expect(again?.types.cds).toMatchObject({ sentVersion: r.versionInfo, ackedVersion: r.versionInfo }); // shown as held and accepted
    h.publish([greeter]);
    expect((await current.next()).names).toEqual(['greeter.default']);
    const outdated = h.client();
    outdated.send({ typeUrl: CDS, resourceNames: ['*'], versionInfo: r.versionInfo, node: grpcNode('old') });
    expect((await outdated.next()).names).toEqual(['greeter.default']);
  });
});

describe('subscriptions', () => {
  it('S1: a SotW request replaces the whole subscription', async () => {
    const c = h.client();
    const r = await subscribe(c, EDS, [greeterEds, billingEds]);
    c.send({ typeUrl: EDS, resourceNames: [billingEds], versionInfo: r.versionInfo, responseNonce: r.nonce });
    await c.silentFor(200);
    h.publish([greeterAt('10.0.0.4'), billing]);
    expect(await c.silentFor(300)).toBe(true);
  });

  it('S2: "*" and the legacy empty list subscribe to every cluster the role may see', async () => {
    const star = await subscribe(h.client(), CDS, ['*']);
    const legacy = await subscribe(h.client(), CDS, [], grpcNode('legacy'));
    expect(star.names).toEqual(['billing.shop', 'greeter.default']);
    expect(legacy.names).toEqual(star.names);
  });

  it('S2: once names were sent, an empty list means nothing', async () => {
    const c = h.client();
    const r = await subscribe(c, LDS, ['greeter.default']);
    c.send({ typeUrl: LDS, resourceNames: [], versionInfo: r.versionInfo, responseNonce: r.nonce });
    const empty = await c.next();
    expect(empty.names).toEqual([]);
  });

  it('S2: wildcard listeners are scoped by role (gateway gets the gateway listener, grpc the API listeners)', async () => {
    const gw = await subscribe(h.client(), LDS, ['*'], gatewayNode);
    const grpc = await subscribe(h.client(), LDS, ['*']);
    expect(gw.names).toEqual(['gateway']);
    expect(grpc.names).toEqual(['billing.shop', 'billing.shop:8080', 'greeter.default', 'greeter.default:50051']);
  });

  it('S3: newly requested names are always sent, even if sent before', async () => {
    const c = h.client();
    const r1 = await subscribe(c, EDS, [greeterEds]);
    c.send({ typeUrl: EDS, resourceNames: [], versionInfo: r1.versionInfo, responseNonce: r1.nonce });
    expect(await c.silentFor(200)).toBe(true); // nothing to say about an emptied EDS subscription
    c.send({ typeUrl: EDS, resourceNames: [greeterEds], versionInfo: r1.versionInfo, responseNonce: r1.nonce });
    const again = await c.next();
    expect(again.names).toEqual([greeterEds]);
    expect(again.versionInfo).toBe(r1.versionInfo);
  });

  it('S4: a requested name that does not exist is remembered and sent when it appears', async () => {
    const c = h.client();
    const r = await subscribe(c, LDS, ['orders.default:9000']);
    expect(r.names).toEqual([]);
    h.publish([greeter, billing, service({ name: 'orders', port: 9000 })]);
    expect((await c.next()).names).toEqual(['orders.default:9000']);
  });
});

describe('grouping and deletion', () => {
  it('G1: CDS responses carry the full state; a removed cluster is missing from the next one', async () => {
    const c = h.client();
    await subscribe(c, CDS, ['*']);
    h.publish([greeter]);
    expect((await c.next()).names).toEqual(['greeter.default']);
  });
});

describe('ordering', () => {
  it('O1/O3: a new service reaches a gateway as cluster, then endpoints, then route', async () => {
    const c = h.client();
    for (const [typeUrl, names] of [[CDS, ['*']], [EDS, [billingEds, greeterEds]], [LDS, ['*']], [RDS, ['gateway']]] as const) {
      await subscribe(c, typeUrl, [...names], gatewayNode);
    }
    h.publish([greeter, billing, service({ name: 'orders', protocol: 'http', port: 9000, endpoints: [endpoint({ address: '10.0.0.5', port: 9000 })] })]);
    const cds = await c.next();
    c.ack(cds, ['*']);
    const rds = await c.next();
    expect([cds.typeUrl, rds.typeUrl]).toEqual([CDS, RDS]);
    expect(cds.names).toContain('orders.default');
  });

  it('O1: a removed cluster stays until the route that used it is gone (make before break)', async () => {
    const c = h.client();
    for (const [typeUrl, names] of [[CDS, ['*']], [RDS, ['gateway']]] as const) await subscribe(c, typeUrl, [...names], gatewayNode);
    h.publish([greeter]);
    const rds = await c.next();
    const cds = await c.next();
    expect(rds.typeUrl).toBe(RDS);
    expect(JSON.stringify(rds.resources)).not.toContain('billing.shop');
    expect(cds.typeUrl).toBe(CDS);
    expect(cds.names).toEqual(['greeter.default']);
  });

  it('O2: after a cluster changes, its EDS resource is sent again even though the endpoints did not change', async () => {
    const c = h.client();
    await subscribe(c, CDS, ['*']);
    const eds = await subscribe(c, EDS, [greeterEds, billingEds]);
    h.publish([{ ...greeter, protocol: 'http' }, billing]); // drops the HTTP/2 upstream options
    const cds = await c.next();
    const again = await c.next();
    expect(cds.typeUrl).toBe(CDS);
    expect(again.typeUrl).toBe(EDS);
    expect(again.names).toEqual([greeterEds]);
    expect(again.versionInfo).toBe(eds.versionInfo);
  });
});

describe('hostile and malformed input', () => {
  it('undecodable bytes end the stream with INVALID_ARGUMENT; other streams keep working', async () => {
    const ok = h.client();
    await subscribe(ok, CDS, ['*']);
    const bad = h.client();
    bad.sendRaw(Buffer.from([0xff, 0xff, 0xff])); // not a protobuf message
    const s = await bad.ended();
    expect(s.code).toBe(3);
    expect(s.details).toMatch(/could not be decoded/);
    h.publish([greeter]);
    expect((await ok.next()).names).toEqual(['greeter.default']);
  });

  it('a malformed type URL ends the stream; a well-formed unknown one is ignored', async () => {
    const c = h.client();
    c.send({ typeUrl: 'type.googleapis.com/envoy.service.runtime.v3.Runtime', node: grpcNode() });
    expect(await c.silentFor(200)).toBe(true);
    c.send({ typeUrl: CDS, resourceNames: ['*'] });
    expect((await c.next()).typeUrl).toBe(CDS);
    const bad = h.client();
    bad.send({ typeUrl: 'not a type url', node: grpcNode() });
    expect((await bad.ended()).code).toBe(3);
  });

  it('a huge resource name list is refused naming resource_names', async () => {
    const c = h.client();
    c.send({ typeUrl: EDS, node: grpcNode(), resourceNames: Array.from({ length: 100_001 }, (_, i) => `n${i}`) });
    const s = await c.ended(10_000);
    expect(s.code).toBe(3);
    expect(s.details).toMatch(/resource_names/);
  });

  it('a per-type service answers requests that omit the type URL and refuses other types', async () => {
    const cds = h.client('/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters');
    cds.send({ node: grpcNode(), resourceNames: [] });
    expect((await cds.next()).names).toEqual(['billing.shop', 'greeter.default']);
    cds.send({ typeUrl: LDS });
    expect((await cds.ended()).code).toBe(3);
  });

  it('closed streams are forgotten by the proxy status', async () => {
    const c = h.client();
    await subscribe(c, CDS, ['*']);
    expect(h.status.list()).toHaveLength(1);
    c.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(h.status.list()).toHaveLength(0);
  });
});
