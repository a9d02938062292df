/**
 * The access-log traffic of `bench:als`, built and protobuf-encoded once before the clock starts so
 * that the load generator only writes bytes: StreamAccessLogsMessages of 100 Envoy HTTP entries each,
 * spread over 50 services in 5 namespaces (4 routes each), half logged on the way out and half on the
 * way in (with the caller's SPIFFE ID), ~5% 4xx/5xx, log-normal latencies, a W3C traceparent and a
 * request id on every entry, and (shape `envoy`, the default) the other fields Envoy fills: addresses,
 * phase timings, TLS session. Seeded, so every run sends the same bytes.
 */
import { decodeStreamAccessLogsMessage } from '../../src/protos/telemetry.ts';
import { httpRecordOf, type AccessLogRecord } from '../../src/analytics/access-log.ts';
import { encodeTelemetry, httpEntry, identifier } from '../../test/support/telemetry-client.ts';

const SERVICES = 50;
const NAMESPACES = 5;
const ROUTES_PER_SERVICE = 4;
const METHODS = ['GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'PUT'];
const RESOURCES = ['orders', 'items', 'users', 'carts', 'payments', 'search'];

/** `ns/name` parts of service `i`. */
export const serviceOf = (i: number) => ({ namespace: `ns${i % NAMESPACES}`, name: `svc${i % SERVICES}` });

/** A small seeded PRNG (mulberry32): the same traffic on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (rnd: () => number, digits: number) => Array.from({ length: digits }, () => Math.floor(rnd() * 16).toString(16)).join('');

/** A status drawn like a healthy-ish mesh answers: 1% 503, 0.5% 500, 3% 404, 0.5% 302, the rest 200. */
function statusOf(u: number): number {
  if (u < 0.01) return 503;
  if (u < 0.015) return 500;
  if (u < 0.045) return 404;
  if (u < 0.05) return 302;
  return 200;
}

/** `minimal`: only the fields ingestion reads (~230 bytes); `envoy`: also what Envoy's gRPC logger fills besides (~670 bytes). */
export type EntryShape = 'envoy' | 'minimal';

const socket = (address: string, portValue: number) => ({ socketAddress: { address, portValue } });
const duration = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: Math.round((ms % 1000) * 1e6) });
const ip = (rnd: () => number) => `10.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}`;

/**
 * The fields Envoy's gRPC access logger fills for a request through a sidecar that ingestion does not
 * read (envoy.data.accesslog.v3): addresses, the phase timings, the local certificate and TLS
 * session, response flags, attempt count, wire bytes, stream id, scheme, authority, user agent,
 * response code details, protocol. They cost bytes on the wire and the decoder's skipping.
 */
function envoyExtras(rnd: () => number, ms: number, inbound: boolean, host: string, local: string) {
  const downstream = socket(ip(rnd), 30_000 + Math.floor(rnd() * 30_000));
  return {
    common: {
      downstreamRemoteAddress: downstream,
      downstreamDirectRemoteAddress: downstream,
      downstreamLocalAddress: socket(inbound ? ip(rnd) : '127.0.0.1', inbound ? 15006 : 15001),
      ...(inbound ? { tlsLocal: { tlsVersion: 'TLSv1_3', tlsCipherSuite: { value: 4865 }, tlsSniHostname: host, localCertificateProperties: { subjectAltName: [{ uri: local }] }, tlsSessionId: hex(rnd, 64) } } : {}),
      timeToLastRxByte: duration(0.05),
      timeToFirstUpstreamTxByte: duration(0.3),
      timeToLastUpstreamTxByte: duration(0.3),
      timeToFirstUpstreamRxByte: duration(ms * 0.9),
      timeToLastUpstreamRxByte: duration(ms * 0.98),
      timeToFirstDownstreamTxByte: duration(ms * 0.92),
      upstreamRemoteAddress: socket(ip(rnd), 8080),
      upstreamLocalAddress: socket(inbound ? '127.0.0.6' : ip(rnd), 30_000 + Math.floor(rnd() * 30_000)),
      responseFlags: {},
      upstreamRequestAttemptCount: 1,
      accessLogType: 'DownstreamEnd',
      downstreamWireBytesSent: 900 + Math.floor(rnd() * 200),
      downstreamWireBytesReceived: 400 + Math.floor(rnd() * 100),
      upstreamWireBytesSent: 380,
      upstreamWireBytesReceived: 880,
      streamId: `${hex(rnd, 8)}-${hex(rnd, 4)}-${hex(rnd, 4)}-${hex(rnd, 4)}-${hex(rnd, 12)}`,
    },
    request: { scheme: 'http', authority: `${host}:8080`, userAgent: 'grpc-go/1.60.0' },
    response: { responseCodeDetails: 'via_upstream' },
  };
}

