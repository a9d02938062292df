import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../model/mesh.ts';
import { expectValidEnvoy } from '../../test/support/envoy.ts';
import { endpoint } from '../../test/support/mesh-fixtures.ts';
import type { Plain } from './common.ts';
import { clusterLoadAssignment, failoverLocalities, lbEndpoint, servesTraffic } from './endpoint.ts';

const CLA = 'envoy.config.endpoint.v3.ClusterLoadAssignment';
const NO_LOCALITY = { region: '', zone: '', subZone: '' };
const lb = (address: string, healthStatus = 'HEALTHY', weight = 1, port = 8080): Plain => ({
  endpoint: { address: { socketAddress: { address, portValue: port } } },
  healthStatus,
  loadBalancingWeight: { value: weight },
});
const at = (region: string, zone: string, subZone = ''): Partial<Endpoint> => ({ region, zone, subZone });

interface Case {
  name: string;
  endpoints: Partial<Endpoint>[];
  want: Plain[];
}

const cases: Case[] = [
  { name: 'no endpoints: an empty assignment', endpoints: [], want: [] },
  {
    name: 'one healthy endpoint, no locality',
    endpoints: [{}],
    want: [{ locality: NO_LOCALITY, lbEndpoints: [lb('10.0.0.1')], loadBalancingWeight: { value: 1 } }],
  },
  {
    name: 'health mapping: healthy, unknown and draining kept, unhealthy left out',
    endpoints: [
      { address: '10.0.0.1', health: 'healthy' },
      { address: '10.0.0.2', health: 'unknown' },
      { address: '10.0.0.3', health: 'draining' },
      { address: '10.0.0.4', health: 'unhealthy', weight: 100 },
    ],
    want: [
      {
        locality: NO_LOCALITY,
        lbEndpoints: [lb('10.0.0.1'), lb('10.0.0.2', 'UNKNOWN'), lb('10.0.0.3', 'DRAINING')],
        loadBalancingWeight: { value: 3 },
      },
    ],
  },
  { name: 'only unhealthy endpoints: an empty assignment', endpoints: [{ health: 'unhealthy' }, { address: '10.0.0.2', health: 'unhealthy' }], want: [] },
  {
    name: 'locality weight is the sum of its endpoints weights',
    endpoints: [
      { address: '10.0.0.1', weight: 3 },
      { address: '10.0.0.2', weight: 10_000 },
    ],
    want: [{ locality: NO_LOCALITY, lbEndpoints: [lb('10.0.0.1', 'HEALTHY', 3), lb('10.0.0.2', 'HEALTHY', 10_000)], loadBalancingWeight: { value: 10_003 } }],
  },
  {
    name: 'grouped by locality in sorted order; endpoints keep their order inside a group',
    endpoints: [
      { address: '10.0.0.1', ...at('us-east', 'a'), weight: 2 },
      { address: '10.0.0.2', ...at('eu-west', 'b') },
      { address: '10.0.0.3', ...at('eu-west', 'a'), weight: 4 },
      { address: '10.0.0.4', ...at('eu-west', 'b'), weight: 5 },
    ],
    want: [
      { locality: at('eu-west', 'a'), lbEndpoints: [lb('10.0.0.3', 'HEALTHY', 4)], loadBalancingWeight: { value: 4 } },
      { locality: at('eu-west', 'b'), lbEndpoints: [lb('10.0.0.2'), lb('10.0.0.4', 'HEALTHY', 5)], loadBalancingWeight: { value: 6 } },
      { locality: at('us-east', 'a'), lbEndpoints: [lb('10.0.0.1', 'HEALTHY', 2)], loadBalancingWeight: { value: 2 } },
    ],
  },
  {
    name: 'sub-zone separates localities',
    endpoints: [
      { address: '10.0.0.1', ...at('eu', 'a', 'rack2') },
      { address: '10.0.0.2', ...at('eu', 'a', 'rack1') },
    ],
    want: [
      { locality: at('eu', 'a', 'rack1'), lbEndpoints: [lb('10.0.0.2')], loadBalancingWeight: { value: 1 } },
      { locality: at('eu', 'a', 'rack2'), lbEndpoints: [lb('10.0.0.1')], loadBalancingWeight: { value: 1 } },
    ],
  },
  {
    name: 'sorted field by field: region "eu" before "eu west", empty before any',
    endpoints: [
      { address: '10.0.0.1', ...at('eu west', 'a') },
      { address: '10.0.0.2', ...at('eu', 'z') },
      { address: '10.0.0.3', ...at('', '') },
    ],
    want: [
      { locality: NO_LOCALITY, lbEndpoints: [lb('10.0.0.3')], loadBalancingWeight: { value: 1 } },
      { locality: at('eu', 'z'), lbEndpoints: [lb('10.0.0.2')], loadBalancingWeight: { value: 1 } },
      { locality: at('eu west', 'a'), lbEndpoints: [lb('10.0.0.1')], loadBalancingWeight: { value: 1 } },
    ],
  },
  {
    name: 'a locality whose endpoints are all unhealthy disappears',
    endpoints: [
      { address: '10.0.0.1', ...at('eu', 'a'), health: 'unhealthy' },
      { address: '10.0.0.2', ...at('eu', 'b') },
    ],
    want: [{ locality: at('eu', 'b'), lbEndpoints: [lb('10.0.0.2')], loadBalancingWeight: { value: 1 } }],
  },
  {
    name: 'IPv6 and host name addresses, own ports',
    endpoints: [{ address: 'fd00::1', port: 9000 }, { address: 'db.example.com', port: 5432 }],
    want: [
      { locality: NO_LOCALITY, lbEndpoints: [lb('fd00::1', 'HEALTHY', 1, 9000), lb('db.example.com', 'HEALTHY', 1, 5432)], loadBalancingWeight: { value: 2 } },
    ],
  },
];

