import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../model/mesh.ts';
import { expectValidEnvoy } from '../../test/support/envoy.ts';
import { endpoint } from '../../test/support/mesh-fixtures.ts';
import type { Plain } from './common.ts';
import { clusterLoadAssignment, lbEndpoint, servesTraffic } from './endpoint.ts';

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
