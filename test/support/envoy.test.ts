import { describe, expect, it } from 'vitest';
import { messageType } from '../../src/protos/loader.ts';
import { expectValidEnvoy, unknownFields } from './envoy.ts';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const good = { name: 'c', type: 'EDS', connectTimeout: { seconds: 1 }, edsClusterConfig: { edsConfig: { ads: {} } } };

describe('unknownFields', () => {
  const cases: { name: string; plain: Record<string, unknown>; want: string[] }[] = [
    { name: 'a complete cluster', plain: good, want: [] },
    { name: 'a misspelt key', plain: { ...good, connectTimout: { seconds: 1 } }, want: ['connectTimout'] },
    { name: 'a snake_case key', plain: { ...good, lb_policy: 'RANDOM' }, want: ['lb_policy'] },
    { name: 'an unknown enum name', plain: { ...good, lbPolicy: 'ROUND_ROBN' }, want: ['lbPolicy (enum value ROUND_ROBN)'] },
    {
      name: 'inside a map of Anys',
      plain: {
        ...good,
        typedExtensionProtocolOptions: {
          x: { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicitHttpConfig: { http3: {} } },
        },
      },
      want: ['typedExtensionProtocolOptions["x"]<envoy.extensions.upstreams.http.v3.HttpProtocolOptions>.explicitHttpConfig.http3'],
    },
    {
      name: 'an Any of an unknown type',
      plain: { ...good, typedExtensionProtocolOptions: { x: { '@type': 'type.googleapis.com/no.Such' } } },
      want: ['typedExtensionProtocolOptions["x"] (unknown @type type.googleapis.com/no.Such)'],
    },
    { name: 'inside a repeated field', plain: { ...good, healthChecks: [{ timeoutt: {} }] }, want: ['healthChecks[0].timeoutt'] },
  ];
  it.each(cases)('$name', ({ plain, want }) => {
    expect(unknownFields(messageType(CLUSTER), plain)).toEqual(want);
  });
});

describe('expectValidEnvoy', () => {
  it('passes a valid message and returns its bytes', () => {
    expect(expectValidEnvoy(CLUSTER, good).length).toBeGreaterThan(0);
  });
  it('fails on a PGV issue', () => {
    expect(() => expectValidEnvoy(CLUSTER, { ...good, name: '' })).toThrow(/PGV issues/);
  });
  it('fails on an unknown field', () => {
    expect(() => expectValidEnvoy(CLUSTER, { ...good, nmae: 'x' })).toThrow(/fields unknown/);
  });
  it('fails when the top-level @type names another message', () => {
    expect(() => expectValidEnvoy(CLUSTER, { '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener', ...good })).toThrow(/@type/);
  });
});