describe('clusterLoadAssignment', () => {
  it.each(cases)('$name', ({ endpoints, want }) => {
    const got = clusterLoadAssignment('greeter.default', endpoints.map(endpoint));
    expect(got).toEqual({ clusterName: 'greeter.default', endpoints: want });
    expectValidEnvoy(CLA, got);
  });
});

describe('lbEndpoint and servesTraffic', () => {
  const table: [Endpoint['health'], string | undefined][] = [
    ['healthy', 'HEALTHY'],
    ['unknown', 'UNKNOWN'],
    ['draining', 'DRAINING'],
    ['unhealthy', undefined],
  ];
  it.each(table)('%s → %s', (health, status) => {
    const e = endpoint({ health, weight: 7 });
    expect(servesTraffic(e)).toBe(status !== undefined);
    if (status) {
      const got = lbEndpoint(e);
      expect(got).toEqual(lb('10.0.0.1', status, 7));
      expectValidEnvoy('envoy.config.endpoint.v3.LbEndpoint', got);
    }
  });
});

describe('clusterLoadAssignment for a caller (locality failover)', () => {
  const spread = [
    endpoint({ address: '10.0.0.1', region: 'eu', zone: 'eu-a' }),
    endpoint({ address: '10.0.0.2', region: 'eu', zone: 'eu-b' }),
    endpoint({ address: '10.0.0.3', region: 'us', zone: 'us-a' }),
    endpoint({ address: '10.0.0.4', region: 'eu', zone: 'eu-a', subZone: 'rack-2' }),
  ];
  const priorities = (cla: Plain) => (cla.endpoints as { locality: { zone: string; subZone: string }; priority?: number }[]).map((l) => [`${l.locality.zone}${l.locality.subZone ? '/' + l.locality.subZone : ''}`, l.priority ?? 0]);

  const cases: { name: string; caller: { region: string; zone?: string }; endpoints: Endpoint[]; want: [string, number][] }[] = [
    { name: 'its zone first (every sub-zone), then its region, then the rest', caller: { region: 'eu', zone: 'eu-a' }, endpoints: spread, want: [['eu-a', 0], ['eu-a/rack-2', 0], ['eu-b', 1], ['us-a', 2]] },
    { name: 'another zone of the region', caller: { region: 'eu', zone: 'eu-b' }, endpoints: spread, want: [['eu-a', 1], ['eu-a/rack-2', 1], ['eu-b', 0], ['us-a', 2]] },
    { name: 'a zone with no endpoint: the region first, without a gap in priorities', caller: { region: 'eu' }, endpoints: spread, want: [['eu-a', 0], ['eu-a/rack-2', 0], ['eu-b', 0], ['us-a', 1]] },
    { name: 'a region with no endpoint: everything at priority 0', caller: { region: 'ap', zone: 'ap-a' }, endpoints: spread, want: [['eu-a', 0], ['eu-a/rack-2', 0], ['eu-b', 0], ['us-a', 0]] },
    {
      name: 'its zone has only unhealthy endpoints: the next tier becomes priority 0',
      caller: { region: 'eu', zone: 'eu-a' },
      endpoints: spread.map((e) => (e.zone === 'eu-a' ? { ...e, health: 'unhealthy' as const } : e)),
      want: [['eu-b', 0], ['us-a', 1]],
    },
  ];

  it.each(cases)('$name', ({ caller, endpoints, want }) => {
    const cla = clusterLoadAssignment('greeter', endpoints, caller);
    expect(priorities(cla)).toEqual(want);
    expectValidEnvoy(CLA, cla);
  });

  it('without a caller, no priorities at all (what proxies without a locality get)', () => {
    expect(priorities(clusterLoadAssignment('greeter', spread)).every(([, p]) => p === 0)).toBe(true);
    expect(JSON.stringify(clusterLoadAssignment('greeter', spread))).not.toContain('priority');
  });
});

describe('failoverLocalities', () => {
  it('one variant per zone and per region of the serving endpoints, sorted by key', () => {
    const got = failoverLocalities([
      endpoint({ region: 'us', zone: 'us-a' }),
      endpoint({ region: 'eu', zone: 'eu-a' }),
      endpoint({ region: 'eu', zone: 'eu-a', address: '10.0.0.9' }),
      endpoint({ region: 'eu', zone: 'eu-c', health: 'unhealthy' }),
    ]);
    expect(got).toEqual([
      { key: 'region:eu', caller: { region: 'eu' } },
      { key: 'region:us', caller: { region: 'us' } },
      { key: 'zone:eu/eu-a', caller: { region: 'eu', zone: 'eu-a' } },
      { key: 'zone:us/us-a', caller: { region: 'us', zone: 'us-a' } },
    ]);
  });

  it('none without serving endpoints', () => {
    expect(failoverLocalities([endpoint({ zone: 'a', health: 'unhealthy' })])).toEqual([]);
  });
});
