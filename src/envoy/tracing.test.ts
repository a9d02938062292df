import { describe, expect, it } from 'vitest';
import type { TracingSettings } from '../model/mesh.ts';
import { messageType } from '../protos/loader.ts';
import { validateMessage } from '../protos/validate.ts';
import { expectValidEnvoy } from '../../test/support/envoy.ts';
import type { Plain } from './common.ts';
import { HCM_TYPE, httpConnectionManager } from './http-connection-manager.ts';
import { hcmTracing, routeTracing, tracingEnabled } from './tracing.ts';

const HCM_TRACING = `${HCM_TYPE}.Tracing`;
const TRACE = 'type.googleapis.com/envoy.config.trace.v3.';
const COLLECTOR = { host: 'otel-collector', port: 4317 };

const otel = (serviceName: string): Plain => ({
  name: 'envoy.tracers.opentelemetry',
  typedConfig: { '@type': `${TRACE}OpenTelemetryConfig`, grpcService: { envoyGrpc: { clusterName: 'apg-tracing' } }, serviceName },
});
const ZIPKIN: Plain = {
  name: 'envoy.tracers.zipkin',
  typedConfig: { '@type': `${TRACE}ZipkinConfig`, collectorCluster: 'apg-tracing', collectorEndpoint: '/api/v2/spans', collectorEndpointVersion: 'HTTP_JSON' },
};

describe('hcmTracing', () => {
  const cases: { name: string; tracing: TracingSettings; want: Plain | undefined }[] = [
    { name: 'no provider: no tracing', tracing: { provider: 'none', samplePercent: 100 }, want: undefined },
    { name: 'a provider without an address: nowhere to send spans, no tracing', tracing: { provider: 'zipkin', samplePercent: 5 }, want: undefined },
    {
      name: 'OpenTelemetry: OTLP over gRPC to the tracing cluster, the service named, the mesh sampling',
      tracing: { provider: 'opentelemetry', address: COLLECTOR, samplePercent: 1 },
      want: { provider: otel('web.shop'), randomSampling: { value: 1 } },
    },
    {
      name: 'Zipkin: JSON v2 spans to the tracing cluster, fractions of a percent kept',
      tracing: { provider: 'zipkin', address: { host: '10.0.0.9', port: 9411 }, samplePercent: 0.25 },
      want: { provider: ZIPKIN, randomSampling: { value: 0.25 } },
    },
    {
      name: 'every request traced',
      tracing: { provider: 'opentelemetry', address: COLLECTOR, samplePercent: 100 },
      want: { provider: otel('web.shop'), randomSampling: { value: 100 } },
    },
  ];

  it.each(cases)('$name', ({ tracing, want }) => {
    const got = hcmTracing(tracing, 'web.shop');
    expect(got).toStrictEqual(want);
    expect(tracingEnabled(tracing)).toBe(want !== undefined);
    if (got) {
      expectValidEnvoy(HCM_TRACING, got);
      expectValidEnvoy(HCM_TYPE, httpConnectionManager('gateway', { rds: 'gateway' }, {}, { tracing: got }));
    }
  });

  it('would be refused (PGV) with a sampling percentage above 100: the settings must keep it in range', () => {
    const got = hcmTracing({ provider: 'zipkin', address: COLLECTOR, samplePercent: 101 }, 's')!;
    expect(validateMessage(messageType(HCM_TRACING), got).map((i) => i.path)).toEqual(['random_sampling.value']);
  });
});

describe('routeTracing', () => {
  it.each([
    [50, { numerator: 50, denominator: 'HUNDRED' }],
    [0.5, { numerator: 50, denominator: 'TEN_THOUSAND' }],
    [0.0001, { numerator: 1, denominator: 'MILLION' }],
  ])('%s %% as the smallest exact FractionalPercent', (samplePercent, randomSampling) => {
    const got = routeTracing({ samplePercent });
    expect(got).toStrictEqual({ randomSampling });
    expectValidEnvoy('envoy.config.route.v3.Tracing', got);
  });
});
