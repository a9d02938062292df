/** Envoy access-log entries, encoded with Envoy's protos and decoded as the ALS stream will, made into records. */
import { describe, expect, it } from 'vitest';
import { messageType } from '../protos/loader.ts';
import { decodeStreamAccessLogsMessage } from '../protos/telemetry.ts';
import type { Plain } from '../protos/type-urls.ts';
import { effectiveStatus, httpRecordOf, serviceOfCluster, tcpRecordOf } from './access-log.ts';

const NOW = new Date('2026-12-02T10:00:00Z');
const START = { seconds: Math.floor(NOW.getTime() / 1000) - 5, nanos: 250_000_000 };
const FROM = { proxyId: 'web-1', service: 'shop/web' };
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

/** One entry through the real encoding: a StreamAccessLogsMessage carrying it, decoded back. */
function roundTrip(kind: 'httpLogs' | 'tcpLogs', entry: Plain): Plain {
  const type = messageType('envoy.service.accesslog.v3.StreamAccessLogsMessage');
  const bytes = type.encode(type.fromObject({ [kind]: { logEntry: [entry] } })).finish();
  const decoded = decodeStreamAccessLogsMessage(bytes);
  if (!decoded.ok) throw new Error(JSON.stringify(decoded.issues));
  return decoded.value[kind]!.logEntry![0]!;
}

const http = (over: Plain = {}, props: Plain = {}) =>
  roundTrip('httpLogs', {
    commonProperties: { startTime: START, upstreamCluster: 'orders.shop|version=v2', timeToLastDownstreamTxByte: { seconds: 0, nanos: 12_500_000 }, ...props },
    request: { requestMethod: 'POST', path: '/api/orders', requestId: 'req-1', requestHeadersBytes: 100, requestBodyBytes: 20, requestHeaders: { traceparent: `00-${TRACE}-00f067aa0ba902b7-01` } },
    response: { responseCode: { value: 503 }, responseHeadersBytes: 50, responseBodyBytes: 7 },
    ...over,
  });

describe('serviceOfCluster', () => {
  it('reads the service of its clusters, subsets and inbound clusters; anything else has none', () => {
    expect(serviceOfCluster('orders.shop')).toEqual({ direction: 'outbound', service: 'shop/orders' });
    expect(serviceOfCluster('orders.shop|version=v2')).toEqual({ direction: 'outbound', service: 'shop/orders' });
    expect(serviceOfCluster('inbound:web.shop')).toEqual({ direction: 'inbound', service: 'shop/web' });
    expect(serviceOfCluster('PassthroughCluster')).toEqual({ direction: 'outbound' });
    expect(serviceOfCluster('a.b.c')).toEqual({ direction: 'outbound' });
    expect(serviceOfCluster('')).toEqual({ direction: 'outbound' });
  });
});

