import { describe, expect, it } from 'vitest';
import { expectValidEnvoy } from '../../test/support/envoy.ts';
import type { Plain } from './common.ts';
import { httpConnectionManager } from './http-connection-manager.ts';
import { apiListener, hcmFilter, httpListener, socketListener, tcpProxy, virtualOutboundListener } from './listener.ts';

const LISTENER = 'envoy.config.listener.v3.Listener';
const RDS_HCM = httpConnectionManager('gateway', { rds: 'gateway' });
const INLINE_HCM = httpConnectionManager('greeter.default', {
  inline: { name: 'greeter.default', virtualHosts: [{ name: 'greeter.default', domains: ['greeter.default'], routes: [] }] },
});
const HCM_FILTER = 'envoy.filters.network.http_connection_manager';
const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
/** The tcp_proxy network filter entry, written out. */
const tcpProxyTo = (statPrefix: string, cluster: string, accessLog?: Plain[]): Plain => ({
  name: 'envoy.filters.network.tcp_proxy',
  typedConfig: { '@type': TCP_PROXY, statPrefix, cluster, ...(accessLog ? { accessLog } : {}) },
});
const TCP_LOG: Plain = {
  name: 'envoy.access_loggers.tcp_grpc',
  typedConfig: {
    '@type': 'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.TcpGrpcAccessLogConfig',
    commonConfig: { logName: 'apg', grpcService: { envoyGrpc: { clusterName: 'xds_cluster' } }, transportApiVersion: 'V3' },
  },
};
const at = (address: string, portValue: number): Plain => ({ socketAddress: { address, portValue } });

interface Case {
  name: string;
  got: () => Plain;
  want: Plain;
}

const cases: Case[] = [
  {
    name: 'API listener: no socket, only the HCM (proxyless gRPC)',
    got: () => apiListener('greeter.default', INLINE_HCM),
    want: { name: 'greeter.default', apiListener: { apiListener: INLINE_HCM } },
  },
  {
    name: 'API listener named with the port',
    got: () => apiListener('greeter.default:50051', INLINE_HCM),
    want: { name: 'greeter.default:50051', apiListener: { apiListener: INLINE_HCM } },
  },
  {
    name: 'socket listener on all IPv4 addresses with the HCM as its only filter',
    got: () => httpListener('gateway', '0.0.0.0', 10000, RDS_HCM),
    want: {
      name: 'gateway',
      address: { socketAddress: { address: '0.0.0.0', portValue: 10000 } },
      filterChains: [{ filters: [{ name: HCM_FILTER, typedConfig: RDS_HCM }] }],
    },
  },
  {
    name: 'socket listener on IPv6',
    got: () => httpListener('gateway6', '::', 8443, RDS_HCM),
    want: {
      name: 'gateway6',
      address: { socketAddress: { address: '::', portValue: 8443 } },
      filterChains: [{ filters: [{ name: HCM_FILTER, typedConfig: RDS_HCM }] }],
    },
  },
  {
    name: 'socket listener, no options: binds its port, no traffic direction',
    got: () => socketListener('plain', '0.0.0.0', 9000, [tcpProxyTo('plain', 'a.default')]),
    want: { name: 'plain', address: at('0.0.0.0', 9000), filterChains: [{ filters: [tcpProxyTo('plain', 'a.default')] }] },
  },
  {
    name: "socket listener for a sidecar's outbound port: not bound (it only takes connections handed over), OUTBOUND",
    got: () => socketListener('outbound:8080', '0.0.0.0', 8080, [{ name: HCM_FILTER, typedConfig: RDS_HCM }], { direction: 'OUTBOUND', bindToPort: false }),
    want: {
      name: 'outbound:8080',
      address: at('0.0.0.0', 8080),
      bindToPort: { value: false },
      trafficDirection: 'OUTBOUND',
      filterChains: [{ filters: [{ name: HCM_FILTER, typedConfig: RDS_HCM }] }],
    },
  },
  {
    name: "socket listener for a sidecar's inbound side: bound, INBOUND",
    got: () => socketListener('inbound:db.shop', '0.0.0.0', 15006, [tcpProxyTo('inbound_db_shop', 'inbound:db.shop')], { direction: 'INBOUND' }),
    want: {
      name: 'inbound:db.shop',
      address: at('0.0.0.0', 15006),
      trafficDirection: 'INBOUND',
      filterChains: [{ filters: [tcpProxyTo('inbound_db_shop', 'inbound:db.shop')] }],
    },
  },
  {
    name: 'bindToPort: true is the default and is left out',
    got: () => socketListener('b', '::', 1, [tcpProxyTo('b', 'c')], { bindToPort: true }),
    want: { name: 'b', address: at('::', 1), filterChains: [{ filters: [tcpProxyTo('b', 'c')] }] },
  },
  {
    name: 'socket listener with several filters keeps their order',
    got: () => socketListener('two', '0.0.0.0', 7000, [tcpProxyTo('x', 'x'), tcpProxyTo('y', 'y')]),
    want: { name: 'two', address: at('0.0.0.0', 7000), filterChains: [{ filters: [tcpProxyTo('x', 'x'), tcpProxyTo('y', 'y')] }] },
  },
  {
    name: 'virtual outbound listener: original destination, OUTBOUND, passes the rest through',
    got: () => virtualOutboundListener('virtualOutbound', 15001, 'PassthroughCluster'),
    want: {
      name: 'virtualOutbound',
      address: at('0.0.0.0', 15001),
      useOriginalDst: { value: true },
      trafficDirection: 'OUTBOUND',
      filterChains: [{ filters: [tcpProxyTo('virtualOutbound', 'PassthroughCluster')] }],
    },
  },
  {
    name: 'virtual outbound listener whose pass-through is logged',
    got: () => virtualOutboundListener('virtualOutbound', 15001, 'PassthroughCluster', [TCP_LOG]),
    want: {
      name: 'virtualOutbound',
      address: at('0.0.0.0', 15001),
      useOriginalDst: { value: true },
      trafficDirection: 'OUTBOUND',
      filterChains: [{ filters: [tcpProxyTo('virtualOutbound', 'PassthroughCluster', [TCP_LOG])] }],
    },
  },
  {
    name: 'virtual outbound listener on another port',
    got: () => virtualOutboundListener('vo', 16001, 'elsewhere'),
    want: {
      name: 'vo',
      address: at('0.0.0.0', 16001),
      useOriginalDst: { value: true },
      trafficDirection: 'OUTBOUND',
      filterChains: [{ filters: [tcpProxyTo('vo', 'elsewhere')] }],
    },
  },
];

