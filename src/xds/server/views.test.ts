/** Per-proxy views over real gRPC: what each role (and each service's sidecars) receives, in both variants. */
import { beforeEach, describe, expect, it } from 'vitest';
import { TYPE_URLS } from '../../protos/type-urls.ts';
import { billing, cleanUpHarnesses, gatewayNode, greeter, grpcNode, harness, type Harness } from '../../../test/support/xds-harness.ts';

const { cluster: CDS, listener: LDS } = TYPE_URLS;
const sidecarOf = (service: string, namespace: string, id = `${service}-sidecar`) => ({ id, metadata: { role: 'sidecar', service, namespace } });

cleanUpHarnesses();
let h: Harness;
beforeEach(async () => {
  h = await harness();
});

describe('per-proxy views', () => {
  it('a sidecar gets the shared outbound listeners and only its own service inbound listener (SotW)', async () => {
    const c = h.client();
    c.send({ typeUrl: LDS, resourceNames: ['*'], node: sidecarOf('greeter', 'default') });
    expect((await c.next()).names).toEqual(['inbound:greeter.default', 'outbound:50051', 'outbound:8080', 'virtualOutbound']);
    const other = h.client();
    other.send({ typeUrl: LDS, resourceNames: ['*'], node: sidecarOf('billing', 'shop') });
    expect((await other.next()).names).toEqual(['inbound:billing.shop', 'outbound:50051', 'outbound:8080', 'virtualOutbound']);
  });

  it('a sidecar gets every service cluster plus pass-through and its own inbound cluster (Delta)', async () => {
    const c = h.delta();
    c.send({ typeUrl: CDS, resourceNamesSubscribe: ['*'], node: sidecarOf('billing', 'shop') });
    expect((await c.next()).names).toEqual(['PassthroughCluster', 'billing.shop', 'greeter.default', 'inbound:billing.shop']);
  });

  it("a sidecar cannot fetch another service's inbound listener by name", async () => {
    const c = h.client();
    c.send({ typeUrl: LDS, resourceNames: ['inbound:billing.shop', 'inbound:greeter.default'], node: sidecarOf('greeter', 'default') });
    expect((await c.next()).names).toEqual(['inbound:greeter.default']);
  });

  it('a sidecar without a service gets only the shared resources', async () => {
    const c = h.client();
    c.send({ typeUrl: LDS, resourceNames: ['*'], node: { id: 'anon', metadata: { role: 'sidecar' } } });
    expect((await c.next()).names).toEqual(['outbound:50051', 'outbound:8080', 'virtualOutbound']);
  });

  it('gateways and proxyless clients see none of the sidecar resources', async () => {
    const gw = h.client();
    gw.send({ typeUrl: CDS, resourceNames: ['*'], node: gatewayNode });
    expect((await gw.next()).names).toEqual(['billing.shop', 'greeter.default']);
    const grpc = h.client();
    grpc.send({ typeUrl: LDS, resourceNames: ['*'], node: grpcNode() });
    expect((await grpc.next()).names.some((n) => n.includes('bound'))).toBe(false);
  });

  it("a change to one service's inbound side reaches only that service's sidecars", async () => {
    const greeterSide = h.client();
    greeterSide.send({ typeUrl: LDS, resourceNames: ['*'], node: sidecarOf('greeter', 'default') });
    const first = await greeterSide.next();
    greeterSide.ack(first, ['*']);
    const billingSide = h.client();
    billingSide.send({ typeUrl: LDS, resourceNames: ['inbound:billing.shop'], node: sidecarOf('billing', 'shop') });
    billingSide.ack(await billingSide.next(), ['inbound:billing.shop']);
    h.publish([{ ...greeter, protocol: 'tcp' }, billing]); // greeter's inbound listener becomes a TCP proxy
    const update = await greeterSide.next();
    expect(update.names).toContain('inbound:greeter.default');
    expect(await billingSide.silentFor(300)).toBe(true);
  });
});
