/**
 * Request and response schemas of traffic management: routes, the traffic split short form and a
 * service's traffic policy. Their Static types fit the domain types of src/model/traffic.ts, so a
 * validated body (with ajv's defaults applied) is the domain object. The schemas check shapes, types
 * and single-field ranges; the rules that span fields (exactly one of, min ≤ max, weights adding up
 * to 100, services that exist, regex syntax, header and host syntax) are src/model/traffic-validate.ts's.
 */
import { Type, type Static, type TSchema } from 'typebox';
import { DEFAULT_NAMESPACE } from '../model/names.ts';
import { RETRY_ON } from '../model/traffic-validate.ts';
import type { LbAlgorithm } from '../model/traffic.ts';
import { stringEnum } from './schema-base.ts';

/** An integer enum as JSON Schema `{ type: integer, enum }`, for the same reason. */
function integerEnum<T extends number>(values: readonly T[], options: Record<string, unknown> = {}) {
  return Type.Unsafe<T>({ type: 'integer', enum: [...values], ...options });
}

const UINT32_MAX = 4_294_967_295;
const DAY_MS = 86_400_000;
/** Envoy's `maximum_ring_size` limit. */
const MAX_RING_SIZE = 8_388_608;
const MAX_PRIORITY = 1_000_000;

const int = (minimum: number, maximum: number, options: Record<string, unknown> = {}) => Type.Integer({ minimum, maximum, ...options });
/** Whole milliseconds, at most a day. */
const millis = (minimum: number, description?: string) => int(minimum, DAY_MS, description ? { description } : {});
/** A count Envoy holds in a uint32. */
const count = (minimum: number, description?: string) => int(minimum, UINT32_MAX, description ? { description } : {});
const percent = (description: string) => Type.Number({ minimum: 0, maximum: 100, description: `${description}; 0-100, fractions allowed` });

const Name = Type.String({ minLength: 1, maxLength: 63, description: 'DNS label: lower-case letters, digits and -' });
const Namespace = Name;
const HeaderName = Type.String({ minLength: 1, maxLength: 256, description: 'lower-case header name' });
const HeaderValue = Type.String({ maxLength: 8192 });
const HttpPath = (description: string) => Type.String({ minLength: 1, maxLength: 2048, description });
const Regex = Type.String({ minLength: 1, maxLength: 1024, description: 'RE2 syntax' });
/** `*.` + a 253-character host name + `:65535`. */
const Authority = Type.String({ minLength: 1, maxLength: 261, description: 'a host name or *.suffix, with an optional :port' });
const HostName = Type.String({ minLength: 1, maxLength: 253, description: 'a host name, no port' });
const Token = (description: string) => Type.String({ minLength: 1, maxLength: 64, description });

/** A record with bounded keys: TypeBox's Record keeps no constraint of its key schema, so `propertyNames` carries it. */
function record<V extends TSchema>(keyMaxLength: number, value: V, options: Record<string, unknown>) {
  return Type.Record(Type.String(), value, { propertyNames: { minLength: 1, maxLength: keyMaxLength }, ...options });
}

const Subset = record(317, Type.String({ maxLength: 63 }), {
  maxProperties: 16,
  description: "endpoint labels that pick a subset of the service's endpoints, e.g. {version: 'v2'}; every label must match",
});

/* ---------- route match ---------- */

const stringForms = {
  exact: Type.Optional(Type.String({ maxLength: 1024 })),
  prefix: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  suffix: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  regex: Type.Optional(Regex),
  ignoreCase: Type.Optional(Type.Boolean({ description: 'compare case-insensitively (exact, prefix and suffix only; a regex can start with (?i))' })),
};

const StringMatch = Type.Object(stringForms, {
  additionalProperties: false,
  description: 'exactly one of exact, prefix, suffix and regex',
});

const PathMatch = Type.Object(
  {
    prefix: Type.Optional(HttpPath('starts with /')),
    exact: Type.Optional(HttpPath('starts with /')),
    regex: Type.Optional(Regex),
    caseSensitive: Type.Optional(Type.Boolean({ description: 'true by default; no effect on a regex (start it with (?i))' })),
  },
  { additionalProperties: false, description: 'exactly one of prefix, exact and regex' },
);

