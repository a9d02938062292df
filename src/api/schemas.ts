/** Request and response schemas: they validate input, type the handlers, and make the OpenAPI document. */
import { Type, type Static, type TSchema } from 'typebox';
import { MTLS_MODES } from '../model/mesh.ts';
import { DEFAULT_NAMESPACE } from '../model/names.ts';
import { ROLES } from '../model/proxy.ts';
import { nullable, stringEnum } from './schema-base.ts';
import { TrafficPolicySchema } from './traffic-schemas.ts';


export const PROTOCOLS = ['http', 'http2', 'grpc', 'tcp'] as const;
export const HEALTHS = ['healthy', 'unhealthy', 'draining', 'unknown'] as const;
export const SERVICE_HEALTHS = ['healthy', 'degraded', 'unhealthy', 'unknown'] as const;

const Name = Type.String({ minLength: 1, maxLength: 63, description: 'DNS label: lower-case letters, digits and -' });
const Port = Type.Integer({ minimum: 1, maximum: 65535 });
const Labels = Type.Record(Type.String({ maxLength: 317 }), Type.String({ maxLength: 63 }), {
  maxProperties: 64,
  description: 'label key → value (Kubernetes label syntax)',
});

const serviceFields = {
  protocol: Type.Optional(stringEnum(PROTOCOLS, { default: 'http' })),
  port: Port,
  tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 64, uniqueItems: true, default: [] })),
  labels: Type.Optional(Labels),
  version: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Null()])),
  metadata: Type.Optional(Type.Record(Type.String({ maxLength: 128 }), Type.Unknown(), { maxProperties: 64 })),
  trafficPolicy: Type.Optional(
    Type.Union([TrafficPolicySchema, Type.Null()], {
      description: 'load balancing, connection pool and circuit breakers, outlier detection, active health checks, local rate limit; null: Envoy defaults',
    }),
  ),
  mtls: Type.Optional(
    Type.Union([stringEnum(MTLS_MODES), Type.Null()], {
      description: 'mutual TLS on the inbound side: strict (mTLS only), permissive (mTLS and plain text), disabled (plain text); null: the mesh default (MTLS_DEFAULT)',
    }),
  ),
};

export const ServiceCreate = Type.Object(
  { namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 63, default: DEFAULT_NAMESPACE })), name: Name, ...serviceFields },
  { additionalProperties: false, $id: 'ServiceCreate' },
);
export type ServiceCreate = Static<typeof ServiceCreate>;

export const ServiceUpdate = Type.Object(
  { namespace: Type.Optional(Name), name: Type.Optional(Name), ...serviceFields },
  { additionalProperties: false, $id: 'ServiceUpdate', description: 'Replaces the service; namespace and name, if given, must match the URL.' },
);
export type ServiceUpdate = Static<typeof ServiceUpdate>;

const Timestamps = { createdAt: Type.String({ format: 'date-time' }), updatedAt: Type.String({ format: 'date-time' }) };

export const Service = Type.Object(
  {
    namespace: Type.String(),
    name: Type.String(),
    protocol: stringEnum(PROTOCOLS),
    port: Type.Integer(),
    tags: Type.Array(Type.String()),
    labels: Type.Record(Type.String(), Type.String()),
    version: Type.Union([Type.String(), Type.Null()]),
    metadata: Type.Record(Type.String(), Type.Unknown()),
    trafficPolicy: Type.Union([TrafficPolicySchema, Type.Null()]),
    mtls: Type.Union([stringEnum(MTLS_MODES), Type.Null()]),
    revision: Type.Integer({ description: 'Increments on every change; send it back in If-Match for a conditional write.' }),
    health: stringEnum(SERVICE_HEALTHS),
    endpointCount: Type.Integer(),
    healthyEndpointCount: Type.Integer(),
    ...Timestamps,
  },
  { $id: 'Service' },
);

export const ServiceList = Type.Object({ items: Type.Array(Type.Ref('Service')) }, { $id: 'ServiceList' });

