/** CSDS over real gRPC: what each proxy stream holds and its sync state, filtered by node matchers. */
import { beforeEach, describe, expect, it } from 'vitest';
import { structToPlain } from '../../protos/struct.ts';
import { TYPE_URLS } from '../../protos/type-urls.ts';
import { CsdsStream, fetchClientStatus } from '../../../test/support/csds-client.ts';
import { cleanUpHarnesses, greeter, greeterEds, grpcNode, harness, type Harness } from '../../../test/support/xds-harness.ts';
import { nodeMatcher } from './csds.ts';

const { cluster: CDS, endpoint: EDS } = TYPE_URLS;

cleanUpHarnesses();
let h: Harness;
beforeEach(async () => {
  h = await harness();
});

/** A SotW proxy `sotw-1` that ACKed CDS, and a Delta proxy `delta-1` that NACKed its EDS. */
async function twoProxies() {
  const sotw = h.client();
  sotw.send({
    typeUrl: CDS,
    resourceNames: ['*'],
    node: { id: 'sotw-1', cluster: 'edge', metadata: { role: 'grpc', service: 'web', namespace: 'shop' }, locality: { zone: 'z1' } } as never,
  });
  const cds = await sotw.next();
  sotw.ack(cds, ['*']);
  const delta = h.delta();
  delta.send({ typeUrl: EDS, resourceNamesSubscribe: [greeterEds], node: grpcNode('delta-1') });
  const eds = await delta.next();
  delta.send({ typeUrl: EDS, responseNonce: eds.nonce, errorDetail: { code: 3, message: 'bad assignment' } });
  await delta.silentFor(150);
  return { sotw, delta, cds, eds };
}

describe('FetchClientStatus', () => {
  it('reports one ClientConfig per stream, sorted by node id, with each resource, its status and contents', async () => {
    const { cds, eds } = await twoProxies();
    const res = await fetchClientStatus(h.port);
    expect(res.config.map((c: any) => c.node.id)).toEqual(['delta-1', 'sotw-1']);
    const [delta, sotw] = res.config;
    expect({ ...sotw.node, metadata: structToPlain(sotw.node.metadata) }).toEqual({
      id: 'sotw-1',
      cluster: 'edge',
      metadata: { role: 'grpc', service: 'web', namespace: 'shop' },
      locality: { zone: 'z1' },
    });
    expect(sotw.genericXdsConfigs.map((g: any) => g.name)).toEqual(['billing.shop', 'greeter.default']);
    const cluster = sotw.genericXdsConfigs[1];
    expect(cluster).toMatchObject({
      typeUrl: CDS,
      name: 'greeter.default',
      versionInfo: cds.versionInfo,
      configStatus: 'SYNCED',
      clientStatus: 'ACKED',
      xdsConfig: { '@type': CDS, name: 'greeter.default' },
    });
    expect(cluster.errorState).toBeUndefined();
    expect(Number(cluster.lastUpdated.seconds)).toBeGreaterThan(Date.now() / 1000 - 60);

    expect(delta.genericXdsConfigs).toHaveLength(1);
    expect(delta.genericXdsConfigs[0]).toMatchObject({
      typeUrl: EDS,
      name: greeterEds,
      versionInfo: eds.versions[greeterEds],
      configStatus: 'ERROR',
      clientStatus: 'NACKED',
      errorState: { details: 'bad assignment', versionInfo: eds.versions[greeterEds] },
      xdsConfig: { '@type': EDS, clusterName: greeterEds },
    });
  });

  it('reports a resource sent and not answered yet as STALE / REQUESTED', async () => {
    const c = h.client();
    c.send({ typeUrl: EDS, resourceNames: [greeterEds], node: grpcNode('waiting') });
    await c.next();
    const [config] = (await fetchClientStatus(h.port)).config;
    expect(config.genericXdsConfigs[0]).toMatchObject({ name: greeterEds, configStatus: 'STALE', clientStatus: 'REQUESTED' });
  });

  it('filters by node_id matchers (any may match) and leaves out contents when asked', async () => {
    await twoProxies();
    const ids = async (req: object) => (await fetchClientStatus(h.port, req)).config?.map((c: any) => c.node.id) ?? [];
    expect(await ids({ nodeMatchers: [{ nodeId: { exact: 'sotw-1' } }] })).toEqual(['sotw-1']);
    expect(await ids({ nodeMatchers: [{ nodeId: { prefix: 'delta-' } }] })).toEqual(['delta-1']);
    expect(await ids({ nodeMatchers: [{ nodeId: { exact: 'sotw-1' } }, { nodeId: { suffix: 'a-1' } }] })).toEqual(['delta-1', 'sotw-1']);
    expect(await ids({ nodeMatchers: [{ nodeId: { exact: 'nobody' } }] })).toEqual([]);
    const bare = await fetchClientStatus(h.port, { excludeResourceContents: true, nodeMatchers: [{ nodeId: { exact: 'sotw-1' } }] });
    expect(bare.config[0].genericXdsConfigs[0].xdsConfig).toBeUndefined();
    expect(bare.config[0].genericXdsConfigs[0].name).toBe('billing.shop');
  });

  it('refuses matchers it does not support with INVALID_ARGUMENT naming the field', async () => {
    await expect(fetchClientStatus(h.port, { nodeMatchers: [{ nodeId: { exact: 'a' } }, { nodeId: { safeRegex: { regex: 'a.*' } } }] })).rejects.toMatchObject({
      code: 3,
      details: expect.stringContaining('node_matchers[1].node_id.safe_regex'),
    });
    await expect(
      fetchClientStatus(h.port, { nodeMatchers: [{ nodeMetadatas: [{ path: [{ key: 'role' }], value: { presentMatch: true } }] }] }),
    ).rejects.toMatchObject({ code: 3, details: expect.stringContaining('node_matchers[0].node_metadatas') });
  });

  it('forgets a stream once it closes', async () => {
    const { sotw, delta } = await twoProxies();
    sotw.close();
    delta.close();
    await new Promise((r) => setTimeout(r, 100));
    expect((await fetchClientStatus(h.port)).config ?? []).toEqual([]);
  });
});

