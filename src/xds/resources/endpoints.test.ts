import { describe, expect, it } from 'vitest';
import { expectValidEnvoy } from '../../../test/support/envoy.ts';
import { DEFAULT_MESH_SETTINGS } from '../../model/mesh.ts';
import { endpoint, meshOf, sampleMesh, service } from '../../../test/support/mesh-fixtures.ts';
import { buildClusters } from './clusters.ts';
import { buildEndpoints } from './endpoints.ts';
import { ALL_ROLES } from './types.ts';

const HEALTHY = (address: string, weight: number) => ({
  endpoint: { address: { socketAddress: { address, portValue: 50051 } } },
  healthStatus: 'HEALTHY',
  loadBalancingWeight: { value: weight },
});

describe('buildEndpoints', () => {
  const built = buildEndpoints(sampleMesh());

  it('builds a load assignment for every EDS cluster only (DNS clusters carry theirs inline)', () => {
    expect(built.map((b) => b.name)).toEqual(['greeter.default~37300e9c', 'db.shop~ad9c1afe', 'web.shop~97375646']);
  });

  it('builds the whole load assignment of a service, grouped by zone, unhealthy left out', () => {
    expect(built[0]!.resource).toEqual({
      clusterName: 'greeter.default~37300e9c',
      endpoints: [
        { locality: { region: 'eu-west', zone: 'a', subZone: '' }, lbEndpoints: [HEALTHY('10.0.0.1', 3)], loadBalancingWeight: { value: 3 } },
        { locality: { region: 'eu-west', zone: 'b', subZone: '' }, lbEndpoints: [HEALTHY('10.0.0.2', 1)], loadBalancingWeight: { value: 1 } },
      ],
    });
  });

  it('names each assignment by its EDS service name, shows it to every role, and is valid', () => {
    for (const b of built) {
      expect(b.resource.clusterName).toBe(b.name);
      expect(b.roles).toEqual(ALL_ROLES);
      expectValidEnvoy('envoy.config.endpoint.v3.ClusterLoadAssignment', b.resource);
    }
  });

  it('names each assignment as its EDS cluster asks for it', () => {
    const asked = buildClusters(sampleMesh(), DEFAULT_MESH_SETTINGS).flatMap((c) => {
      const eds = c.resource.edsClusterConfig as { serviceName: string } | undefined;
      return eds ? [eds.serviceName] : [];
    });
    expect(built.map((b) => b.name)).toEqual(asked);
  });

  it('gives a service without endpoints an empty assignment, so its cluster does not wait for one', () => {
    expect(buildEndpoints(meshOf([service()]))).toEqual([
      { name: 'greeter.default~37300e9c', resource: { clusterName: 'greeter.default~37300e9c', endpoints: [] }, roles: ALL_ROLES },
    ]);
  });

  it('gives a service whose endpoints are all unhealthy an empty assignment', () => {
    const mesh = meshOf([service({ endpoints: [endpoint({ health: 'unhealthy' })] })]);
    expect(buildEndpoints(mesh)[0]!.resource).toEqual({ clusterName: 'greeter.default~37300e9c', endpoints: [] });
  });

  it('names the assignment of a re-created service (same name, new uid) anew, and the same uid the same', () => {
    const nameFor = (uid: string) => buildEndpoints(meshOf([service({ uid, endpoints: [endpoint()] })]))[0]!.name;
    expect(nameFor('aaaaaaaa-0000-4000-8000-000000000001')).toBe('greeter.default~aaaaaaaa');
    expect(nameFor('bbbbbbbb-0000-4000-8000-000000000002')).toBe('greeter.default~bbbbbbbb');
    expect(nameFor('aaaaaaaa-0000-4000-8000-000000000001')).toBe('greeter.default~aaaaaaaa');
  });
});

describe('buildEndpoints with locality failover', () => {
  const endpoints = [
    endpoint({ address: '10.0.0.1', port: 50051, region: 'eu', zone: 'eu-a', labels: { version: 'v1' } }),
    endpoint({ address: '10.0.0.2', port: 50051, region: 'eu', zone: 'eu-b', labels: { version: 'v2' } }),
  ];
  const priorities = (cla: unknown) => (cla as { endpoints: { locality: { zone: string }; priority?: number }[] }).endpoints.map((l) => `${l.locality.zone}:${l.priority ?? 0}`);

  it('gives each load assignment a variant per zone and region of its endpoints, with priorities by nearness', () => {
    const [lbs] = [buildEndpoints(meshOf([service({ endpoints, trafficPolicy: { localityFailover: true } })]))];
    expect(lbs).toHaveLength(1);
    const { resource, variants } = lbs![0]!;
    expect(priorities(resource)).toEqual(['eu-a:0', 'eu-b:0']);
    expect(Object.fromEntries(variants!.map((v) => [v.key, priorities(v.resource)]))).toEqual({
      'region:eu': ['eu-a:0', 'eu-b:0'],
      'zone:eu/eu-a': ['eu-a:0', 'eu-b:1'],
      'zone:eu/eu-b': ['eu-a:1', 'eu-b:0'],
    });
    for (const v of variants!) expectValidEnvoy('envoy.config.endpoint.v3.ClusterLoadAssignment', v.resource);
  });

  it('no variants without the policy', () => {
    expect(buildEndpoints(meshOf([service({ endpoints })]))[0]!.variants).toBeUndefined();
  });
});
