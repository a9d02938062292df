import { describe, expect, it } from 'vitest';
import { DEFAULT_MESH_SETTINGS } from '../../model/mesh.ts';
import { expectValidEnvoy } from '../../../test/support/envoy.ts';
import { meshOf, sampleMesh, service, sidecarOnly, uidOf } from '../../../test/support/mesh-fixtures.ts';
import { buildListeners } from './listeners.ts';
import type { BuiltResource } from './types.ts';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
/** The `apg.mesh` metadata naming the service (a google.protobuf.Struct in protobufjs' shape). */
const origin = (namespace: string, name: string, uid = uidOf(namespace, name)) => ({
  filterMetadata: { 'apg.mesh': { fields: { service: { stringValue: `${namespace}/${name}` }, uid: { stringValue: uid } } } },
});
const ROUTER = { name: 'envoy.filters.http.router', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

/** The listeners of grpc clients and gateways; the sidecars' own ones are covered in sidecar.test.ts. */
const notSidecar = (built: BuiltResource[]) => built.filter((b) => !sidecarOnly(b));

/** Proxyless servers' listeners are covered in security.test.ts. */
const notServer = (built: BuiltResource[]) => built.filter((b) => !b.name.startsWith('grpc/server?'));

describe('buildListeners', () => {
  const all = notServer(buildListeners(sampleMesh(), DEFAULT_MESH_SETTINGS));
  const built = notSidecar(all);

  it('builds two API listeners per HTTP service (with and without the port), none for tcp, then the gateway, then the sidecars\' listeners', () => {
    expect(all.map((b) => b.name)).toEqual([
      'greeter.default:50051',
      'greeter.default',
      'payments.ext:443',
      'payments.ext',
      'web.shop:8080',
      'web.shop',
      'gateway',
      'virtualOutbound',
      'outbound:443',
      'outbound:5432',
      'outbound:8080',
      'outbound:50051',
      'inbound:greeter.default',
      'inbound:payments.ext',
      'inbound:db.shop',
      'inbound:web.shop',
    ]);
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

  it('shows API listeners to grpc clients only, the gateway listener to gateways only, and sidecar listeners to sidecars only', () => {
    expect(Object.fromEntries(all.map((b) => [b.name, [b.roles, b.owner]]))).toEqual({
      'greeter.default:50051': [['grpc'], undefined],
      'greeter.default': [['grpc'], undefined],
      'payments.ext:443': [['grpc'], undefined],
      'payments.ext': [['grpc'], undefined],
      'web.shop:8080': [['grpc'], undefined],
      'web.shop': [['grpc'], undefined],
      gateway: [['gateway'], undefined],
      virtualOutbound: [['sidecar'], undefined],
      'outbound:443': [['sidecar'], undefined],
      'outbound:5432': [['sidecar'], undefined],
      'outbound:8080': [['sidecar'], undefined],
      'outbound:50051': [['sidecar'], undefined],
      'inbound:greeter.default': [['sidecar'], 'default/greeter'],
      'inbound:payments.ext': [['sidecar'], 'ext/payments'],
      'inbound:db.shop': [['sidecar'], 'shop/db'],
      'inbound:web.shop': [['sidecar'], 'shop/web'],
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
    expect(before.filter(sidecarOnly).map((b) => b.name)).toEqual(['virtualOutbound', 'outbound:50051', 'inbound:greeter.default']);
    expect(after).toStrictEqual(
      before.map((b) =>
        b.name === 'gateway' || sidecarOnly(b)
          ? b
          : { ...b, resource: { ...b.resource, metadata: origin('default', 'greeter', 'bbbbbbbb-0000-4000-8000-000000000002') } },
      ),
    );
    expect(before[0]!.resource.metadata).toEqual(origin('default', 'greeter', 'aaaaaaaa-0000-4000-8000-000000000001'));
  });

  it('builds the gateway listener on the configured port with routes over RDS', () => {
    const gateway = notSidecar(buildListeners(meshOf([]), { ...DEFAULT_MESH_SETTINGS, gatewayPort: 8000 }));
    expect(gateway).toStrictEqual([
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

  it('builds no API listener for a tcp-only mesh, only the gateway listener (and the sidecars\')', () => {
    const listeners = buildListeners(meshOf([service({ protocol: 'tcp' })]), DEFAULT_MESH_SETTINGS);
    expect(notSidecar(listeners).map((b) => b.name)).toEqual(['gateway']);
    expect(listeners.filter(sidecarOnly).map((b) => b.name)).toEqual(['virtualOutbound', 'outbound:50051', 'inbound:greeter.default']);
  });

  it('builds listeners Envoy accepts', () => {
    for (const b of all) {
      expect(b.resource.name).toBe(b.name);
      expectValidEnvoy('envoy.config.listener.v3.Listener', b.resource);
    }
  });
});