describe('listeners', () => {
  it.each(cases)('$name', ({ got, want }) => {
    const listener = got();
    expect(listener).toEqual(want);
    expectValidEnvoy(LISTENER, listener);
  });

  it('an API listener has no address or filter chains; a socket listener has no API listener', () => {
    const api = apiListener('a', INLINE_HCM);
    const socket = httpListener('b', '0.0.0.0', 1, RDS_HCM);
    expect(api).not.toHaveProperty('address');
    expect(api).not.toHaveProperty('filterChains');
    expect(socket).not.toHaveProperty('apiListener');
  });
});

describe('network filters', () => {
  const FILTER = 'envoy.config.listener.v3.Filter';
  const cases: { name: string; got: () => Plain; want: Plain }[] = [
    { name: 'hcmFilter wraps an HCM as the http_connection_manager filter', got: () => hcmFilter(RDS_HCM), want: { name: HCM_FILTER, typedConfig: RDS_HCM } },
    { name: 'tcpProxy: stat prefix from the name, separators replaced', got: () => tcpProxy('outbound:5432', 'db.shop'), want: tcpProxyTo('outbound_5432', 'db.shop') },
    {
      name: 'tcpProxy to a sidecar inbound cluster',
      got: () => tcpProxy('inbound:db.shop', 'inbound:db.shop'),
      want: tcpProxyTo('inbound_db_shop', 'inbound:db.shop'),
    },
    { name: 'tcpProxy with access loggers', got: () => tcpProxy('outbound:5432', 'db.shop', [TCP_LOG]), want: tcpProxyTo('outbound_5432', 'db.shop', [TCP_LOG]) },
    { name: 'tcpProxy with an empty access-log list: left out', got: () => tcpProxy('outbound:5432', 'db.shop', []), want: tcpProxyTo('outbound_5432', 'db.shop') },
  ];
  it.each(cases)('$name', ({ got, want }) => {
    const filter = got();
    expect(filter).toStrictEqual(want);
    expectValidEnvoy(FILTER, filter);
  });

  it('httpListener is a socket listener with only the HCM filter', () => {
    expect(httpListener('g', '0.0.0.0', 80, RDS_HCM)).toStrictEqual(socketListener('g', '0.0.0.0', 80, [hcmFilter(RDS_HCM)]));
  });
});
