/**
 * Ingestion reads entries as protobufjs message instances decoded with only the fields it reads
 * (`decodeAccessLogsForIngest`), tests and tools as JSON of a full decode (`decodeStreamAccessLogsMessage`):
 * for the same bytes both must give the same records.
 */
import { describe, expect, it } from 'vitest';
import { messageType } from '../protos/loader.ts';
import { decodeAccessLogsForIngest, decodeStreamAccessLogsMessage } from '../protos/telemetry.ts';
import type { Plain } from '../protos/type-urls.ts';
import { httpRecordOf, tcpRecordOf } from './access-log.ts';

const NOW = new Date('2026-12-02T10:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);

/** A small deterministic generator (mulberry32), so a failure names a reproducible case. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T,>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
/** Present with probability 1/2: each field is sometimes left out. */
const maybe = <T,>(rnd: () => number, v: T): T | undefined => (rnd() < 0.5 ? v : undefined);

const socket = (address: string, portValue: number) => ({ socketAddress: { address, portValue } });
/** Envoy's fields that no record uses: none, some, or many of them, so skipping each is exercised. */
const UNREAD_COMMON: Plain[] = [
  {},
  { downstreamRemoteAddress: socket('10.1.2.3', 40123), upstreamRemoteAddress: socket('10.1.4.4', 8080), timeToFirstUpstreamRxByte: { nanos: 5e6 }, accessLogType: 'DownstreamEnd' },
  {
    sampleRate: 0.5,
    downstreamLocalAddress: { pipe: { path: '/run/envoy.sock' } },
    responseFlags: { upstreamConnectionFailure: true, rateLimited: true },
    metadata: { filterMetadata: { 'envoy.lb': { fields: { canary: { boolValue: true } } } } },
    upstreamTransportFailureReason: 'TLS error',
    upstreamRequestAttemptCount: 2,
    customTags: { team: 'shop' },
    downstreamWireBytesSent: '900',
    streamId: '8a7e6f5d-1234',
  },
];

function commonProperties(rnd: () => number): Plain {
  return {
    startTime: maybe(rnd, { seconds: NOW_S - Math.floor(rnd() * 4000) + pick(rnd, [0, 0, 7200, -200_000]), nanos: Math.floor(rnd() * 1e9) }),
    upstreamCluster: pick(rnd, ['orders.shop', 'orders.shop|version=v2', 'inbound:web.shop', 'PassthroughCluster', 'a.b.c', '', 'Bad_Name.shop']),
    routeName: pick(rnd, [undefined, '', 'shop/checkout']),
    timeToLastDownstreamTxByte: maybe(rnd, { seconds: Math.floor(rnd() * 3), nanos: Math.floor(rnd() * 1e9) }),
    tlsProperties: maybe(rnd, {
      tlsVersion: 'TLSv1_3',
      localCertificateProperties: { subjectAltName: [{ uri: 'spiffe://mesh.local/ns/shop/sa/orders' }] },
      peerCertificateProperties: { subjectAltName: [{ dns: 'x.example' }, { uri: pick(rnd, ['spiffe://mesh.local/ns/shop/sa/web', 'spiffe://mesh.local/other', 'junk']) }] },
    }),
    // Fields Envoy fills that ingestion never reads (the ingest decoder skips them).
    ...UNREAD_COMMON[Math.floor(rnd() * UNREAD_COMMON.length)],
  };
}

function httpEntry(rnd: () => number): Plain {
  const grpc = pick(rnd, [undefined, '0', '14', '99', 'x']);
  return {
    commonProperties: commonProperties(rnd),
    protocolVersion: pick(rnd, [undefined, 'HTTP11', 'HTTP2']),
    request: maybe(rnd, {
      scheme: 'http',
      authority: 'orders.shop:8080',
      userAgent: 'grpc-go/1.60.0',
      requestMethod: pick(rnd, [undefined, 'GET', 'POST', 'METHOD_UNSPECIFIED', 'PATCH']),
      path: pick(rnd, [undefined, '', '/api/orders']),
      requestId: pick(rnd, [undefined, '', 'req-1']),
      requestHeadersBytes: maybe(rnd, Math.floor(rnd() * 5000)),
      requestBodyBytes: maybe(rnd, 2 ** 40 + Math.floor(rnd() * 100)),
      requestHeaders: maybe(rnd, { traceparent: pick(rnd, ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'bogus']) }),
    }),
    response: maybe(rnd, {
      responseCode: maybe(rnd, { value: pick(rnd, [0, 200, 302, 503]) }),
      responseHeadersBytes: maybe(rnd, 50),
      responseCodeDetails: maybe(rnd, 'via_upstream'),
      responseBodyBytes: maybe(rnd, Math.floor(rnd() * 1e6)),
      ...(grpc !== undefined ? { [pick(rnd, ['responseTrailers', 'responseHeaders'])]: { 'grpc-status': grpc } } : {}),
    }),
  };
}