/** One Envoy HTTP access-log entry, started up to `spreadMs` before `now`. */
function entry(rnd: () => number, now: number, spreadMs: number, shape: EntryShape) {
  const dst = serviceOf(Math.floor(rnd() * SERVICES));
  const caller = serviceOf(Math.floor(rnd() * SERVICES));
  const inbound = rnd() < 0.5;
  // Log-normal around 20 ms, as request latencies tend to be; a long tail up to a few seconds.
  const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const ms = Math.min(5000, Math.exp(3 + z));
  const e = httpEntry({
    start: new Date(now - Math.floor(rnd() * spreadMs)),
    ms,
    status: statusOf(rnd()),
    cluster: `${inbound ? 'inbound:' : ''}${dst.name}.${dst.namespace}`,
    route: `${dst.namespace}/${dst.name}-r${Math.floor(rnd() * ROUTES_PER_SERVICE)}`,
    traceparent: `00-${hex(rnd, 32)}-${hex(rnd, 16)}-01`,
    requestId: `${hex(rnd, 8)}-${hex(rnd, 4)}-4${hex(rnd, 3)}-a${hex(rnd, 3)}-${hex(rnd, 12)}`,
    path: `/api/v1/${RESOURCES[Math.floor(rnd() * RESOURCES.length)]}/${Math.floor(rnd() * 100_000)}`,
    ...(inbound ? { peerUri: `spiffe://cluster.local/ns/${caller.namespace}/sa/${caller.name}` } : {}),
  });
  const request = { ...e.request, requestMethod: METHODS[Math.floor(rnd() * METHODS.length)]! };
  if (shape === 'minimal') return { ...e, request };
  const host = `${dst.name}.${dst.namespace}`;
  const extras = envoyExtras(rnd, ms, inbound, host, `spiffe://cluster.local/ns/${dst.namespace}/sa/${dst.name}`);
  const { tlsLocal, ...common } = extras.common;
  const peer = e.commonProperties.tlsProperties;
  return {
    commonProperties: { ...e.commonProperties, ...common, ...(tlsLocal || peer ? { tlsProperties: { ...tlsLocal, ...peer } } : {}) },
    protocolVersion: 'HTTP2',
    request: { ...request, ...extras.request },
    response: { ...e.response, ...extras.response },
  };
}

/** `messages` encoded StreamAccessLogsMessages (without identifier) of `perMessage` entries each. */
export function encodeTraffic(messages: number, perMessage: number, shape: EntryShape, now = Date.now(), seed = 42): Buffer[] {
  const rnd = random(seed);
  return Array.from({ length: messages }, () =>
    encodeTelemetry('accessLogs', { httpLogs: { logEntry: Array.from({ length: perMessage }, () => entry(rnd, now, 30_000, shape)) } }),
  );
}

/** The node a stream's first message names: the sidecar `bench-proxy-<i>` of one of the services. */
export function nodeOf(i: number) {
  const svc = serviceOf(i);
  return { proxyId: `bench-proxy-${i}`, service: `${svc.namespace}/${svc.name}`, identifier: identifier(`bench-proxy-${i}`, { role: 'sidecar', namespace: svc.namespace, service: svc.name }) };
}

/**
 * A stream's first message: the identifier, then the entries of `logs`. Protobuf fields may come in
 * any order and concatenated encodings merge, so the pre-encoded logs need no re-encoding.
 */
export function helloMessage(i: number, logs: Buffer): Buffer {
  return Buffer.concat([encodeTelemetry('accessLogs', { identifier: nodeOf(i).identifier }), logs]);
}

/** The records the server makes of `messages` sent by stream `i` (what the database floors store). */
export function recordsOf(messages: readonly Buffer[], streams: number, now = new Date()): AccessLogRecord[] {
  const out: AccessLogRecord[] = [];
  messages.forEach((bytes, k) => {
    const decoded = decodeStreamAccessLogsMessage(bytes);
    if (!decoded.ok) throw new Error(`bench traffic does not decode: ${decoded.issues[0]?.message}`);
    const node = nodeOf(k % streams);
    for (const e of decoded.value.httpLogs?.logEntry ?? []) {
      const r = httpRecordOf(e, { proxyId: node.proxyId, service: node.service }, now);
      if (!r.ok) throw new Error(`bench entry refused: ${r.issues[0]?.path} ${r.issues[0]?.message}`);
      out.push(r.value);
    }
  });
  return out;
}
