/** Request and response schemas: they validate input, type the handlers, and make the OpenAPI document. */
import { Type, type Static, type TSchema } from 'typebox';

/** A string enum as JSON Schema `{ type: string, enum }`, which gives one clear error instead of anyOf noise. */
function stringEnum<T extends string>(values: readonly T[], options: Record<string, unknown> = {}) {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });
}

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
};

export const ServiceCreate = Type.Object(
  { namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 63, default: 'default' })), name: Name, ...serviceFields },
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

/** Shared schemas registered with Fastify (and listed under components in OpenAPI). */
export const SHARED_SCHEMAS: TSchema[] = [Service, ServiceList, Endpoint, EndpointList, Problem];

/** Problem responses for the given statuses, for route schemas. */
export function problemResponses(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, Type.Ref('Problem')]));
}
