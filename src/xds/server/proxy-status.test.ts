/**
 * Proxy status and xDS metrics, fed by the real server and real ADS clients: what each stream holds
 * (references into the cache), its sync state, and the stream, push, NACK and convergence metrics.
 */
import type { Registry } from 'prom-client';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_MESH_SETTINGS, type Service } from '../../model/mesh.ts';
import { TYPE_URLS } from '../../protos/type-urls.ts';
import { meshOf } from '../../../test/support/mesh-fixtures.ts';
import {
  billing,
  billingEds,
  cleanUpHarnesses,
  greeter,
  greeterAt,
  greeterEds,
  grpcNode,
  harness,
  type Harness,
} from '../../../test/support/xds-harness.ts';
import { ResourceEncoder } from '../cache/resource.ts';
import { passGate } from '../publish-gate.ts';
import { buildResources } from '../resources/index.ts';
import type { ProxyStatus } from './proxy-status.ts';

const { cluster: CDS, endpoint: EDS, listener: LDS } = TYPE_URLS;

cleanUpHarnesses();
let h: Harness;
beforeEach(async () => {
  h = await harness();
});

let revision = 1000;
const encoder = new ResourceEncoder();
/** Publishes `services` as a snapshot whose registry write committed at `committedAt`. */
function publishCommitted(services: Service[], committedAt = new Date()) {
  const mesh = meshOf(services, ++revision);
  const { snapshot } = passGate(buildResources(mesh, DEFAULT_MESH_SETTINGS), encoder, h.cache.current, mesh.revision);
  h.cache.publish({ ...snapshot, committedAt });
}

/** The summed value of a metric's samples (`name` with its histogram suffix) whose labels include `labels`. */
async function sample(metrics: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  let total = 0;
  for (const m of await metrics.getMetricsAsJSON()) {
    for (const v of m.values) {
      const sampleName = (v as { metricName?: string }).metricName ?? m.name;
      if (sampleName === name && Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l)) total += v.value;
    }
  }
  return total;
}

const stream = (i = 0): ProxyStatus => h.status.list()[i]!;
const heldNames = (s: ProxyStatus, type: string) => s.types[type]!.held.list().map((r) => r.resource.name);

