/**
 * Builds `envoy.config.accesslog.v3.AccessLog` entries: Envoy's gRPC access loggers, which stream
 * each request (HTTP) or connection (TCP) to the control plane's AccessLogService (src/analytics).
 */
import type { TelemetrySettings } from '../model/mesh.ts';
import { BOOTSTRAP_XDS_CLUSTER, TELEMETRY_CLUSTER } from '../model/names.ts';
import { typed, type Plain } from './common.ts';

const HTTP_GRPC_ACCESS_LOGGER = 'envoy.access_loggers.http_grpc';
const TCP_GRPC_ACCESS_LOGGER = 'envoy.access_loggers.tcp_grpc';
const HTTP_GRPC_ACCESS_LOG_TYPE = 'envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig';
const TCP_GRPC_ACCESS_LOG_TYPE = 'envoy.extensions.access_loggers.grpc.v3.TcpGrpcAccessLogConfig';

/** The log name Envoy sends with each stream (the ALS identifier's `log_name`). */
const ACCESS_LOG_NAME = 'apg';

/**
 * Request headers logged besides Envoy's own fields: ingestion takes the trace id from `traceparent`
 * (W3C), and follows a request without one by its `x-request-id`.
 */
const LOGGED_REQUEST_HEADERS = ['traceparent', 'x-request-id'];

/** The gRPC status of a gRPC request: in the trailers, or the headers of a trailers-only answer (an error counts as its HTTP class). */
const LOGGED_GRPC_STATUS = ['grpc-status'];

/**
 * What a proxy's access-log stream may hold before Envoy drops logs: its gRPC access logger drops a
 * message while the stream is above its write buffer's high watermark, and the HTTP/2 codec sets
 * that watermark of an upstream stream to the cluster's `initial_stream_window_size` (Envoy's
 * default 256 MiB). The served telemetry cluster and the bootstraps' `xds_cluster` set it to this:
 * enough for ~290 ms of one stream carrying 50,000 entries/s (~29 MB/s) while the control plane is
 * busy, and a bounded cost to a proxy whose control plane is away.
 */
export const ACCESS_LOG_STREAM_BUFFER_BYTES = 8 * 1024 * 1024;

/** The cluster the access loggers stream to: the served telemetry cluster, else the bootstrap's own way to the control plane. */
export function accessLogCluster(telemetry: TelemetrySettings): string {
  return telemetry.address ? TELEMETRY_CLUSTER : BOOTSTRAP_XDS_CLUSTER;
}

/** `CommonGrpcAccessLogConfig`: log name, the gRPC service on `cluster`, and the v3 ALS API. */
function commonGrpcAccessLogConfig(cluster: string): Plain {
  return { logName: ACCESS_LOG_NAME, grpcService: { envoyGrpc: { clusterName: cluster } }, transportApiVersion: 'V3' };
}

/** The HTTP gRPC access logger (for HTTP connection managers), logging `LOGGED_REQUEST_HEADERS` and the gRPC status too. */
export function httpGrpcAccessLog(cluster: string): Plain {
  return {
    name: HTTP_GRPC_ACCESS_LOGGER,
    typedConfig: typed(HTTP_GRPC_ACCESS_LOG_TYPE, {
      commonConfig: commonGrpcAccessLogConfig(cluster),
      additionalRequestHeadersToLog: LOGGED_REQUEST_HEADERS,
      additionalResponseHeadersToLog: LOGGED_GRPC_STATUS,
      additionalResponseTrailersToLog: LOGGED_GRPC_STATUS,
    }),
  };
}

/** The TCP gRPC access logger (for TCP proxies). */
export function tcpGrpcAccessLog(cluster: string): Plain {
  return { name: TCP_GRPC_ACCESS_LOGGER, typedConfig: typed(TCP_GRPC_ACCESS_LOG_TYPE, { commonConfig: commonGrpcAccessLogConfig(cluster) }) };
}

/** The `access_log` list of an HCM (`http`) or a TCP proxy (`tcp`) under these settings: empty when access logging is off. */
export function accessLogs(kind: 'http' | 'tcp', telemetry: TelemetrySettings): Plain[] {
  if (!telemetry.accessLog) return [];
  const cluster = accessLogCluster(telemetry);
  return [kind === 'http' ? httpGrpcAccessLog(cluster) : tcpGrpcAccessLog(cluster)];
}