export const HeaderMatch = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256, description: 'lower-case header name, or one of the pseudo-headers :authority, :method and :path' }),
    ...stringForms,
    present: Type.Optional(Type.Boolean({ description: 'true: the header is present; false: it is absent' })),
    invert: Type.Optional(Type.Boolean({ description: 'negates the result' })),
  },
  { additionalProperties: false, description: 'exactly one of exact, prefix, suffix, regex and present' },
);

const QueryMatch = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256 }),
    ...stringForms,
    present: Type.Optional(Type.Boolean({ description: 'true: the parameter is present; false: it is absent' })),
  },
  { additionalProperties: false, description: 'exactly one of exact, prefix, suffix, regex and present' },
);

const routeMatch = (options: Record<string, unknown> = {}) =>
  Type.Object(
    {
      path: Type.Optional(PathMatch),
      headers: Type.Optional(Type.Array(HeaderMatch, { maxItems: 32 })),
      query: Type.Optional(Type.Array(QueryMatch, { maxItems: 32 })),
      methods: Type.Optional(Type.Array(Token('HTTP method, e.g. GET'), { maxItems: 16, description: 'any of these methods (the :method pseudo-header)' })),
    },
    { additionalProperties: false, description: 'what a request must look like for the route to take it; every part given must match; {} matches every request', ...options },
  );

/* ---------- route actions ---------- */

const Destination = Type.Object(
  {
    namespace: Namespace,
    name: Name,
    subset: Type.Optional(Subset),
    weight: int(0, 100, { description: "share of the route's traffic; the weights of a route add up to 100" }),
  },
  { additionalProperties: false, description: 'a service (namespace and name, both required), optionally a subset of its endpoints' },
);

const RedirectPolicy = Type.Object(
  {
    scheme: Type.Optional(stringEnum(['http', 'https'] as const)),
    host: Type.Optional(HostName),
    port: Type.Optional(int(1, 65535)),
    path: Type.Optional(HttpPath('replaces the whole path; starts with /; not with prefix')),
    prefix: Type.Optional(HttpPath('replaces the matched path prefix; starts with /; not with path')),
    statusCode: Type.Optional(integerEnum([301, 302, 303, 307, 308] as const, { description: '301 by default' })),
    stripQuery: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, description: 'answers with a redirect; must change something (else clients loop)' },
);

const DirectResponse = Type.Object(
  {
    status: int(200, 599),
    body: Type.Optional(Type.String({ maxLength: 4096, description: 'at most 4096 bytes of UTF-8' })),
  },
  { additionalProperties: false, description: 'answers without an upstream' },
);

/* ---------- per-route policies ---------- */

const RetryPolicy = Type.Object(
  {
    attempts: int(0, 10, { description: 'retries after the first attempt' }),
    perTryTimeoutMs: Type.Optional(millis(1)),
    retryOn: Type.Array(stringEnum(RETRY_ON), { maxItems: RETRY_ON.length, description: 'the conditions to retry on; gRPC ones: cancelled, deadline-exceeded, internal, resource-exhausted, unavailable' }),
    backoff: Type.Optional(
      Type.Object(
        { baseMs: millis(1), maxMs: Type.Optional(millis(1, 'at least baseMs; 10 × baseMs by default')) },
        { additionalProperties: false, description: 'exponential backoff between retries' },
      ),
    ),
    retriableStatusCodes: Type.Optional(
      Type.Array(int(100, 599), { maxItems: 64, description: 'statuses to retry; required by, and only with, retryOn retriable-status-codes' }),
    ),
    retriableHeaders: Type.Optional(
      Type.Array(HeaderMatch, { maxItems: 16, description: 'responses to retry when any matches; required by, and only with, retryOn retriable-headers' }),
    ),
  },
  { additionalProperties: false },
);

const FaultPolicy = Type.Object(
  {
    delay: Type.Optional(
      Type.Object({ fixedMs: millis(1), percent: percent('share of requests delayed') }, { additionalProperties: false }),
    ),
    abort: Type.Optional(
      Type.Object(
        {
          httpStatus: Type.Optional(int(200, 599)),
          grpcStatus: Type.Optional(int(0, 16, { description: 'gRPC status code' })),
          percent: percent('share of requests aborted'),
        },
        { additionalProperties: false, description: 'exactly one of httpStatus and grpcStatus' },
      ),
    ),
  },
  { additionalProperties: false, description: 'fault injection; delay, abort or both' },
);

const MirrorPolicy = Type.Object(
  {
    namespace: Namespace,
    name: Name,
    subset: Type.Optional(Subset),
    percent: percent('share of requests copied'),
  },
  { additionalProperties: false, description: 'copies of requests sent to another service; its responses are ignored' },
);