describe('what each stream holds', () => {
  it('keeps references to the shared cached resources, not copies', async () => {
    const c = h.client();
    c.send({ typeUrl: CDS, resourceNames: ['*'], node: grpcNode() });
    await c.next();
    const held = stream().types.cds!.held.list();
    expect(held.map((r) => r.resource.name)).toEqual(['billing.shop', 'greeter.default']);
    for (const r of held) expect(r.resource).toBe(h.cache.current.resources.get(CDS)!.get(r.resource.name));
  });

  it('a SotW full-state response replaces what was held; other SotW types merge by name', async () => {
    const c = h.client();
    c.send({ typeUrl: CDS, resourceNames: ['*'], node: grpcNode() });
    c.ack(await c.next(), ['*']);
    c.send({ typeUrl: EDS, resourceNames: [greeterEds, billingEds] });
    c.ack(await c.next(), [greeterEds, billingEds]);
    h.publish([greeterAt('10.0.0.8')]); // billing goes: CDS drops it, EDS only sends greeter's new assignment
    const eds = await c.next();
    expect(eds.names).toEqual([greeterEds]);
    await vi.waitFor(() => expect(heldNames(stream(), 'cds')).toEqual(['greeter.default']));
    expect(heldNames(stream(), 'eds')).toEqual([billingEds, greeterEds]);
    const greeterHeld = stream().types.eds!.held.list().find((r) => r.resource.name === greeterEds)!;
    expect(greeterHeld.response.nonce).toBe(eds.nonce);
  });

  it('a Delta response adds by name and drops its removed_resources', async () => {
    const c = h.delta();
    c.send({ typeUrl: LDS, resourceNamesSubscribe: ['greeter.default', 'billing.shop:8080'], node: grpcNode() });
    c.ack(await c.next());
    expect(heldNames(stream(), 'lds')).toEqual(['billing.shop:8080', 'greeter.default']);
    h.publish([billing]);
    const r = await c.next();
    expect(r.removed).toContain('greeter.default');
    expect(heldNames(stream(), 'lds')).toEqual(['billing.shop:8080']);
  });

  it('a SotW request that stops naming a resource drops it from what the stream holds', async () => {
    const c = h.client();
    c.send({ typeUrl: EDS, resourceNames: [greeterEds, billingEds], node: grpcNode() });
    c.ack(await c.next(), [greeterEds, billingEds]);
    expect(heldNames(stream(), 'eds')).toEqual([billingEds, greeterEds]);
    c.send({ typeUrl: EDS, resourceNames: [greeterEds], versionInfo: stream().types.eds!.sentVersion, responseNonce: stream().types.eds!.sentNonce });
    await vi.waitFor(() => expect(heldNames(stream(), 'eds')).toEqual([greeterEds]));
  });

  it('a Delta unsubscribe drops the name from what the stream holds; the others stay', async () => {
    const c = h.delta();
    c.send({ typeUrl: LDS, resourceNamesSubscribe: ['greeter.default', 'billing.shop:8080'], node: grpcNode() });
    c.ack(await c.next());
    c.send({ typeUrl: LDS, resourceNamesUnsubscribe: ['greeter.default', 'never-subscribed'] });
    await vi.waitFor(() => expect(heldNames(stream(), 'lds')).toEqual(['billing.shop:8080']));
    // a full-state CDS held as a whole is split into names before one is forgotten
    c.send({ typeUrl: CDS, resourceNamesSubscribe: ['greeter.default', 'billing.shop'] });
    c.ack(await c.next());
    c.send({ typeUrl: CDS, resourceNamesUnsubscribe: ['billing.shop'] });
    await vi.waitFor(() => expect(heldNames(stream(), 'cds')).toEqual(['greeter.default']));
  });

  it('a resource is stale until ACKed, synced once ACKed, and in error with the detail once NACKed', async () => {
    const c = h.delta();
    c.send({ typeUrl: CDS, resourceNamesSubscribe: ['*'], node: grpcNode() });
    const first = await c.next();
    const outcome = () => stream().types.cds!.held.list().map((r) => r.response.outcome);
    expect(outcome()).toEqual([undefined, undefined]);
    c.ack(first);
    await vi.waitFor(() => expect(outcome()).toEqual(['acked', 'acked']));
    h.publish([{ ...greeter, protocol: 'http' }, billing]);
    const second = await c.next();
    expect(second.names).toEqual(['greeter.default']);
    c.send({ typeUrl: CDS, responseNonce: second.nonce, errorDetail: { code: 3, message: 'bad protocol options' } });
    await vi.waitFor(() => expect(outcome()).toEqual(['acked', 'nacked']));
    expect(stream().types.cds!.held.list()[1]!.response.nack).toMatchObject({ errorDetail: 'bad protocol options' });
    expect(stream().types.cds!.last?.outcome).toBe('nacked');
  });

  it('a SotW ACK also settles the responses it superseded (their own answers were stale)', async () => {
    const c = h.client();
    c.send({ typeUrl: EDS, resourceNames: [greeterEds, billingEds], node: grpcNode() });
    const first = await c.next();
    h.publish([greeterAt('10.0.0.8'), billing]);
    const second = await c.next();
    c.ack(first, [greeterEds, billingEds]); // stale: ignored
    c.ack(second, [greeterEds, billingEds]);
    await vi.waitFor(() => expect(stream().types.eds!.held.list().map((r) => r.response.outcome)).toEqual(['acked', 'acked']));
    expect(stream().types.eds!.pending).toEqual([]);
  });

  it('remembers the replica holding the stream and the snapshot revision each response was built from', async () => {
    const c = h.client();
    c.send({ typeUrl: CDS, resourceNames: ['*'], node: grpcNode() });
    await c.next();
    expect(stream()).toMatchObject({ replica: 'test-cp', variant: 'sotw', types: { cds: { sentRevision: h.cache.current.revision } } });
    expect(stream().streamId.startsWith('test-cp/')).toBe(true);
  });
});

