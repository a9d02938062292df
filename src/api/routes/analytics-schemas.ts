/** Response shapes of the analytics routes (src/api/routes/analytics.ts). */
import { Type } from 'typebox';
import { nullable, stringEnum } from '../schema-base.ts';
import { DateTime } from '../schemas.ts';

const Ms = (description: string) => nullable(Type.Number({ description: `${description}, in milliseconds; null without samples` }));

/** Counts, rate, error rate and latency percentiles of a step or a window. */
export const Summary = Type.Object({
  requests: Type.Integer(),
  rps: Type.Number({ description: 'requests per second' }),
  status2xx: Type.Integer(),
  status3xx: Type.Integer(),
  status4xx: Type.Integer(),
  status5xx: Type.Integer(),
  noStatus: Type.Integer({ description: 'HTTP requests that got no response code, and TCP connections' }),
  errorRate: Type.Number({ description: '5xx answers over requests' }),
  bytesReceived: Type.Integer(),
  bytesSent: Type.Integer(),
  p50: Ms('median latency'),
  p90: Ms('90th percentile latency'),
  p99: Ms('99th percentile latency'),
});

export const MetricsView = Type.Object({
  service: nullable(Type.String()),
  route: nullable(Type.String()),
  source: nullable(Type.String()),
  from: DateTime,
  to: DateTime,
  stepSeconds: Type.Integer(),
  granularity: stringEnum(['minute', 'hour'] as const),
  summary: Summary,
  points: Type.Array(Type.Object({ t: DateTime, ...Summary.properties })),
});

const Status = stringEnum(['healthy', 'degraded', 'failing', 'idle'] as const);

export const TopologyView = Type.Object({
  window: Type.Object({ from: DateTime, to: DateTime }),
  nodes: Type.Array(
    Type.Object({
      id: Type.String({ description: '<namespace>/<name>, or `unknown` for callers no proxy could name' }),
      registered: Type.Boolean(),
      protocol: Type.Optional(Type.String()),
      endpoints: Type.Optional(Type.Object({ total: Type.Integer(), healthy: Type.Integer() })),
      traffic: nullable(Summary),
      status: Status,
    }),
  ),
  edges: Type.Array(Type.Object({ source: Type.String(), destination: Type.String(), traffic: Summary, status: Status })),
});

export const EntryView = Type.Object({
  at: DateTime,
  proxyId: Type.String(),
  protocol: stringEnum(['http', 'tcp'] as const),
  direction: stringEnum(['outbound', 'inbound'] as const),
  source: nullable(Type.String()),
  destination: nullable(Type.String()),
  route: nullable(Type.String()),
  method: nullable(Type.String()),
  path: nullable(Type.String()),
  status: nullable(Type.Integer()),
  grpcStatus: nullable(Type.Integer()),
  durationMs: nullable(Type.Number()),
  bytesReceived: Type.Integer(),
  bytesSent: Type.Integer(),
  traceId: nullable(Type.String()),
  requestId: nullable(Type.String()),
});

export const TelemetryView = Type.Object({
  replicas: Type.Array(
    Type.Object({
      id: Type.String(),
      counters: Type.Record(Type.String(), Type.Number(), { description: 'accepted, written, droppedFull, droppedFailed, rejected, queueDepth, paused, …' }),
    }),
  ),
});
