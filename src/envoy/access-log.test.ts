import { describe, expect, it } from 'vitest';
import type { TelemetrySettings } from '../model/mesh.ts';
import { messageType } from '../protos/loader.ts';
import { validateMessage } from '../protos/validate.ts';
import { expectValidEnvoy } from '../../test/support/envoy.ts';
import { accessLogCluster, accessLogs, httpGrpcAccessLog, tcpGrpcAccessLog } from './access-log.ts';
import type { Plain } from './common.ts';
import { httpConnectionManager, HCM_TYPE } from './http-connection-manager.ts';
import { tcpProxy } from './listener.ts';

const ACCESS_LOG = 'envoy.config.accesslog.v3.AccessLog';
const GRPC_CONFIGS = 'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.';

/** The common part of both gRPC access loggers, written out. */
const common = (clusterName: string): Plain => ({ logName: 'apg', grpcService: { envoyGrpc: { clusterName } }, transportApiVersion: 'V3' });
const httpLogger = (cluster: string): Plain => ({
  name: 'envoy.access_loggers.http_grpc',
  typedConfig: {
    '@type': `${GRPC_CONFIGS}HttpGrpcAccessLogConfig`,
    commonConfig: common(cluster),
    additionalRequestHeadersToLog: ['traceparent', 'x-request-id'],
    additionalResponseHeadersToLog: ['grpc-status'],
    additionalResponseTrailersToLog: ['grpc-status'],
  },
});
const tcpLogger = (cluster: string): Plain => ({
  name: 'envoy.access_loggers.tcp_grpc',
  typedConfig: { '@type': `${GRPC_CONFIGS}TcpGrpcAccessLogConfig`, commonConfig: common(cluster) },
});

const ADDRESS = { host: 'telemetry.mesh', port: 18001 };

describe('accessLogs', () => {
  const cases: { name: string; telemetry: TelemetrySettings; http: Plain[]; tcp: Plain[] }[] = [
    { name: 'off: no access logger', telemetry: { accessLog: false }, http: [], tcp: [] },
    { name: 'off with an address: still none', telemetry: { accessLog: false, address: ADDRESS }, http: [], tcp: [] },
    { name: "on without an address: to the bootstrap's xds_cluster", telemetry: { accessLog: true }, http: [httpLogger('xds_cluster')], tcp: [tcpLogger('xds_cluster')] },
    { name: 'on with an address: to the served telemetry cluster', telemetry: { accessLog: true, address: ADDRESS }, http: [httpLogger('apg-telemetry')], tcp: [tcpLogger('apg-telemetry')] },
  ];

  it.each(cases)('$name', ({ telemetry, http, tcp }) => {
    expect(accessLogs('http', telemetry)).toStrictEqual(http);
    expect(accessLogs('tcp', telemetry)).toStrictEqual(tcp);
    for (const entry of [...http, ...tcp]) expectValidEnvoy(ACCESS_LOG, entry);
  });

  it('names the cluster by the address alone', () => {
    expect(accessLogCluster({ accessLog: true })).toBe('xds_cluster');
    expect(accessLogCluster({ accessLog: true, address: { host: '10.0.0.5', port: 9000 } })).toBe('apg-telemetry');
  });
});

describe('the loggers where they are used', () => {
  it('an HCM carries the HTTP logger in access_log', () => {
    const hcm = httpConnectionManager('gateway', { rds: 'gateway' }, {}, { accessLog: [httpGrpcAccessLog('xds_cluster')] });
    expect(hcm.accessLog).toStrictEqual([httpLogger('xds_cluster')]);
    expectValidEnvoy(HCM_TYPE, hcm);
  });

  it('a TCP proxy carries the TCP logger in access_log', () => {
    const filter = tcpProxy('outbound:5432', 'db.shop', [tcpGrpcAccessLog('apg-telemetry')]);
    expect((filter.typedConfig as Plain).accessLog).toStrictEqual([tcpLogger('apg-telemetry')]);
    expectValidEnvoy('envoy.config.listener.v3.Filter', filter);
  });

  it('the publish gate would refuse a logger without a log name or a gRPC service (PGV)', () => {
    const broken = { ...httpLogger('x'), typedConfig: { '@type': `${GRPC_CONFIGS}HttpGrpcAccessLogConfig`, commonConfig: { transportApiVersion: 'V3' } } };
    const paths = validateMessage(messageType(ACCESS_LOG), broken).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining([expect.stringMatching(/common_config\.log_name$/), expect.stringMatching(/common_config\.grpc_service$/)]));
  });
});
