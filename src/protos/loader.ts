/**
 * Loads Envoy's v3 protos from the installed `@grpc/grpc-js-xds` package (its `deps/` folders) into
 * one protobufjs Root, shared by the xDS server, the builders' validation gate and telemetry.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);

/** The proto files our server uses; their imports are followed automatically. */
export const PROTO_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/cluster/v3/cds.proto',
  'envoy/service/endpoint/v3/eds.proto',
  'envoy/service/listener/v3/lds.proto',
  'envoy/service/route/v3/rds.proto',
  'envoy/service/secret/v3/sds.proto',
  'envoy/service/status/v3/csds.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/filters/network/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality.proto',
  'envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto',
  'envoy/extensions/load_balancing_policies/maglev/v3/maglev.proto',
  'envoy/extensions/load_balancing_policies/random/v3/random.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/config/bootstrap/v3/bootstrap.proto',
  // What generated listeners and the bootstraps configure for telemetry: the gRPC access loggers,
  // the tracers, and the metrics service stats sink (packed in Anys, so not reached by imports).
  'envoy/extensions/access_loggers/grpc/v3/als.proto',
  'envoy/config/trace/v3/opentelemetry.proto',
  'envoy/config/trace/v3/zipkin.proto',
  'envoy/config/metrics/v3/metrics_service.proto',
  // Telemetry Envoy streams to us: gRPC access logs (ALS) and metrics (its Prometheus import is in protos/).
  'envoy/service/accesslog/v3/als.proto',
  'envoy/service/metrics/v3/metrics_service.proto',
];

/** Our own protos (repository root `protos/`), for what the Envoy package does not ship (io/prometheus/client/metrics.proto). */
export const LOCAL_PROTO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../protos');

/** Include directories: Envoy's API, the xds/udpa annotations, googleapis, PGV, protobufjs' own well-known types, and `protos/` (searched last). */
export function protoIncludeDirs(): string[] {
  const xdsPkg = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  const deps = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(xdsPkg, 'deps', d));
  const pbjs = path.dirname(require.resolve('protobufjs/package.json'));
  return [...deps, pbjs, LOCAL_PROTO_DIR];
}

let cached: protobuf.Root | undefined;

/** Returns the shared Root with every file in PROTO_FILES (and `extra`) loaded and resolved. */
export function envoyRoot(extra: string[] = []): protobuf.Root {
  if (cached && extra.length === 0) return cached;
  const dirs = protoIncludeDirs();
  const root = cached ?? new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of dirs) {
      const candidate = path.join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync(cached ? extra : [...PROTO_FILES, ...extra], { keepCase: false });
  root.resolveAll();
  cached = root;
  return root;
}

/** Looks up a message type by its full name, e.g. `envoy.config.cluster.v3.Cluster`. */
export function messageType(fullName: string): protobuf.Type {
  return envoyRoot().lookupType(fullName);
}