export const ServiceQuery = Type.Object(
  {
    namespace: Type.Optional(Name),
    tag: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())], { description: 'repeat for several; all must match' })),
    label: Type.Optional(Type.String({ description: 'label selector, e.g. app=web,version!=v1,canary,!legacy' })),
    health: Type.Optional(stringEnum(SERVICE_HEALTHS)),
  },
  { additionalProperties: false },
);

export const ServicePath = Type.Object({ namespace: Type.String(), name: Type.String() });
export const EndpointPath = Type.Object({ namespace: Type.String(), name: Type.String(), id: Type.String() });

export const EndpointSpec = Type.Object(
  {
    address: Type.String({ minLength: 1, maxLength: 253, description: 'IPv4, IPv6 or host name' }),
    port: Port,
    weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, default: 1 })),
    region: Type.Optional(Type.String({ maxLength: 128, default: '' })),
    zone: Type.Optional(Type.String({ maxLength: 128, default: '' })),
    subZone: Type.Optional(Type.String({ maxLength: 128, default: '' })),
    labels: Type.Optional(Labels),
    health: Type.Optional(stringEnum(HEALTHS, { default: 'healthy' })),
    ttlSeconds: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1, maximum: 86400 }), Type.Null()], {
        description: 'heartbeat TTL: without a heartbeat for this long the endpoint turns unhealthy',
      }),
    ),
  },
  { additionalProperties: false, $id: 'EndpointSpec' },
);
export type EndpointSpec = Static<typeof EndpointSpec>;

export const Endpoint = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    address: Type.String(),
    port: Type.Integer(),
    weight: Type.Integer(),
    region: Type.String(),
    zone: Type.String(),
    subZone: Type.String(),
    labels: Type.Record(Type.String(), Type.String()),
    health: stringEnum(HEALTHS),
    ttlSeconds: Type.Union([Type.Integer(), Type.Null()]),
    lastHeartbeatAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    revision: Type.Integer(),
    ...Timestamps,
  },
  { $id: 'Endpoint' },
);

export const EndpointList = Type.Object({ items: Type.Array(Type.Ref('Endpoint')) }, { $id: 'EndpointList' });

export const Heartbeat = Type.Union(
  [Type.Object({ health: Type.Optional(stringEnum(HEALTHS)) }, { additionalProperties: false }), Type.Null()],
  { description: 'optional; the health to record, healthy by default' },
);

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    code: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem' },
);

export const DateTime = Type.String({ format: 'date-time' });
const SyncState = stringEnum(['synced', 'stale', 'error'] as const, {
  description: 'synced: the proxy ACKed what it was sent; stale: sent, not answered yet; error: the proxy NACKed it',
});
/** One optional entry per resource type, by short name (the names of SHORT_NAMES in src/protos/type-urls.ts). */
const perType = <T extends TSchema>(schema: T) =>
  Type.Object({ cds: Type.Optional(schema), eds: Type.Optional(schema), lds: Type.Optional(schema), rds: Type.Optional(schema), sds: Type.Optional(schema) });
const Variant = stringEnum(['sotw', 'delta'] as const, { description: 'state of the world or incremental (Delta) xDS' });

export const ProxyTypeStatus = Type.Object(
  {
    state: SyncState,
    sentVersion: nullable(Type.String()),
    sentAt: nullable(DateTime),
    sentRevision: nullable(Type.Integer({ description: 'registry revision of the snapshot the last response was built from' })),
    ackedVersion: nullable(Type.String()),
    ackedAt: nullable(DateTime),
    lastNack: nullable(Type.Object({ version: Type.String(), errorDetail: Type.String(), at: DateTime })),
    resourceCount: Type.Integer({ description: 'resources of this type the proxy was sent and still holds' }),
  },
  { $id: 'ProxyTypeStatus' },
);