const tcpEntry = (rnd: () => number): Plain => ({ commonProperties: commonProperties(rnd), connectionProperties: maybe(rnd, { receivedBytes: Math.floor(rnd() * 1e9), sentBytes: 2 ** 33 }) });

describe('access-log records from either decoded shape', () => {
  it('are identical for the same bytes, over varied HTTP and TCP entries', () => {
    const type = messageType('envoy.service.accesslog.v3.StreamAccessLogsMessage');
    const from = { proxyId: 'web-1', service: 'shop/web' };
    const seen = new Set<string>();
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = random(seed);
      for (const kind of ['httpLogs', 'tcpLogs'] as const) {
        const logEntry = Array.from({ length: 25 }, () => (kind === 'httpLogs' ? httpEntry(rnd) : tcpEntry(rnd)));
        const bytes = type.encode(type.fromObject({ identifier: { node: { id: 'web-1' }, logName: 'als' }, [kind]: { logEntry } })).finish();
        const plain = decodeStreamAccessLogsMessage(bytes);
        const fast = decodeAccessLogsForIngest(bytes);
        if (!plain.ok || !fast.ok) throw new Error('bytes do not decode');
        expect(fast.value.identifier).toEqual(plain.value.identifier);
        const recordOf = kind === 'httpLogs' ? httpRecordOf : tcpRecordOf;
        const records = (m: typeof plain.value) => (m[kind]?.logEntry ?? []).map((e) => recordOf(e, from, NOW));
        const got = records(fast.value);
        expect(got, `seed ${seed} ${kind}`).toStrictEqual(records(plain.value));
        for (const r of got) {
          if (!r.ok) seen.add('refused');
          else for (const [k, v] of Object.entries(r.value)) if (v !== undefined && v !== 0) seen.add(k);
        }
      }
    }
    // The generator reaches every field, and refusals: the comparison is not vacuous.
    expect([...seen].sort()).toEqual(['at', 'bytesReceived', 'bytesSent', 'destination', 'direction', 'durationMs', 'grpcStatus', 'method', 'path', 'protocol', 'proxyId', 'refused', 'requestId', 'route', 'source', 'status', 'traceId'].sort());
  });

  it('refuse bad bytes alike, also when the damage is in a field ingestion skips', () => {
    const type = messageType('envoy.service.accesslog.v3.StreamAccessLogsMessage');
    const entry = { commonProperties: { upstreamCluster: 'orders.shop', metadata: { filterMetadata: { a: { fields: { b: { stringValue: 'x'.repeat(40) } } } } } } };
    const bytes = type.encode(type.fromObject({ httpLogs: { logEntry: [entry] } })).finish();
    // Cut inside the metadata (the entry's last field): skipping it runs past the end.
    const cut = bytes.subarray(0, bytes.length - 10);
    expect(decodeAccessLogsForIngest(cut)).toMatchObject({ ok: false, issues: [{ message: expect.stringContaining('truncated or corrupt') }] });
    expect(decodeStreamAccessLogsMessage(cut).ok).toBe(false);
  });

  it('refuse bad bytes alike', () => {
    const bad = new Uint8Array([0x0a, 0xff, 0x01]);
    expect(decodeAccessLogsForIngest(bad)).toMatchObject({ ok: false, issues: [{ message: expect.stringContaining('truncated or corrupt') }] });
    expect(decodeStreamAccessLogsMessage(bad).ok).toBe(false);
  });
});