const HeaderMap = record(256, HeaderValue, {
  maxProperties: 64,
  description: 'header name → value; %NAME% is an Envoy variable, %% a literal %',
});

const HeaderOps = Type.Object(
  {
    set: Type.Optional(HeaderMap),
    add: Type.Optional(HeaderMap),
    remove: Type.Optional(Type.Array(HeaderName, { maxItems: 64 })),
  },
  { additionalProperties: false, description: 'set replaces, add appends, remove deletes; never pseudo-headers or host' },
);

const RewritePolicy = Type.Object(
  {
    prefix: Type.Optional(HttpPath('replaces the matched path prefix; starts with /')),
    regex: Type.Optional(
      Type.Object(
        { pattern: Regex, substitution: Type.String({ maxLength: 1024, description: '\\1 … \\9 insert groups' }) },
        { additionalProperties: false },
      ),
    ),
    host: Type.Optional(Type.String({ minLength: 1, maxLength: 259, description: 'the authority sent upstream: a host name with an optional :port' })),
  },
  { additionalProperties: false, description: 'rewrites the request before forwarding; at most one of prefix and regex' },
);

const CorsPolicy = Type.Object(
  {
    allowOrigins: Type.Array(StringMatch, { minItems: 1, maxItems: 64 }),
    allowMethods: Type.Optional(Type.Array(Token('HTTP method'), { maxItems: 16 })),
    allowHeaders: Type.Optional(Type.Array(HeaderName, { maxItems: 64 })),
    exposeHeaders: Type.Optional(Type.Array(HeaderName, { maxItems: 64 })),
    maxAgeSeconds: Type.Optional(count(0)),
    allowCredentials: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const RateLimitPolicy = Type.Object(
  {
    maxTokens: count(1, 'bucket size: the burst allowed'),
    tokensPerFill: count(1, 'tokens added every fillIntervalMs'),
    fillIntervalMs: millis(50, 'Envoy rejects a shorter interval than 50 ms'),
    status: Type.Optional(int(400, 599, { description: 'status of a limited request; 429 by default' })),
    responseHeaders: Type.Optional(HeaderMap),
  },
  { additionalProperties: false, description: 'a local token bucket per proxy' },
);

const RouteTracing = Type.Object(
  { samplePercent: percent('share of requests traced on this route, in place of the mesh sampling (TRACING_SAMPLING)') },
  { additionalProperties: false, description: "the route's own tracing; it acts when the mesh has a tracing provider" },
);

/* ---------- traffic policy ---------- */

const HashPolicy = Type.Object(
  {
    header: Type.Optional(HeaderName),
    cookie: Type.Optional(
      Type.Object(
        {
          name: Token('cookie name'),
          ttlSeconds: Type.Optional(count(0, 'given: the proxy sets the cookie when the request has none')),
          path: Type.Optional(HttpPath('starts with /')),
        },
        { additionalProperties: false },
      ),
    ),
    sourceIp: Type.Optional(Type.Boolean()),
    queryParameter: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    terminal: Type.Optional(Type.Boolean({ description: 'stop at this policy when it produced a hash' })),
  },
  { additionalProperties: false, description: 'exactly one of header, cookie, sourceIp and queryParameter' },
);

const LB_ALGORITHMS = ['round_robin', 'least_request', 'random', 'ring_hash', 'maglev'] as const satisfies readonly LbAlgorithm[];

const LoadBalancerPolicy = Type.Object(
  {
    algorithm: stringEnum(LB_ALGORITHMS),
    hashOn: Type.Optional(Type.Array(HashPolicy, { maxItems: 8, description: 'ring_hash and maglev: what to hash on, tried in order' })),
    ringSize: Type.Optional(
      Type.Object(
        { min: Type.Optional(int(1, MAX_RING_SIZE)), max: Type.Optional(int(1, MAX_RING_SIZE)) },
        { additionalProperties: false, description: 'ring_hash only; min ≤ max' },
      ),
    ),
    choiceCount: Type.Optional(count(2, 'least_request only: endpoints sampled per pick; 2 by default')),
    zoneAware: Type.Optional(
      Type.Object(
        {
          minClusterSize: Type.Optional(count(0, 'below this many endpoints zone-aware routing is off')),
          routingEnabledPercent: Type.Optional(percent('share of requests routed zone-aware')),
        },
        { additionalProperties: false, description: "prefer endpoints in the caller's zone" },
      ),
    ),
  },
  { additionalProperties: false },
);

const ConnectionPoolPolicy = Type.Object(
  {
    maxConnections: Type.Optional(count(1)),
    maxPendingRequests: Type.Optional(count(1)),
    maxRequests: Type.Optional(count(1)),
    maxRetries: Type.Optional(count(1, 'concurrent retries')),
  },
  { additionalProperties: false, description: "circuit breaker thresholds; absent ones keep Envoy's defaults" },
);

const OutlierDetectionPolicy = Type.Object(
  {
    consecutive5xx: Type.Optional(count(1)),
    consecutiveGatewayErrors: Type.Optional(count(1)),
    intervalMs: Type.Optional(millis(1)),
    baseEjectionTimeMs: Type.Optional(millis(1)),
    maxEjectionPercent: Type.Optional(int(0, 100, { description: 'a whole percentage, 0-100' })),
    failurePercentage: Type.Optional(
      Type.Object(
        {
          threshold: int(0, 100, { description: 'eject an endpoint whose failed share of requests in an interval reaches this percentage' }),
          minimumHosts: Type.Optional(count(1)),
          requestVolume: Type.Optional(count(1)),
        },
        { additionalProperties: false, description: 'failure-percentage ejection: the form proxyless gRPC applies (it ignores the consecutive-error counters)' },
      ),
    ),
  },
  { additionalProperties: false },
);

const Status = int(100, 599);

const HealthCheckPolicy = Type.Object(
  {
    http: Type.Optional(
      Type.Object(
        {
          path: HttpPath('starts with /'),
          expectedStatuses: Type.Optional(
            Type.Array(Type.Object({ start: Status, end: Status }, { additionalProperties: false }), {
              maxItems: 16,
              description: 'healthy statuses as ranges inclusive at both ends: {start: 200, end: 299} is 2xx, {start: 204, end: 204} is 204 alone; 200 only by default',
            }),
          ),
          host: Type.Optional(Type.String({ minLength: 1, maxLength: 259, description: 'the Host header sent: a host name with an optional :port' })),
        },
        { additionalProperties: false },
      ),
    ),
    grpc: Type.Optional(
      Type.Object({ serviceName: Type.Optional(Type.String({ maxLength: 256, description: 'grpc.health.v1 service name; the server as a whole by default' })) }, { additionalProperties: false }),
    ),
    // Type.Object({}) would be typed `object`, which the domain's Record<string, never> does not accept.
    tcp: Type.Optional(
      Type.Unsafe<Record<string, never>>({ type: 'object', properties: {}, additionalProperties: false, description: '{}: a connection that opens is healthy' }),
    ),
    intervalMs: millis(1),
    timeoutMs: millis(1),
    healthyThreshold: count(1, 'successes in a row that make an endpoint healthy'),
    unhealthyThreshold: count(1, 'failures in a row that make an endpoint unhealthy'),
  },
  { additionalProperties: false, description: 'active health checking; exactly one of http, grpc and tcp' },
);

export const TrafficPolicySchema = Type.Object(
  {
    loadBalancer: Type.Optional(LoadBalancerPolicy),
    connectionPool: Type.Optional(ConnectionPoolPolicy),
    outlierDetection: Type.Optional(OutlierDetectionPolicy),
    healthCheck: Type.Optional(HealthCheckPolicy),
    rateLimit: Type.Optional(RateLimitPolicy),
    localityFailover: Type.Optional(
      Type.Boolean({
        description:
          "prefer endpoints in the caller's zone, then in its region, then anywhere (by its node's locality); a nearer tier with no healthy endpoint fails over to the next",
      }),
    ),
  },
  {
    additionalProperties: false,
    // No $id: it is embedded in the service schemas, and a registered copy would clash with them.
    description: "A service's traffic policy. Durations are whole milliseconds; every part is optional, and absent parts keep Envoy's defaults.",
  },
);
export type TrafficPolicyBody = Static<typeof TrafficPolicySchema>;

/* ---------- routes ---------- */

/** The route fields after namespace and name, shared by create, replace and the response. */
const routeActionAndPolicies = {
  destinations: Type.Optional(Type.Array(Destination, { minItems: 1, maxItems: 64 })),
  redirect: Type.Optional(RedirectPolicy),
  directResponse: Type.Optional(DirectResponse),
  timeoutMs: Type.Optional(millis(0, 'whole request timeout; 0 disables it')),
  retries: Type.Optional(RetryPolicy),
  fault: Type.Optional(FaultPolicy),
  mirror: Type.Optional(MirrorPolicy),
  requestHeaders: Type.Optional(HeaderOps),
  responseHeaders: Type.Optional(HeaderOps),
  rewrite: Type.Optional(RewritePolicy),
  cors: Type.Optional(CorsPolicy),
  rateLimit: Type.Optional(RateLimitPolicy),
  tracing: Type.Optional(RouteTracing),
};

const hosts = (options: Record<string, unknown> = {}) =>
  Type.Array(Authority, { maxItems: 64, description: 'authorities the route claims; empty: the hosts of its destination services', ...options });
const priority = (options: Record<string, unknown> = {}) =>
  int(-MAX_PRIORITY, MAX_PRIORITY, { description: 'higher first; ties are broken by namespace then name', ...options });

const routeFields = {
  hosts: Type.Optional(hosts({ default: [] })),
  priority: Type.Optional(priority({ default: 0 })),
  match: Type.Optional(routeMatch({ default: {} })),
  ...routeActionAndPolicies,
};

const ROUTE_DESCRIPTION =
  'Requests for hosts that match go to destinations, or get a redirect or a direct response: exactly one of the three. ' +
  'timeoutMs, retries, mirror and rewrite apply only to routes with destinations.';

export const RouteBody = Type.Object(
  { namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 63, default: DEFAULT_NAMESPACE })), name: Name, ...routeFields },
  { additionalProperties: false, $id: 'RouteCreate', description: ROUTE_DESCRIPTION },
);
export type RouteBody = Static<typeof RouteBody>;

