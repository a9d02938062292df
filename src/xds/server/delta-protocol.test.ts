/**
 * The xDS protocol rules of shared/XDS-PROTOCOL.md for incremental (Delta) xDS, one named test
 * each, driven over real gRPC against the real server.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { TYPE_URLS } from '../../protos/type-urls.ts';
import type { DeltaClient } from '../../../test/support/ads-client.ts';
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

/** Subscribes (the first request of its type carries the node) and returns the ACKed answer. */
async function open(c: DeltaClient, typeUrl: string, subscribe: string[], node: object = grpcNode()) {
  c.send({ typeUrl, resourceNamesSubscribe: subscribe, node: node as never });
  const r = await c.next();
  c.ack(r);
  return r;
}

describe('transport', () => {
  it('T1: Delta ADS and the per-type Delta services are served', async () => {
    const cds = h.delta('/envoy.service.cluster.v3.ClusterDiscoveryService/DeltaClusters');
    cds.send({ node: grpcNode(), resourceNamesSubscribe: ['*'] });
    expect((await cds.next()).names).toEqual(['billing.shop', 'greeter.default']);
    expect(h.status.list()[0]?.variant).toBe('delta');
  });

  it('T2: a Delta ADS request with an empty type_url ends the stream with INVALID_ARGUMENT', async () => {
    const c = h.delta();
    c.send({ node: grpcNode(), resourceNamesSubscribe: ['x'] });
    expect((await c.ended()).code).toBe(3);
  });

  it('T4/T5: every response has a fresh nonce, its type, resource versions, and the replica name', async () => {
    const c = h.delta();
    const a = await open(c, CDS, ['*']);
    const b = await open(c, LDS, ['greeter.default']);
    expect(a.nonce).not.toBe(b.nonce);
    expect(b.typeUrl).toBe(LDS);
    expect(Object.keys(b.versions)).toEqual(['greeter.default']);
    expect(a.controlPlane).toBe('test-cp');
  });
});

describe('subscriptions', () => {
  it('S1: subscribe and unsubscribe change the subscription; nothing else is sent', async () => {
    const c = h.delta();
    expect((await open(c, EDS, [greeterEds])).names).toEqual([greeterEds]);
    c.send({ typeUrl: EDS, resourceNamesSubscribe: [billingEds] });
    const added = await c.next();
    expect(added.names).toEqual([billingEds]); // only the new one, not the whole set
    c.ack(added);
    c.send({ typeUrl: EDS, resourceNamesUnsubscribe: [greeterEds] });
    expect(await c.silentFor(200)).toBe(true);
    h.publish([greeterAt('10.0.0.8'), billing]);
    expect(await c.silentFor(300)).toBe(true); // no longer watched
  });

  it('S2: "*" and the legacy empty first request are wildcard subscriptions', async () => {
    const star = await open(h.delta(), CDS, ['*']);
    const legacy = await open(h.delta(), CDS, [], grpcNode('legacy'));
    expect(star.names).toEqual(['billing.shop', 'greeter.default']);
    expect(legacy.names).toEqual(star.names);
  });

  it('S2: unsubscribing "*" ends the wildcard; later services are not sent', async () => {
    const c = h.delta();
    await open(c, CDS, ['*']);
    c.send({ typeUrl: CDS, resourceNamesUnsubscribe: ['*'] });
    await c.silentFor(200);
    h.publish([greeter, billing, service({ name: 'orders', port: 9000 })]);
    expect(await c.silentFor(300)).toBe(true);
  });

  it('S3/G2: every subscribed name is answered; one that does not exist comes back in removed_resources', async () => {
    const c = h.delta();
    const r = await open(c, LDS, ['greeter.default', 'ghost.default']);
    expect(r.names).toEqual(['greeter.default']);
    expect(r.removed).toEqual(['ghost.default']);
  });

  it('S4: a name that does not exist is remembered and sent when it appears', async () => {
    const c = h.delta();
    await open(c, LDS, ['orders.default:9000']);
    h.publish([greeter, billing, service({ name: 'orders', port: 9000 })]);
    expect((await c.next()).names).toEqual(['orders.default:9000']);
  });

  it('S5: unsubscribing an unknown name is ignored; with a wildcard, an unsubscribed name is sent again', async () => {
    const c = h.delta();
    await open(c, CDS, ['*', 'greeter.default']);
    c.send({ typeUrl: CDS, resourceNamesUnsubscribe: ['never-subscribed'] });
    expect(await c.silentFor(200)).toBe(true);
    c.send({ typeUrl: CDS, resourceNamesUnsubscribe: ['greeter.default'] });
    expect((await c.next()).names).toEqual(['greeter.default']);
  });
});

