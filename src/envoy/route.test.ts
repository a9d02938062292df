import { describe, expect, it } from 'vitest';
import type { Service } from '../model/mesh.ts';
import { expectValidEnvoy } from '../../test/support/envoy.ts';
import { service } from '../../test/support/mesh-fixtures.ts';
import type { Plain } from './common.ts';
import { attachedRoutes, catchAllVirtualHost, defaultRoute, routeConfiguration, virtualHost } from './route.ts';
import type { AttachedRoute } from '../model/routing.ts';

const defaultRouteTo = (cluster: string): Plain => ({
  name: 'default',
  match: { prefix: '/' },
  route: { cluster, timeout: { seconds: 0 } },
});

describe('defaultRoute', () => {
  it('sends every path to the service cluster with the timeout turned off', () => {
    const got = defaultRoute(service({ name: 'web', namespace: 'shop' }));
    expect(got).toEqual(defaultRouteTo('web.shop'));
    expectValidEnvoy('envoy.config.route.v3.Route', got);
  });
});

describe('virtualHost', () => {
  const cases: { name: string; svc: Partial<Service>; extra?: string[]; want: Plain }[] = [
    {
      name: 'answers for the host with and without the port',
      svc: {},
      want: { name: 'greeter.default', domains: ['greeter.default', 'greeter.default:50051'], routes: [defaultRouteTo('greeter.default')] },
    },
    {
      name: 'extra domains come last',
      svc: { name: 'web', namespace: 'shop', port: 8080 },
      extra: ['web.shop:10000'],
      want: { name: 'web.shop', domains: ['web.shop', 'web.shop:8080', 'web.shop:10000'], routes: [defaultRouteTo('web.shop')] },
    },
    {
      // Envoy rejects the whole route configuration when a domain repeats
      name: 'an extra domain equal to a service domain is not repeated',
      svc: { name: 'web', namespace: 'shop', port: 10000 },
      extra: ['web.shop:10000'],
      want: { name: 'web.shop', domains: ['web.shop', 'web.shop:10000'], routes: [defaultRouteTo('web.shop')] },
    },
  ];
  it.each(cases)('$name', ({ svc, extra, want }) => {
    const got = virtualHost(service(svc), extra);
    expect(got).toEqual(want);
    expectValidEnvoy('envoy.config.route.v3.VirtualHost', got);
  });
});

describe('catchAllVirtualHost', () => {
  const cases: { name: string; cluster: string; want: Plain }[] = [
    {
      name: "a sidecar's inbound side: every host and path to the local application, timeout off",
      cluster: 'inbound:web.shop',
      want: { name: 'inbound:web.shop', domains: ['*'], routes: [defaultRouteTo('inbound:web.shop')] },
    },
    { name: 'named after the cluster', cluster: 'local', want: { name: 'local', domains: ['*'], routes: [defaultRouteTo('local')] } },
  ];
  it.each(cases)('$name', ({ cluster, want }) => {
    const got = catchAllVirtualHost(cluster);
    expect(got).toStrictEqual(want);
    expectValidEnvoy('envoy.config.route.v3.VirtualHost', got);
  });

  it('routes like the default route of a service, to the given cluster', () => {
    expect((catchAllVirtualHost('greeter.default').routes as Plain[])[0]).toStrictEqual(defaultRoute(service()));
  });
});

describe('routeConfiguration', () => {
  const web = service({ name: 'web', namespace: 'shop', protocol: 'http', port: 80 });
  const cases: { name: string; hosts: Plain[]; want: Plain }[] = [
    { name: 'no virtual hosts', hosts: [], want: { name: 'gateway', virtualHosts: [] } },
    {
      name: 'virtual hosts in the order given',
      hosts: [virtualHost(web), virtualHost(service())],
      want: {
        name: 'gateway',
        virtualHosts: [
          { name: 'web.shop', domains: ['web.shop', 'web.shop:80'], routes: [defaultRouteTo('web.shop')] },
          { name: 'greeter.default', domains: ['greeter.default', 'greeter.default:50051'], routes: [defaultRouteTo('greeter.default')] },
        ],
      },
    },
    {
      name: 'one catch-all virtual host (a sidecar inbound route configuration)',
      hosts: [catchAllVirtualHost('inbound:web.shop')],
      want: { name: 'gateway', virtualHosts: [{ name: 'inbound:web.shop', domains: ['*'], routes: [defaultRouteTo('inbound:web.shop')] }] },
    },
  ];
  it.each(cases)('$name', ({ hosts, want }) => {
    const got = routeConfiguration('gateway', hosts);
    expect(got).toEqual(want);
    expectValidEnvoy('envoy.config.route.v3.RouteConfiguration', got);
  });
});

describe('attachedRoutes', () => {
  const traced: AttachedRoute = {
    spec: { namespace: 'shop', name: 'cart', hosts: [], priority: 0, match: {}, destinations: [{ namespace: 'shop', name: 'web', weight: 100 }], tracing: { samplePercent: 50 } },
  };

  it("gives Envoy a route's own tracing sampling", () => {
    const [got] = attachedRoutes([traced], 'envoy');
    expect(got?.tracing).toEqual({ randomSampling: { numerator: 50, denominator: 'HUNDRED' } });
    expectValidEnvoy('envoy.config.route.v3.Route', got!);
  });

  it('gives proxyless gRPC no tracing (the mesh traces through Envoy only), and leaves the spec as it was', () => {
    const [got] = attachedRoutes([traced], 'grpc');
    expect(got).not.toHaveProperty('tracing');
    expect(got).toEqual({ ...attachedRoutes([traced], 'envoy')[0], tracing: undefined });
    expect(traced.spec.tracing).toEqual({ samplePercent: 50 });
  });
});