describe('metrics', () => {
  it('counts open streams by variant and subscribed streams by variant and type, down again on close', async () => {
    const sotw = h.client();
    sotw.send({ typeUrl: CDS, resourceNames: ['*'], node: grpcNode('a') });
    sotw.ack(await sotw.next(), ['*']);
    sotw.send({ typeUrl: EDS, resourceNames: [greeterEds] });
    await sotw.next();
    const delta = h.delta();
    delta.send({ typeUrl: CDS, resourceNamesSubscribe: ['*'], node: grpcNode('b') });
    await delta.next();
    expect(await sample(h.metrics, 'apg_xds_open_streams', { variant: 'sotw' })).toBe(1);
    expect(await sample(h.metrics, 'apg_xds_open_streams', { variant: 'delta' })).toBe(1);
    expect(await sample(h.metrics, 'apg_xds_connected_streams', { variant: 'sotw', type: 'cds' })).toBe(1);
    expect(await sample(h.metrics, 'apg_xds_connected_streams', { variant: 'sotw', type: 'eds' })).toBe(1);
    expect(await sample(h.metrics, 'apg_xds_connected_streams', { variant: 'delta', type: 'cds' })).toBe(1);
    expect(await sample(h.metrics, 'apg_xds_connected_streams', { variant: 'delta', type: 'eds' })).toBe(0);
    sotw.close();
    delta.close();
    await vi.waitFor(async () => expect(await sample(h.metrics, 'apg_xds_connected_streams')).toBe(0));
    expect(await sample(h.metrics, 'apg_xds_open_streams')).toBe(0);
  });

  it('counts pushes by variant and type', async () => {
    const c = h.client();
    c.send({ typeUrl: CDS, resourceNames: ['*'], node: grpcNode() });
    c.ack(await c.next(), ['*']);
    h.publish([greeter]);
    await c.next();
    expect(await sample(h.metrics, 'apg_xds_pushes_total', { variant: 'sotw', type: 'cds' })).toBe(2);
    expect(await sample(h.metrics, 'apg_xds_pushes_total', { variant: 'delta' })).toBe(0);
  });

  it('observes push latency only for responses written while a snapshot is fanned out', async () => {
    const c = h.client();
    c.send({ typeUrl: CDS, resourceNames: ['*'], node: grpcNode() });
    c.ack(await c.next(), ['*']); // an answer to a request, not a push
    expect(await sample(h.metrics, 'apg_xds_push_latency_seconds_count')).toBe(0);
    h.publish([greeter]);
    await c.next();
    expect(await sample(h.metrics, 'apg_xds_push_latency_seconds_count', { type: 'cds' })).toBe(1);
  });

  it('observes convergence (commit → ACK) once per type and revision, for pushed responses only', async () => {
    const sotw = h.client();
    sotw.send({ typeUrl: CDS, resourceNames: ['*'], node: grpcNode('a') });
    sotw.ack(await sotw.next(), ['*']);
    const delta = h.delta();
    delta.send({ typeUrl: EDS, resourceNamesSubscribe: [greeterEds], node: grpcNode('b') });
    delta.ack(await delta.next());
    publishCommitted([{ ...greeterAt('10.0.0.7'), protocol: 'http' }, billing], new Date(Date.now() - 200));
    const cds = await sotw.next();
    const eds = await delta.next();
    expect(await sample(h.metrics, 'apg_xds_convergence_seconds_count')).toBe(0); // not ACKed yet
    sotw.ack(cds, ['*']);
    delta.ack(eds);
    await vi.waitFor(async () => expect(await sample(h.metrics, 'apg_xds_convergence_seconds_count')).toBe(2));
    expect(await sample(h.metrics, 'apg_xds_convergence_seconds_count', { type: 'cds' })).toBe(1);
    expect(await sample(h.metrics, 'apg_xds_convergence_seconds_count', { type: 'eds' })).toBe(1);
    // Committed 200 ms before the publish: never in the 100 ms bucket.
    expect(await sample(h.metrics, 'apg_xds_convergence_seconds_bucket', { type: 'cds', le: '0.1' })).toBe(0);
    expect(await sample(h.metrics, 'apg_xds_convergence_seconds_bucket', { type: 'cds', le: '+Inf' })).toBe(1);
    sotw.ack(cds, ['*']); // the same ACK again (a subscription update) is not a second convergence
    await sotw.silentFor(100);
    expect(await sample(h.metrics, 'apg_xds_convergence_seconds_count', { type: 'cds' })).toBe(1);
  });

  it('a NACK counts by type and is no convergence', async () => {
    const c = h.client();
    c.send({ typeUrl: CDS, resourceNames: ['*'], node: grpcNode() });
    c.ack(await c.next(), ['*']);
    publishCommitted([greeter]);
    const r = await c.next();
    c.send({ typeUrl: CDS, resourceNames: ['*'], versionInfo: '', responseNonce: r.nonce, errorDetail: { code: 3, message: 'no' } });
    await vi.waitFor(async () => expect(await sample(h.metrics, 'apg_xds_nacks_total', { type: 'cds' })).toBe(1));
    expect(await sample(h.metrics, 'apg_xds_convergence_seconds_count')).toBe(0);
  });
});
