/** Telemetry from Envoy (ALS and metrics service): Envoy-shaped messages round-trip; bad bytes give issues, never exceptions. */
import { describe, expect, it } from 'vitest';
import { envoyRoot, messageType } from './loader.ts';
import { plainToStruct, structToPlain, type StructMsg } from './struct.ts';
import {
  TELEMETRY_MESSAGES,
  TELEMETRY_METHODS,
  TELEMETRY_SERVICES,
  decodeStreamAccessLogsMessage,
  decodeStreamMetricsMessage,
  decodeTelemetry,
  type AccessLogsMessage,
  type MetricsMessage,
} from './telemetry.ts';
import type { Result } from '../lib/result.ts';

const encode = (fullName: string, plain: Record<string, unknown>): Uint8Array => {
  const type = messageType(fullName);
  return type.encode(type.fromObject(plain)).finish();
};

const node = {
  id: 'sidecar~10.1.2.3~web-7d9f.shop~shop.svc.cluster.local',
  cluster: 'web',
  metadata: plainToStruct({ NAMESPACE: 'shop', SERVICE: 'web', ISTIO_VERSION: '1.0' }),
};

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const httpEntry = (path: string, status: number, requestId: string) => ({
  commonProperties: {
    downstreamRemoteAddress: { socketAddress: { address: '10.1.2.9', portValue: 51234 } },
    upstreamCluster: 'outbound|8080||web.shop',
    startTime: { seconds: 1_700_000_000, nanos: 123_000_000 },
    timeToLastDownstreamTxByte: { seconds: 0, nanos: 42_000_000 },
  },
  protocolVersion: 'HTTP2',
  request: {
    requestMethod: 'GET',
    path,
    requestId,
    requestHeadersBytes: 321,
    requestHeaders: { traceparent: TRACEPARENT },
  },
  response: { responseCode: { value: status } },
});

function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`unexpected issues: ${JSON.stringify(r.issues)}`);
  return r.value;
}

describe('telemetry protos', () => {
  it('are loaded with the shared root, the Prometheus model from protos/ included', () => {
    const root = envoyRoot();
    for (const name of Object.values(TELEMETRY_MESSAGES)) expect(root.lookupType(name).fullName).toBe(`.${name}`);
    expect(root.lookupService(TELEMETRY_SERVICES.accessLog).methods.StreamAccessLogs?.requestStream).toBe(true);
    expect(root.lookupService(TELEMETRY_SERVICES.metrics).methods.StreamMetrics?.requestType).toBe('StreamMetricsMessage');
    expect(TELEMETRY_METHODS.streamAccessLogs).toBe('/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs');
    expect(TELEMETRY_METHODS.streamMetrics).toBe('/envoy.service.metrics.v3.MetricsService/StreamMetrics');
    // Native-histogram fields keep upstream's numbers (the wire format must match Prometheus').
    const histogram = root.lookupType('io.prometheus.client.Histogram');
    expect(histogram.fields.positiveDelta?.id).toBe(13);
    expect(histogram.fields.createdTimestamp?.id).toBe(15);
    expect(root.lookupType('io.prometheus.client.Metric').fields.histogram?.id).toBe(7);
  });
});

describe('decodeStreamAccessLogsMessage', () => {
  it('decodes HTTP access logs with the stream identifier', () => {
    const bytes = encode(TELEMETRY_MESSAGES.streamAccessLogs, {
      identifier: { node, logName: 'apg-mesh-als' },
      httpLogs: { logEntry: [httpEntry('/api/cart', 200, 'req-1'), httpEntry('/api/pay', 503, 'req-2')] },
    });
    const msg: AccessLogsMessage = unwrap(decodeStreamAccessLogsMessage(bytes));

    expect(msg.identifier?.logName).toBe('apg-mesh-als');
    expect(msg.identifier?.node?.id).toBe(node.id);
    expect(structToPlain(msg.identifier?.node?.metadata as StructMsg)).toEqual({ NAMESPACE: 'shop', SERVICE: 'web', ISTIO_VERSION: '1.0' });
    expect(msg.tcpLogs).toBeUndefined();

    const [first, second] = msg.httpLogs?.logEntry ?? [];
    expect(first).toMatchObject({
      commonProperties: {
        downstreamRemoteAddress: { socketAddress: { address: '10.1.2.9', portValue: 51234 } },
        upstreamCluster: 'outbound|8080||web.shop',
        startTime: { seconds: '1700000000', nanos: 123_000_000 }, // int64 as a string
        timeToLastDownstreamTxByte: { nanos: 42_000_000 },
      },
      protocolVersion: 'HTTP2',
      request: {
        requestMethod: 'GET',
        path: '/api/cart',
        requestId: 'req-1',
        requestHeadersBytes: '321', // uint64 as a string
        requestHeaders: { traceparent: TRACEPARENT },
      },
      response: { responseCode: { value: 200 } },
    });
    expect(second).toMatchObject({ request: { path: '/api/pay', requestId: 'req-2' }, response: { responseCode: { value: 503 } } });
  });

  it('decodes TCP access logs (later messages of a stream carry no identifier)', () => {
    const bytes = encode(TELEMETRY_MESSAGES.streamAccessLogs, {
      tcpLogs: {
        logEntry: [
          {
            commonProperties: { upstreamCluster: 'outbound|5432||db.shop', startTime: { seconds: 1_700_000_100 } },
            connectionProperties: { receivedBytes: 1024, sentBytes: 2048 },
          },
        ],
      },
    });
    const msg = unwrap(decodeStreamAccessLogsMessage(bytes));
    expect(msg.identifier).toBeUndefined();
    expect(msg.httpLogs).toBeUndefined();
    expect(msg.tcpLogs?.logEntry).toEqual([
      {
        commonProperties: { upstreamCluster: 'outbound|5432||db.shop', startTime: { seconds: '1700000100' } },
        connectionProperties: { receivedBytes: '1024', sentBytes: '2048' },
      },
    ]);
  });
});