describe('StreamClientStatus', () => {
  it('answers each request on the stream with the status at that moment', async () => {
    const csds = new CsdsStream(h.port);
    try {
      expect((await csds.ask()).config ?? []).toEqual([]);
      const c = h.client();
      c.send({ typeUrl: CDS, resourceNames: ['greeter.default'], node: grpcNode('late') });
      c.ack(await c.next(), ['greeter.default']);
      await c.silentFor(100);
      const res = await csds.ask({ nodeMatchers: [{ nodeId: { prefix: 'la' } }] });
      expect(res.config[0].genericXdsConfigs).toMatchObject([{ name: 'greeter.default', configStatus: 'SYNCED' }]);
      h.publish([{ ...greeter, protocol: 'http' }]);
      await c.next();
      expect((await csds.ask()).config[0].genericXdsConfigs).toMatchObject([{ name: 'greeter.default', configStatus: 'STALE' }]);
    } finally {
      csds.close();
    }
  });

  it('ends the stream with INVALID_ARGUMENT on an unsupported matcher', async () => {
    const csds = new CsdsStream(h.port);
    try {
      await expect(csds.ask({ nodeMatchers: [{ nodeId: { safeRegex: { regex: '.*' } } }] })).rejects.toMatchObject({ code: 3 });
    } finally {
      csds.close();
    }
  });
});

describe('nodeMatcher', () => {
  const cases: { name: string; matchers: object[]; yes: string[]; no: string[] }[] = [
    { name: 'no matchers: everything', matchers: [], yes: ['a', ''], no: [] },
    { name: 'an empty matcher: everything', matchers: [{}], yes: ['a'], no: [] },
    { name: 'exact', matchers: [{ nodeId: { matchPattern: 'exact', exact: 'gw-1' } }], yes: ['gw-1'], no: ['gw-10', 'GW-1'] },
    { name: 'prefix', matchers: [{ nodeId: { matchPattern: 'prefix', prefix: 'gw-' } }], yes: ['gw-1', 'gw-'], no: ['agw-1'] },
    { name: 'suffix', matchers: [{ nodeId: { matchPattern: 'suffix', suffix: '.eu' } }], yes: ['a.eu'], no: ['a.eu.x'] },
    { name: 'contains', matchers: [{ nodeId: { matchPattern: 'contains', contains: 'web' } }], yes: ['a-web-1'], no: ['wb'] },
    { name: 'ignore_case', matchers: [{ nodeId: { matchPattern: 'exact', exact: 'GW-1', ignoreCase: true } }], yes: ['gw-1'], no: ['gw-2'] },
    {
      name: 'several: any',
      matchers: [{ nodeId: { matchPattern: 'exact', exact: 'a' } }, { nodeId: { matchPattern: 'prefix', prefix: 'b' } }],
      yes: ['a', 'bee'],
      no: ['c'],
    },
  ];
  it.each(cases)('$name', ({ matchers, yes, no }) => {
    const m = nodeMatcher({ nodeMatchers: matchers });
    if (!m.ok) throw new Error(JSON.stringify(m.issues));
    for (const id of yes) expect(m.value(id), id).toBe(true);
    for (const id of no) expect(m.value(id), id).toBe(false);
  });

  it('names a matcher with no pattern set', () => {
    expect(nodeMatcher({ nodeMatchers: [{ nodeId: {} }] })).toEqual({
      ok: false,
      issues: [{ path: 'node_matchers[0].node_id', message: expect.stringMatching(/must set one of/) }],
    });
  });
});