export const RouteUpdate = Type.Object(
  { namespace: Type.Optional(Name), name: Type.Optional(Name), ...routeFields },
  { additionalProperties: false, $id: 'RouteUpdate', description: `Replaces the route; namespace and name, if given, must match the URL. ${ROUTE_DESCRIPTION}` },
);
export type RouteUpdate = Static<typeof RouteUpdate>;

export const Route = Type.Object(
  {
    namespace: Type.String(),
    name: Type.String(),
    hosts: hosts(),
    priority: priority(),
    match: routeMatch(),
    ...routeActionAndPolicies,
    revision: Type.Integer({ description: 'Increments on every change; send it back in If-Match for a conditional write.' }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Route' },
);
export type Route = Static<typeof Route>;

export const RouteList = Type.Object({ items: Type.Array(Type.Ref('Route')) }, { $id: 'RouteList' });

export const RoutePath = Type.Object({ namespace: Type.String(), name: Type.String() });

export const RouteQuery = Type.Object(
  {
    namespace: Type.Optional(Name),
    service: Type.Optional(Type.String({ minLength: 3, maxLength: 127, pattern: '^[^/]+/[^/]+$', description: 'routes with a destination in this service, as namespace/name' })),
  },
  { additionalProperties: false },
);
export type RouteQuery = Static<typeof RouteQuery>;

/* ---------- traffic split ---------- */

export const TrafficSplitBody = Type.Object(
  {
    namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 63, default: DEFAULT_NAMESPACE, description: 'of the service and of the route' })),
    service: Name,
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: 'the route to create or replace; <service>-split by default' })),
    subsetLabel: Type.Optional(Type.String({ minLength: 1, maxLength: 317, default: 'version', description: 'the endpoint label whose values the weights are keyed by' })),
    weights: Type.Record(Type.String(), int(0, 100), {
      propertyNames: { minLength: 1, maxLength: 63 },
      minProperties: 1,
      maxProperties: 16,
      description: 'subset label value → weight; the weights add up to 100',
    }),
  },
  {
    additionalProperties: false,
    $id: 'TrafficSplit',
    description:
      "Splits a service's traffic between subsets of its endpoints, by one label: a route for the service's own host with one destination per weight. " +
      "Send 90% of greeter to v1 and 10% to v2: {service: 'greeter', weights: {v1: 90, v2: 10}}.",
  },
);
export type TrafficSplitBody = Static<typeof TrafficSplitBody>;

/** The traffic schemas with an `$id`, registered with Fastify next to SHARED_SCHEMAS. */
export const TRAFFIC_SCHEMAS: TSchema[] = [RouteBody, RouteUpdate, Route, RouteList, TrafficSplitBody];