export const ProxyStream = Type.Object(
  {
    id: Type.String(),
    replica: Type.String({ description: 'the control plane replica holding the stream' }),
    variant: Variant,
    connectedAt: DateTime,
    types: perType(Type.Ref('ProxyTypeStatus')),
  },
  { $id: 'ProxyStream' },
);

export const Proxy = Type.Object(
  {
    id: Type.String({ description: 'node.id' }),
    role: stringEnum(ROLES),
    cluster: Type.String({ description: 'node.cluster' }),
    service: nullable(Type.String()),
    namespace: nullable(Type.String()),
    region: Type.Optional(nullable(Type.String({ description: 'node.locality.region (absent in views from replicas of earlier versions)' }))),
    zone: nullable(Type.String({ description: 'node.locality.zone' })),
    userAgent: nullable(Type.String()),
    connectedAt: DateTime,
    streams: Type.Array(Type.Ref('ProxyStream'), { description: 'oldest first; a proxy may hold several (reconnects, per-type services)' }),
  },
  { $id: 'Proxy' },
);

export const ProxyList = Type.Object(
  {
    items: Type.Array(Type.Ref('Proxy')),
    complete: Type.Boolean({ description: "false when the other replicas' proxies could not be read (database unavailable): only this replica's are listed" }),
  },
  { $id: 'ProxyList' },
);

const SentResource = Type.Object({
  name: Type.String(),
  version: Type.String({ description: 'content hash of the resource' }),
  state: SyncState,
  sentAt: DateTime,
  resource: Type.Record(Type.String(), Type.Unknown(), { description: 'the resource as Envoy JSON' }),
});

export const ProxyConfig = Type.Object(
  {
    id: Type.String(),
    streams: Type.Array(
      Type.Object({
        id: Type.String(),
        replica: Type.String(),
        variant: Variant,
        types: perType(Type.Object({ version: nullable(Type.String()), resources: Type.Array(SentResource) })),
      }),
    ),
  },
  { $id: 'ProxyConfig', description: 'what each stream of the proxy was last sent, per type' },
);

export const ProxyPath = Type.Object({ id: Type.String({ minLength: 1, description: 'node.id' }) });

/** Shared schemas registered with Fastify (and listed under components in OpenAPI). */
export const SHARED_SCHEMAS: TSchema[] = [Service, ServiceList, Endpoint, EndpointList, Problem, ProxyTypeStatus, ProxyStream, Proxy, ProxyList, ProxyConfig];

/** Problem responses for the given statuses, for route schemas. */
export function problemResponses(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, Type.Ref('Problem')]));
}

const ResourceChange = Type.Object({
  type: Type.String({ description: 'cds, eds, lds, rds or sds' }),
  name: Type.String(),
  change: stringEnum(['added', 'modified', 'removed'] as const),
  variant: Type.Optional(
    Type.String({
      description:
        'set for a variant of the resource, to its key: proxies of one locality (zone:<region>/<zone>, region:<region>), of one service (service:<namespace>/<name>) or with one kind of mTLS (tls:sds, tls:a29) get it instead',
    }),
  ),
  resource: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'the resource as Envoy JSON; absent for a removal' })),
});

/** The 200 of a write with `?dryRun=true`: the resource it would store, under `key`, and what it would change in the served config. */
export function dryRunOf(key: string, ref: string) {
  return Type.Object(
    {
      dryRun: Type.Literal(true),
      [key]: Type.Ref(ref),
      changes: Type.Array(ResourceChange, { description: 'the Envoy resources the write would add, modify or remove' }),
      issues: Type.Array(Type.Object({ type: Type.String(), name: Type.String(), path: Type.String(), message: Type.String() }), {
        description: 'resources the publish gate would hold back',
      }),
    },
    { description: 'what the write would do; nothing was stored' },
  );
}

/** The 200 of a write that answers 200 for real too: the resource it stored, or with `?dryRun=true` what it would do. */
export function writtenOrDryRun(key: string, ref: string) {
  return Type.Union([Type.Ref(ref), dryRunOf(key, ref)]);
}
