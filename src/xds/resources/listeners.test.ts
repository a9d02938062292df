import { describe, expect, it } from 'vitest';
import { DEFAULT_MESH_SETTINGS } from '../../model/mesh.ts';
import { expectValidEnvoy } from '../../../test/support/envoy.ts';
import { meshOf, sampleMesh, service, uidOf } from '../../../test/support/mesh-fixtures.ts';
import { buildListeners } from './listeners.ts';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
/** The `apg.mesh` metadata naming the service (a google.protobuf.Struct in protobufjs' shape). */
const origin = (namespace: string, name: string, uid = uidOf(namespace, name)) => ({
  filterMetadata: { 'apg.mesh': { fields: { service: { stringValue: `${namespace}/${name}` }, uid: { stringValue: uid } } } },
});
const ROUTER = { name: 'envoy.filters.http.router', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

describe('buildListeners', () => {
  const built = buildListeners(sampleMesh(), DEFAULT_MESH_SETTINGS);

  it('builds two API listeners per HTTP service (with and without the port), none for tcp, then the gateway', () => {
    expect(built.map((b) => b.name)).toEqual([
      'greeter.default:50051',
      'greeter.default',
      'payments.ext:443',
      'payments.ext',
      'web.shop:8080',
      'web.shop',
      'gateway',
    ]);
  });

  it('shows API listeners to grpc clients only and the gateway listener to gateways only', () => {
    expect(Object.fromEntries(built.map((b) => [b.name, b.roles]))).toEqual({
      'greeter.default:50051': ['grpc'],
      'greeter.default': ['grpc'],
      'payments.ext:443': ['grpc'],
      'payments.ext': ['grpc'],
      'web.shop:8080': ['grpc'],
      'web.shop': ['grpc'],
      gateway: ['gateway'],
    });
  });

  it('builds an API listener with its route configuration inline', () => {
    expect(built[0]!.resource).toEqual({
      name: 'greeter.default:50051',
      metadata: origin('default', 'greeter'),
      apiListener: {
        apiListener: {
          '@type': HCM,
          statPrefix: 'greeter_default_50051',
          codecType: 'AUTO',
          routeConfig: {
            name: 'greeter.default:50051',
            virtualHosts: [
              {
                name: 'greeter.default',
                domains: ['greeter.default', 'greeter.default:50051'],
                routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: 'greeter.default', timeout: { seconds: 0 } } }],
              },
            ],
          },
          httpFilters: [ROUTER],
        },
      },
    });
  });

  it('marks every API listener with the service it comes from, and the gateway listener with none', () => {
    expect(Object.fromEntries(built.map((b) => [b.name, b.resource.metadata]))).toEqual({
      'greeter.default:50051': origin('default', 'greeter'),
      'greeter.default': origin('default', 'greeter'),
      'payments.ext:443': origin('ext', 'payments'),
      'payments.ext': origin('ext', 'payments'),
      'web.shop:8080': origin('shop', 'web'),
      'web.shop': origin('shop', 'web'),
      gateway: undefined,
    });
  });

  it('gives the API listeners of a re-created service (same name, new uid) the new uid, and nothing else new', () => {
    const of = (uid: string) => buildListeners(meshOf([service({ uid })]), DEFAULT_MESH_SETTINGS);
    const before = of('aaaaaaaa-0000-4000-8000-000000000001');
    const after = of('bbbbbbbb-0000-4000-8000-000000000002');
    expect(after).toEqual(
      before.map((b) =>
        b.name === 'gateway' ? b : { ...b, resource: { ...b.resource, metadata: origin('default', 'greeter', 'bbbbbbbb-0000-4000-8000-000000000002') } },
      ),
    );
    expect(before[0]!.resource.metadata).toEqual(origin('default', 'greeter', 'aaaaaaaa-0000-4000-8000-000000000001'));
  });

  it('builds the gateway listener on the configured port with routes over RDS', () => {
    const gateway = buildListeners(meshOf([]), { ...DEFAULT_MESH_SETTINGS, gatewayPort: 8000 });
    expect(gateway).toEqual([
      {
        name: 'gateway',
        roles: ['gateway'],
        resource: {
          name: 'gateway',
          address: { socketAddress: { address: '0.0.0.0', portValue: 8000 } },
          filterChains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typedConfig: {
                    '@type': HCM,
                    statPrefix: 'gateway',
                    codecType: 'AUTO',
                    rds: { configSource: { ads: {}, resourceApiVersion: 'V3' }, routeConfigName: 'gateway' },
                    httpFilters: [ROUTER],
                  },
                },
              ],
            },
          ],
        },
      },
    ]);
  });

  it('builds only the gateway listener for a tcp-only mesh', () => {
    const names = buildListeners(meshOf([service({ protocol: 'tcp' })]), DEFAULT_MESH_SETTINGS).map((b) => b.name);
    expect(names).toEqual(['gateway']);
  });

  it('builds listeners Envoy accepts', () => {
    for (const b of built) {
      expect(b.resource.name).toBe(b.name);
      expectValidEnvoy('envoy.config.listener.v3.Listener', b.resource);
    }
  });
});
