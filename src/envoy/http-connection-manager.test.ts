import { describe, expect, it } from 'vitest';
import { expectValidEnvoy } from '../../test/support/envoy.ts';
import type { Plain } from './common.ts';
import { HCM_TYPE, httpConnectionManager, routerFilter, type HcmTelemetry, type RouteSource } from './http-connection-manager.ts';

const ROUTER = {
  name: 'envoy.filters.http.router',
  typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
};
const INLINE_ROUTES = {
  name: 'greeter.default:50051',
  virtualHosts: [
    {
      name: 'greeter.default',
      domains: ['greeter.default'],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'greeter.default' } }],
    },
  ],
};

interface Case {
  name: string;
  listener: string;
  routes: RouteSource;
  telemetry?: HcmTelemetry;
  want: Plain;
}

/** Stand-ins: the HCM places what it is given (access-log.test.ts and tracing.test.ts build the real ones). */
const ACCESS_LOG = { name: 'envoy.access_loggers.http_grpc', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig', commonConfig: { logName: 'apg', grpcService: { envoyGrpc: { clusterName: 'xds_cluster' } }, transportApiVersion: 'V3' } } };
const TRACING = { randomSampling: { value: 10 } };

const cases: Case[] = [
  {
    name: 'routes inline (API listeners)',
    listener: 'greeter.default:50051',
    routes: { inline: INLINE_ROUTES },
    want: {
      '@type': `type.googleapis.com/${HCM_TYPE}`,
      statPrefix: 'greeter_default_50051',
      codecType: 'AUTO',
      routeConfig: INLINE_ROUTES,
      httpFilters: [ROUTER],
    },
  },
  {
    name: 'routes over RDS (gateway)',
    listener: 'gateway',
    routes: { rds: 'gateway' },
    want: {
      '@type': `type.googleapis.com/${HCM_TYPE}`,
      statPrefix: 'gateway',
      codecType: 'AUTO',
      rds: { configSource: { ads: {}, resourceApiVersion: 'V3' }, routeConfigName: 'gateway' },
      httpFilters: [ROUTER],
    },
  },
  {
    name: 'stat prefix keeps only letters, digits and _',
    listener: 'my-svc.team-a:8080',
    routes: { rds: 'other' },
    want: {
      '@type': `type.googleapis.com/${HCM_TYPE}`,
      statPrefix: 'my_svc_team_a_8080',
      codecType: 'AUTO',
      rds: { configSource: { ads: {}, resourceApiVersion: 'V3' }, routeConfigName: 'other' },
      httpFilters: [ROUTER],
    },
  },
  {
    name: 'access loggers and tracing after the filters, when given',
    listener: 'gateway',
    routes: { rds: 'gateway' },
    telemetry: { accessLog: [ACCESS_LOG], tracing: TRACING },
    want: {
      '@type': `type.googleapis.com/${HCM_TYPE}`,
      statPrefix: 'gateway',
      codecType: 'AUTO',
      rds: { configSource: { ads: {}, resourceApiVersion: 'V3' }, routeConfigName: 'gateway' },
      httpFilters: [ROUTER],
      accessLog: [ACCESS_LOG],
      tracing: TRACING,
    },
  },
  {
    name: 'an empty access-log list is left out',
    listener: 'gateway',
    routes: { rds: 'gateway' },
    telemetry: { accessLog: [] },
    want: {
      '@type': `type.googleapis.com/${HCM_TYPE}`,
      statPrefix: 'gateway',
      codecType: 'AUTO',
      rds: { configSource: { ads: {}, resourceApiVersion: 'V3' }, routeConfigName: 'gateway' },
      httpFilters: [ROUTER],
    },
  },
];

describe('httpConnectionManager', () => {
  it.each(cases)('$name', ({ listener, routes, telemetry, want }) => {
    const got = httpConnectionManager(listener, routes, {}, telemetry);
    expect(got).toEqual(want);
    expectValidEnvoy(HCM_TYPE, got);
  });

  it.each(cases)('ends its filter chain with the router: $name', ({ listener, routes }) => {
    const filters = httpConnectionManager(listener, routes).httpFilters as Plain[];
    expect(filters.at(-1)).toEqual(routerFilter());
    expect(filters.filter((f) => f.name === 'envoy.filters.http.router')).toHaveLength(1);
  });

  it('sets exactly one route source', () => {
    expect(Object.keys(httpConnectionManager('a', { inline: INLINE_ROUTES }))).not.toContain('rds');
    expect(Object.keys(httpConnectionManager('a', { rds: 'x' }))).not.toContain('routeConfig');
  });
});

describe('routerFilter', () => {
  it('is the typed router filter', () => {
    expect(routerFilter()).toEqual(ROUTER);
    expectValidEnvoy('envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter', routerFilter());
  });
});
