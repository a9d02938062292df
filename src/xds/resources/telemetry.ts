/**
 * Telemetry in the generated config, for Envoy proxies only (gateways and sidecars): the clusters of
 * the telemetry services and of the span collector, and what each HCM and TCP proxy reports (gRPC
 * access loggers, tracing). Proxyless gRPC (API listeners, A36 server listeners) gets none of it:
 * grpc-js-xds implements neither access loggers nor tracers.
 */
import { ACCESS_LOG_STREAM_BUFFER_BYTES, accessLogs } from '../../envoy/access-log.ts';
import { addressCluster } from '../../envoy/cluster.ts';
import type { Plain } from '../../envoy/common.ts';
import type { HcmTelemetry } from '../../envoy/http-connection-manager.ts';
import { hcmTracing, tracingEnabled } from '../../envoy/tracing.ts';
import type { Mesh, MeshSettings, Service } from '../../model/mesh.ts';
import { serviceHost, serviceKeyOf, TELEMETRY_CLUSTER, TRACING_CLUSTER } from '../../model/names.ts';
import { identityVariantKey } from '../../model/proxy.ts';
import type { BuiltResource } from './types.ts';

const ENVOY_ROLES = ['gateway', 'sidecar'] as const;

const clusters = new WeakMap<MeshSettings, BuiltResource[]>();

/**
 * The telemetry cluster (access logging on and an address set; gRPC, so HTTP/2, its streams'
 * buffers bounded by `ACCESS_LOG_STREAM_BUFFER_BYTES`) and the tracing
 * cluster (a provider with an address; OTLP over gRPC on HTTP/2, Zipkin's JSON on HTTP/1.1), built
 * once per settings object so that they are encoded once.
 */
export function telemetryClusters(settings: MeshSettings): BuiltResource[] {
  let out = clusters.get(settings);
  if (out) return out;
  out = [];
  const { telemetry, tracing } = settings;
  if (telemetry.accessLog && telemetry.address) {
    const http2 = { initialStreamWindowSize: { value: ACCESS_LOG_STREAM_BUFFER_BYTES } };
    out.push({ name: TELEMETRY_CLUSTER, resource: addressCluster(TELEMETRY_CLUSTER, telemetry.address, settings, 'grpc', http2), roles: ENVOY_ROLES });
  }
  if (tracingEnabled(tracing)) {
    const protocol = tracing.provider === 'opentelemetry' ? 'grpc' : 'http';
    out.push({ name: TRACING_CLUSTER, resource: addressCluster(TRACING_CLUSTER, tracing.address, settings, protocol), roles: ENVOY_ROLES });
  }
  clusters.set(settings, out);
  return out;
}

/** What an Envoy HCM reports under the settings: the HTTP access logger and tracing, spans named `traceService`. */
export function hcmTelemetry(settings: MeshSettings, traceService: string): HcmTelemetry {
  const accessLog = accessLogs('http', settings.telemetry);
  const tracing = hcmTracing(settings.tracing, traceService);
  return { ...(accessLog.length ? { accessLog } : {}), ...(tracing ? { tracing } : {}) };
}

/** The access loggers of an Envoy TCP proxy under the settings (none when access logging is off). */
export function tcpAccessLogs(settings: MeshSettings): Plain[] {
  return accessLogs('tcp', settings.telemetry);
}

/** The span service name of a service's sidecars: `<name>.<namespace>`, as their bootstraps' `node.cluster`. */
export function traceServiceOf(svc: Service): string {
  return serviceHost(svc);
}

const variantMemo = new WeakMap<Plain, Map<string, Plain>>();

/**
 * A listener that every sidecar shares (an outbound port's), with one variant per service whose HCM
 * names that service as the spans' service, seen by its sidecars only. Only OpenTelemetry needs it:
 * it names the service in its config, while Zipkin takes the proxy's `node.cluster`. `rebuild`
 * builds the listener for a service name; a variant is reused while the shared listener object is
 * the same (same services on the port, same settings), so it is encoded once.
 */
export function withTraceServiceVariants(built: BuiltResource, mesh: Mesh, settings: MeshSettings, rebuild: (traceService: string) => Plain): BuiltResource {
  if (!tracingEnabled(settings.tracing) || settings.tracing.provider !== 'opentelemetry') return built;
  let byName = variantMemo.get(built.resource);
  if (!byName) variantMemo.set(built.resource, (byName = new Map()));
  const memo = byName;
  const variants = mesh.services.map((svc) => {
    const name = traceServiceOf(svc);
    let resource = memo.get(name);
    if (!resource) memo.set(name, (resource = rebuild(name)));
    return { key: identityVariantKey(serviceKeyOf(svc)), resource, owner: serviceKeyOf(svc) };
  });
  return variants.length > 0 ? { ...built, variants } : built;
}