describe('decodeStreamMetricsMessage', () => {
  it('decodes Prometheus metric families: counters and histograms', () => {
    const bytes = encode(TELEMETRY_MESSAGES.streamMetrics, {
      identifier: { node },
      envoyMetrics: [
        {
          name: 'cluster.outbound|8080||web.shop.upstream_rq_2xx',
          type: 'COUNTER',
          metric: [{ counter: { value: 1234 }, timestampMs: 1_700_000_000_000 }],
        },
        {
          name: 'cluster.outbound|8080||web.shop.upstream_rq_time',
          type: 'HISTOGRAM',
          metric: [
            {
              label: [{ name: 'envoy_cluster_name', value: 'outbound|8080||web.shop' }],
              histogram: {
                sampleCount: 10,
                sampleSum: 87.5,
                bucket: [
                  { cumulativeCount: 4, upperBound: 5 },
                  { cumulativeCount: 9, upperBound: 25 },
                  { cumulativeCount: 10, upperBound: 100 },
                ],
              },
            },
          ],
        },
      ],
    });
    const msg: MetricsMessage = unwrap(decodeStreamMetricsMessage(bytes));

    expect(msg.identifier?.node?.id).toBe(node.id);
    const [counter, histogram] = msg.envoyMetrics ?? [];
    expect(counter).toEqual({
      name: 'cluster.outbound|8080||web.shop.upstream_rq_2xx',
      type: 'COUNTER',
      metric: [{ counter: { value: 1234 }, timestampMs: '1700000000000' }],
    });
    expect(histogram).toEqual({
      name: 'cluster.outbound|8080||web.shop.upstream_rq_time',
      type: 'HISTOGRAM',
      metric: [
        {
          label: [{ name: 'envoy_cluster_name', value: 'outbound|8080||web.shop' }],
          histogram: {
            sampleCount: '10',
            sampleSum: 87.5,
            bucket: [
              { cumulativeCount: '4', upperBound: 5 },
              { cumulativeCount: '9', upperBound: 25 },
              { cumulativeCount: '10', upperBound: 100 },
            ],
          },
        },
      ],
    });
  });

  it('decodes an empty message as an empty object (Envoy never sends one, but it is valid protobuf)', () => {
    expect(decodeStreamMetricsMessage(new Uint8Array())).toEqual({ ok: true, value: {} });
  });
});

describe('bad bytes give issues, never exceptions', () => {
  const metrics = encode(TELEMETRY_MESSAGES.streamMetrics, {
    identifier: { node },
    envoyMetrics: [{ name: 'cluster.x.upstream_rq_2xx', type: 'COUNTER', metric: [{ counter: { value: 1 } }] }],
  });
  const logs = encode(TELEMETRY_MESSAGES.streamAccessLogs, {
    identifier: { node, logName: 'als' },
    httpLogs: { logEntry: [httpEntry('/', 200, 'r')] },
  });

  const cases: Array<[string, (b: Uint8Array) => Result<unknown>, Uint8Array, RegExp]> = [
    ['truncated metrics', decodeStreamMetricsMessage, metrics.subarray(0, metrics.length - 5), /StreamMetricsMessage from \d+ bytes: truncated/],
    ['truncated access logs', decodeStreamAccessLogsMessage, logs.subarray(0, logs.length - 1), /StreamAccessLogsMessage from \d+ bytes: truncated/],
    ['a lone length prefix', decodeStreamAccessLogsMessage, Uint8Array.from([0x12, 0x05, 0x08]), /truncated/],
    ['text', decodeStreamMetricsMessage, new TextEncoder().encode('hello world, not protobuf'), /not a protobuf encoding .*invalid wire type/],
    ['all 0xff', decodeStreamAccessLogsMessage, new Uint8Array(16).fill(0xff), /StreamAccessLogsMessage from 16 bytes/],
  ];

  for (const [name, decode, bytes, message] of cases) {
    it(name, () => {
      let result: Result<unknown> | undefined;
      expect(() => (result = decode(bytes))).not.toThrow();
      expect(result?.ok).toBe(false);
      if (result && !result.ok) {
        expect(result.issues).toHaveLength(1);
        expect(result.issues[0]?.path).toBe('');
        expect(result.issues[0]?.message).toMatch(message);
      }
    });
  }

  it('refuses a value that is not bytes', () => {
    const result = decodeTelemetry(TELEMETRY_MESSAGES.streamMetrics, 'abc' as unknown as Uint8Array);
    expect(result).toEqual({ ok: false, issues: [{ path: '', message: 'cannot decode envoy.service.metrics.v3.StreamMetricsMessage: expected bytes, got string' }] });
  });
});