describe('httpRecordOf', () => {
  it('makes an outbound entry a record of the proxy\'s service calling the cluster\'s, with status, timing, bytes and trace', () => {
    expect(httpRecordOf(http(), FROM, NOW)).toEqual({
      ok: true,
      value: {
        at: new Date(START.seconds * 1000 + 250),
        proxyId: 'web-1',
        protocol: 'http',
        direction: 'outbound',
        source: 'shop/web',
        destination: 'shop/orders',
        method: 'POST',
        path: '/api/orders',
        status: 503,
        durationMs: 12.5,
        bytesReceived: 120,
        bytesSent: 57,
        traceId: TRACE,
        requestId: 'req-1',
      },
    });
  });

  it('takes the caller of an inbound entry from its client certificate, and the destination from the inbound cluster', () => {
    const entry = http({}, { upstreamCluster: 'inbound:orders.shop', tlsProperties: { peerCertificateProperties: { subjectAltName: [{ uri: 'spiffe://mesh.local/ns/shop/sa/web' }] } } });
    expect(httpRecordOf(entry, { proxyId: 'orders-1', service: 'shop/orders' }, NOW)).toMatchObject({ ok: true, value: { direction: 'inbound', source: 'shop/web', destination: 'shop/orders' } });
    const plain = http({}, { upstreamCluster: 'inbound:orders.shop' });
    const r = httpRecordOf(plain, { proxyId: 'orders-1', service: 'shop/orders' }, NOW);
    expect(r.ok && r.value.source).toBeUndefined();
  });

  it('reads the gRPC status from the trailers, or the headers of a trailers-only answer', () => {
    const trailers = http({ response: { responseCode: { value: 200 }, responseTrailers: { 'grpc-status': '14' } } });
    expect(httpRecordOf(trailers, FROM, NOW)).toMatchObject({ ok: true, value: { status: 200, grpcStatus: 14 } });
    const headers = http({ response: { responseCode: { value: 200 }, responseHeaders: { 'grpc-status': '0' } } });
    expect(httpRecordOf(headers, FROM, NOW)).toMatchObject({ ok: true, value: { grpcStatus: 0 } });
    const bogus = httpRecordOf(http({ response: { responseCode: { value: 200 }, responseTrailers: { 'grpc-status': '99' } } }), FROM, NOW);
    expect(bogus.ok && bogus.value.grpcStatus).toBeUndefined();
  });

  it('counts a gRPC error answered with HTTP 200 under the HTTP status gRPC maps it to', () => {
    expect(effectiveStatus({ status: 200, grpcStatus: 14 })).toBe(503);
    expect(effectiveStatus({ status: 200, grpcStatus: 4 })).toBe(504);
    expect(effectiveStatus({ status: 200, grpcStatus: 0 })).toBe(200);
    expect(effectiveStatus({ status: 502, grpcStatus: 14 })).toBe(502);
    expect(effectiveStatus({ status: 200 })).toBe(200);
    expect(effectiveStatus({ grpcStatus: 13 })).toBe(500);
  });

  it('keeps the name of the route that matched', () => {
    expect(httpRecordOf(http({}, { routeName: 'shop/checkout' }), FROM, NOW)).toMatchObject({ ok: true, value: { route: 'shop/checkout' } });
  });

  it('falls back to the request id as trace id, and leaves out what the entry does not say', () => {
    const entry = http({ request: { requestId: 'req-9' }, response: {} });
    expect(httpRecordOf(entry, { proxyId: 'gw-1' }, NOW)).toMatchObject({ ok: true, value: { traceId: 'req-9', bytesReceived: 0, bytesSent: 0 } });
    const r = httpRecordOf(entry, { proxyId: 'gw-1' }, NOW);
    // Records keep one shape: what an entry does not say is an undefined property.
    expect(r.ok && ['status', 'method', 'path', 'source'].filter((k) => r.value[k as keyof typeof r.value] !== undefined)).toEqual([]);
  });

  it('refuses an entry without a start time, or with one too far from now, naming the field', () => {
    expect(httpRecordOf(roundTrip('httpLogs', { request: { path: '/' } }), FROM, NOW)).toEqual({ ok: false, issues: [{ path: 'commonProperties.startTime', message: 'is required' }] });
    for (const seconds of [START.seconds + 2 * 3600, START.seconds - 2 * 86_400, 0]) {
      const r = httpRecordOf(http({}, { startTime: { seconds } }), FROM, NOW);
      expect(r.ok).toBe(false);
      expect(!r.ok && r.issues[0]!.path).toBe('commonProperties.startTime');
    }
  });
});

describe('entries whose numbers no column can hold', () => {
  it('are refused one by one, naming the field, so they cannot fail the batch they would be stored in', () => {
    expect(httpRecordOf(http({ response: { responseCode: { value: 4_000_000_000 } } }), FROM, NOW)).toEqual({
      ok: false,
      issues: [{ path: 'response.responseCode', message: 'is 4000000000, not an HTTP status (100-999)' }],
    });
    expect(httpRecordOf(http({ response: { responseCode: { value: 42 } } }), FROM, NOW).ok).toBe(false);
    const huge = '18446744073709551615';
    expect(httpRecordOf(http({ request: { requestBodyBytes: huge } }), FROM, NOW)).toMatchObject({ ok: false, issues: [{ path: 'request.requestBodyBytes' }] });
    expect(httpRecordOf(http({ response: { responseCode: { value: 200 }, responseBodyBytes: huge } }), FROM, NOW)).toMatchObject({ ok: false, issues: [{ path: 'response.responseBodyBytes' }] });
    expect(tcpRecordOf(roundTrip('tcpLogs', { commonProperties: { startTime: START }, connectionProperties: { sentBytes: huge } }), FROM, NOW)).toMatchObject({
      ok: false,
      issues: [{ path: 'connectionProperties.sentBytes' }],
    });
    // A response code of 0 is Envoy's "no response": kept, without a status.
    expect(httpRecordOf(http({ response: { responseCode: { value: 0 } } }), FROM, NOW)).toMatchObject({ ok: true, value: { status: undefined } });
  });
});

describe('tcpRecordOf', () => {
  it('makes a connection a record with its bytes both ways', () => {
    const entry = roundTrip('tcpLogs', { commonProperties: { startTime: START, upstreamCluster: 'db.shop' }, connectionProperties: { receivedBytes: 4096, sentBytes: 512 } });
    expect(tcpRecordOf(entry, FROM, NOW)).toMatchObject({
      ok: true,
      value: { protocol: 'tcp', source: 'shop/web', destination: 'shop/db', bytesReceived: 4096, bytesSent: 512 },
    });
  });
});
