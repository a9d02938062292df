import { describe, expect, it } from 'vitest';
import { cluster } from '../../envoy/cluster.ts';
import { DEFAULT_MESH_SETTINGS } from '../../model/mesh.ts';
import { expectValidEnvoy } from '../../../test/support/envoy.ts';
import { meshOf, sampleMesh, sidecarOnly } from '../../../test/support/mesh-fixtures.ts';
import { buildClusters } from './clusters.ts';
import { ALL_ROLES } from './types.ts';

describe('buildClusters', () => {
  const mesh = sampleMesh();
  const all = buildClusters(mesh, DEFAULT_MESH_SETTINGS);
  // the services' clusters; the sidecars' own ones are covered in sidecar.test.ts
  const built = all.filter((b) => !sidecarOnly(b));

  it('builds one cluster per service, tcp and DNS ones included, in mesh order, then the sidecars\' own clusters', () => {
    expect(all.map((b) => b.name)).toEqual([
      'greeter.default',
      'payments.ext',
      'db.shop',
      'web.shop',
      'PassthroughCluster',
      'inbound:greeter.default',
      'inbound:payments.ext',
      'inbound:db.shop',
      'inbound:web.shop',
    ]);
    expect(built.map((b) => b.name)).toEqual(['greeter.default', 'payments.ext', 'db.shop', 'web.shop']);
  });

  it('names each resource after its cluster and builds it with the cluster() builder', () => {
    built.forEach((b, i) => {
      expect(b.resource.name).toBe(b.name);
      expect(b.resource).toEqual(cluster(mesh.services[i]!, DEFAULT_MESH_SETTINGS));
      expectValidEnvoy('envoy.config.cluster.v3.Cluster', b.resource);
    });
  });

  it('picks the discovery type per service', () => {
    expect(Object.fromEntries(built.map((b) => [b.name, b.resource.type]))).toEqual({
      'greeter.default': 'EDS',
      'payments.ext': 'LOGICAL_DNS',
      'db.shop': 'EDS',
      'web.shop': 'EDS',
    });
  });

  it('carries the EDS name of each EDS cluster (the one its edsClusterConfig asks for), and none for a DNS cluster', () => {
    expect(Object.fromEntries(built.map((b) => [b.name, b.edsName]))).toEqual({
      'greeter.default': 'greeter.default~37300e9c',
      'payments.ext': undefined,
      'db.shop': 'db.shop~ad9c1afe',
      'web.shop': 'web.shop~97375646',
    });
    for (const b of built) expect(b.edsName, b.name).toBe((b.resource.edsClusterConfig as { serviceName?: string } | undefined)?.serviceName);
    expect(built.find((b) => b.name === 'payments.ext')).not.toHaveProperty('edsName');
  });

  it('shows service clusters to every role, with no owner; the sidecar clusters to sidecars only, inbound ones to their service', () => {
    for (const b of built) expect(b.roles).toEqual(ALL_ROLES);
    expect([...ALL_ROLES].sort()).toEqual(['gateway', 'grpc', 'sidecar']);
    expect(Object.fromEntries(all.map((b) => [b.name, [b.roles, b.owner]]))).toEqual({
      'greeter.default': [ALL_ROLES, undefined],
      'payments.ext': [ALL_ROLES, undefined],
      'db.shop': [ALL_ROLES, undefined],
      'web.shop': [ALL_ROLES, undefined],
      PassthroughCluster: [['sidecar'], undefined],
      'inbound:greeter.default': [['sidecar'], 'default/greeter'],
      'inbound:payments.ext': [['sidecar'], 'ext/payments'],
      'inbound:db.shop': [['sidecar'], 'shop/db'],
      'inbound:web.shop': [['sidecar'], 'shop/web'],
    });
  });

  it('passes the settings on', () => {
    const [first] = buildClusters(mesh, { ...DEFAULT_MESH_SETTINGS, connectTimeoutMs: 1500 });
    expect(first!.resource.connectTimeout).toEqual({ seconds: 1, nanos: 500_000_000 });
  });

  it('builds no service cluster for an empty mesh, only the sidecars\' pass-through cluster', () => {
    expect(buildClusters(meshOf([]), DEFAULT_MESH_SETTINGS)).toStrictEqual([
      {
        name: 'PassthroughCluster',
        roles: ['sidecar'],
        resource: { name: 'PassthroughCluster', type: 'ORIGINAL_DST', connectTimeout: { seconds: 5 }, lbPolicy: 'CLUSTER_PROVIDED' },
      },
    ]);
  });
});
