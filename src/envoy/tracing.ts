/**
 * Builds Envoy's tracing config: the HCM's `Tracing` (the span collector as `envoy.config.trace.v3.
 * Tracing.Http`, the mesh's sampling) and a Route's `Tracing` (a route's own sampling).
 */
import type { TracingSettings } from '../model/mesh.ts';
import { TRACING_CLUSTER } from '../model/names.ts';
import { typed, type Plain } from './common.ts';
import { fractionalPercent } from './percent.ts';

const OPENTELEMETRY_TRACER = 'envoy.tracers.opentelemetry';
const ZIPKIN_TRACER = 'envoy.tracers.zipkin';
const OPENTELEMETRY_CONFIG_TYPE = 'envoy.config.trace.v3.OpenTelemetryConfig';
const ZIPKIN_CONFIG_TYPE = 'envoy.config.trace.v3.ZipkinConfig';

/** Zipkin's v2 span API, which collectors (Zipkin, Jaeger, the OpenTelemetry Collector's zipkin receiver) serve. */
const ZIPKIN_SPANS_PATH = '/api/v2/spans';

/** True when the settings send spans somewhere: a provider, and the address of its collector. */
export function tracingEnabled(tracing: TracingSettings): tracing is TracingSettings & { provider: 'opentelemetry' | 'zipkin'; address: NonNullable<TracingSettings['address']> } {
  return tracing.provider !== 'none' && tracing.address !== undefined;
}

/**
 * `envoy.config.trace.v3.Tracing.Http` for the provider, sending to the served tracing cluster.
 * OpenTelemetry exports OTLP over gRPC and names the span's service itself; Zipkin has no such
 * field and takes the service from the node's `cluster` (the bootstraps set it to the service).
 */
export function tracingProvider(provider: 'opentelemetry' | 'zipkin', serviceName: string): Plain {
  if (provider === 'opentelemetry') {
    return { name: OPENTELEMETRY_TRACER, typedConfig: typed(OPENTELEMETRY_CONFIG_TYPE, { grpcService: { envoyGrpc: { clusterName: TRACING_CLUSTER } }, serviceName }) };
  }
  return {
    name: ZIPKIN_TRACER,
    typedConfig: typed(ZIPKIN_CONFIG_TYPE, { collectorCluster: TRACING_CLUSTER, collectorEndpoint: ZIPKIN_SPANS_PATH, collectorEndpointVersion: 'HTTP_JSON' }),
  };
}

/** The HCM's `Tracing` under these settings (spans of `serviceName`), or undefined when tracing is off. */
export function hcmTracing(tracing: TracingSettings, serviceName: string): Plain | undefined {
  if (!tracingEnabled(tracing)) return undefined;
  // random_sampling is an `envoy.type.v3.Percent` (0-100, a double), unlike a route's FractionalPercent.
  return { provider: tracingProvider(tracing.provider, serviceName), randomSampling: { value: tracing.samplePercent } };
}

/** A Route's `Tracing`: its own share of requests traced, in place of the HCM's. */
export function routeTracing(t: { samplePercent: number }): Plain {
  return { randomSampling: fractionalPercent(t.samplePercent) };
}
