import { describe, expect, it } from 'vitest';
import { DEFAULT_MESH_SETTINGS } from '../../model/mesh.ts';
import { expectValidEnvoy } from '../../../test/support/envoy.ts';
import { meshOf, sampleMesh, service, sidecarOnly } from '../../../test/support/mesh-fixtures.ts';
import { buildRoutes } from './routes.ts';

const to = (cluster: string) => [{ name: 'default', match: { prefix: '/' }, route: { cluster, timeout: { seconds: 0 } } }];

describe('buildRoutes', () => {
  it('builds the gateway route configuration first, then the sidecars\' per-port ones (covered in sidecar.test.ts)', () => {
    const built = buildRoutes(sampleMesh(), DEFAULT_MESH_SETTINGS);
    expect(built.map((b) => [b.name, b.roles])).toEqual([
      ['gateway', ['gateway']],
      ['outbound:443', ['sidecar']],
      ['outbound:8080', ['sidecar']],
      ['outbound:50051', ['sidecar']],
    ]);
  });

  it('builds the gateway route configuration, one virtual host per HTTP service, for gateways only', () => {
    expect(buildRoutes(sampleMesh(), DEFAULT_MESH_SETTINGS).filter((b) => !sidecarOnly(b))).toStrictEqual([
      {
        name: 'gateway',
        roles: ['gateway'],
        resource: {
          name: 'gateway',
          virtualHosts: [
            { name: 'greeter.default', domains: ['greeter.default', 'greeter.default:50051', 'greeter.default:10000'], routes: to('greeter.default') },
            { name: 'payments.ext', domains: ['payments.ext', 'payments.ext:443', 'payments.ext:10000'], routes: to('payments.ext') },
            { name: 'web.shop', domains: ['web.shop', 'web.shop:8080', 'web.shop:10000'], routes: to('web.shop') },
          ],
        },
      },
    ]);
  });

  it('answers on the configured gateway port', () => {
    const [built] = buildRoutes(meshOf([service()]), { ...DEFAULT_MESH_SETTINGS, gatewayPort: 8000 });
    expect((built!.resource.virtualHosts as { domains: string[] }[])[0]!.domains).toEqual([
      'greeter.default',
      'greeter.default:50051',
      'greeter.default:8000',
    ]);
  });

  it('does not repeat a domain when a service listens on the gateway port', () => {
    const [built] = buildRoutes(meshOf([service({ port: 10000 })]), DEFAULT_MESH_SETTINGS);
    expect((built!.resource.virtualHosts as { domains: string[] }[])[0]!.domains).toEqual(['greeter.default', 'greeter.default:10000']);
    expectValidEnvoy('envoy.config.route.v3.RouteConfiguration', built!.resource);
  });

  it('still builds an (empty) gateway route configuration for a mesh without HTTP services, and no sidecar one', () => {
    expect(buildRoutes(meshOf([service({ protocol: 'tcp' })]), DEFAULT_MESH_SETTINGS)).toStrictEqual([
      { name: 'gateway', roles: ['gateway'], resource: { name: 'gateway', virtualHosts: [] } },
    ]);
  });

  it('builds route configurations Envoy accepts', () => {
    for (const b of buildRoutes(sampleMesh(), DEFAULT_MESH_SETTINGS)) expectValidEnvoy('envoy.config.route.v3.RouteConfiguration', b.resource);
  });
});