describe('versions, ACK and NACK', () => {
  it('V3/V4: a NACK is recorded and the rejected resource is not re-sent until it changes', async () => {
    const c = h.delta();
    c.send({ typeUrl: EDS, resourceNamesSubscribe: [greeterEds], node: grpcNode() });
    const r = await c.next();
    c.send({ typeUrl: EDS, responseNonce: r.nonce, errorDetail: { code: 3, message: 'bad assignment' } });
    await c.silentFor(200);
    expect(h.status.list()[0]?.types.eds?.lastNack?.errorDetail).toBe('bad assignment');
    h.publish([greeter, { ...billing, port: 8081 }]); // unrelated change: greeter's assignment is not re-sent
    expect(await c.silentFor(300)).toBe(true);
    h.publish([greeterAt('10.0.0.9'), billing]);
    expect((await c.next()).names).toEqual([greeterEds]);
  });

  it('V6/G2: only changed resources are sent, and deletions go in removed_resources', async () => {
    const c = h.delta();
    await open(c, CDS, ['*']);
    h.publish([{ ...greeter, protocol: 'http' }, billing]);
    const changed = await c.next();
    expect(changed.names).toEqual(['greeter.default']);
    expect(changed.removed).toEqual([]);
    c.ack(changed);
    h.publish([{ ...greeter, protocol: 'http' }]);
    const removed = await c.next();
    expect(removed.names).toEqual([]);
    expect(removed.removed).toEqual(['billing.shop']);
  });

  it('G3: a reconnect with initial_resource_versions gets only what differs, and removals', async () => {
    const first = h.delta();
    const r = await open(first, CDS, ['*']);
    first.close();
    h.publish([{ ...greeter, protocol: 'http' }, service({ name: 'orders', port: 9000 })]);
    const again = h.delta();
    again.send({ typeUrl: CDS, resourceNamesSubscribe: ['*'], initialResourceVersions: r.versions, node: grpcNode() });
    const diff = await again.next();
    expect(diff.names).toEqual(['greeter.default', 'orders.default']);
    expect(diff.removed).toEqual(['billing.shop']);
  });

  it('G3: a reconnect that holds exactly the current state gets an empty answer (G4) and nothing more', async () => {
    const r = await open(h.delta(), CDS, ['*']);
    const again = h.delta();
    again.send({ typeUrl: CDS, resourceNamesSubscribe: ['*'], initialResourceVersions: r.versions, node: grpcNode('again') });
    const answer = await again.next();
    expect(answer.names).toEqual([]);
    expect(answer.removed).toEqual([]);
  });

  it('G4: the first wildcard request is answered even when there is nothing to send', async () => {
    const empty = await harness([]);
    const c = empty.delta();
    c.send({ typeUrl: CDS, resourceNamesSubscribe: ['*'], node: grpcNode() });
    const r = await c.next();
    expect(r.names).toEqual([]);
  });
});

describe('ordering', () => {
  it('O1: a new service reaches a gateway as cluster, endpoints, then route; a removed one leaves route first, cluster last', async () => {
    const c = h.delta();
    await open(c, CDS, ['*'], gatewayNode);
    await open(c, RDS, ['gateway']);
    const orders = service({ name: 'orders', protocol: 'http', port: 9000, endpoints: [endpoint({ address: '10.0.0.5', port: 9000 })] });
    h.publish([greeter, billing, orders]);
    const order = [await c.next(), await c.next()];
    expect(order.map((r) => r.typeUrl)).toEqual([CDS, RDS]);
    for (const r of order) c.ack(r);
    h.publish([greeter, billing]);
    const removal = [await c.next(), await c.next()];
    expect(removal.map((r) => r.typeUrl)).toEqual([RDS, CDS]);
    expect(removal[1]?.removed).toEqual(['orders.default']);
  });

  it('O2: after a cluster changes, its EDS resource is sent again even though the endpoints did not change', async () => {
    const c = h.delta();
    await open(c, CDS, ['*']);
    await open(c, EDS, [greeterEds]);
    h.publish([{ ...greeter, protocol: 'http' }, billing]);
    const cds = await c.next();
    const eds = await c.next();
    expect([cds.typeUrl, eds.typeUrl]).toEqual([CDS, EDS]);
    expect(eds.names).toEqual([greeterEds]);
  });
});
