/** The registry's tables (drizzle). Migrations in `migrations/` are generated from this file by drizzle-kit. */
import { sql } from 'drizzle-orm';
import type { AuthorizationPolicySpec } from '../model/authz.ts';
import type { RouteSpec, TrafficPolicy } from '../model/traffic.ts';
import {
  bigint,
  doublePrecision,
  check,
  index,
  boolean,
  integer,
  jsonb,
  pgTable,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const timestamps = {
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
};

export const services = pgTable(
  'services',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    namespace: text('namespace').notNull(),
    name: text('name').notNull(),
    protocol: text('protocol').notNull(),
    port: integer('port').notNull(),
    tags: jsonb('tags').$type<string[]>().notNull().default(sql`'[]'::jsonb`),
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default(sql`'{}'::jsonb`),
    version: text('version'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    /** Load balancing, connection pool, outlier detection, health checks, rate limit (null: Envoy's defaults). */
    trafficPolicy: jsonb('traffic_policy').$type<TrafficPolicy>(),
    /** Mutual TLS on the service's inbound side: strict, permissive or disabled (null: the mesh default). */
    mtls: text('mtls'),
    revision: integer('revision').notNull().default(1),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('services_namespace_name_key').on(t.namespace, t.name),
    check('services_protocol_check', sql`${t.protocol} in ('http', 'http2', 'grpc', 'tcp')`),
    check('services_port_check', sql`${t.port} between 1 and 65535`),
    check('services_mtls_check', sql`${t.mtls} in ('strict', 'permissive', 'disabled')`),
  ],
);

export const endpoints = pgTable(
  'endpoints',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    serviceId: uuid('service_id')
      .notNull()
      .references(() => services.id, { onDelete: 'cascade' }),
    address: text('address').notNull(),
    port: integer('port').notNull(),
    weight: integer('weight').notNull().default(1),
    region: text('region').notNull().default(''),
    zone: text('zone').notNull().default(''),
    subZone: text('sub_zone').notNull().default(''),
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default(sql`'{}'::jsonb`),
    health: text('health').notNull().default('healthy'),
    ttlSeconds: integer('ttl_seconds'),
    lastHeartbeatAt: timestamp('last_heartbeat_at', { withTimezone: true, mode: 'date' }),
    revision: integer('revision').notNull().default(1),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('endpoints_service_address_port_key').on(t.serviceId, t.address, t.port),
    index('endpoints_ttl_idx').on(t.ttlSeconds).where(sql`${t.ttlSeconds} is not null`),
    check('endpoints_health_check', sql`${t.health} in ('healthy', 'unhealthy', 'draining', 'unknown')`),
    check('endpoints_port_check', sql`${t.port} between 1 and 65535`),
    check('endpoints_weight_check', sql`${t.weight} between 1 and 10000`),
  ],
);

/** What a route says beyond its identity, stored as one JSON document (validated by the API before it is written). */
export type RouteBodyColumn = Omit<RouteSpec, 'namespace' | 'name' | 'hosts' | 'priority'>;

/** Routes (matches → weighted destinations, redirects, direct responses, and per-route policies). */
export const routes = pgTable(
  'routes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    namespace: text('namespace').notNull(),
    name: text('name').notNull(),
    hosts: jsonb('hosts').$type<string[]>().notNull().default(sql`'[]'::jsonb`),
    priority: integer('priority').notNull().default(0),
    spec: jsonb('spec').$type<RouteBodyColumn>().notNull(),
    revision: integer('revision').notNull().default(1),
    ...timestamps,
  },
  (t) => [uniqueIndex('routes_namespace_name_key').on(t.namespace, t.name)],
);

/** One row holding the registry's revision: every write bumps it in its transaction, so commit order is revision order. */
export const meshRevision = pgTable('mesh_revision', {
  id: smallint('id').primaryKey(),
  value: bigint('value', { mode: 'number' }).notNull(),
});

/** The change log: one row per write, read by replicas that missed a notification. */
export const changes = pgTable(
  'changes',
  {
    revision: bigint('revision', { mode: 'number' }).primaryKey(),
    kind: text('kind').notNull(),
    op: text('op').notNull(),
    namespace: text('namespace').notNull(),
    name: text('name').notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('changes_at_idx').on(t.at)],
);

/**
 * Each running replica's heartbeat and the status of the proxies it holds (a JSON summary, written
 * when it changed), so that any replica's API can show every proxy of the mesh and where it is.
 */
export const replicas = pgTable('replicas', {
  id: text('id').primaryKey(),
  /** Where other replicas reach this one's API (to forward a config dump). */
  apiUrl: text('api_url').notNull(),
  leader: boolean('leader').notNull().default(false),
  startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  seenAt: timestamp('seen_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  proxies: jsonb('proxies').$type<unknown[]>().notNull().default(sql`'[]'::jsonb`),
});

/** What an authorization policy says beyond its identity and target (validated by the API before it is written). */
export type AuthzPolicyColumn = Pick<AuthorizationPolicySpec, 'action' | 'mode' | 'rules'>;

/** Authorization policies: allow or deny requests to a service (or a whole namespace) by caller and request. */
export const authorizationPolicies = pgTable(
  'authorization_policies',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    namespace: text('namespace').notNull(),
    name: text('name').notNull(),
    targetNamespace: text('target_namespace').notNull(),
    /** Null: every service of the target namespace. */
    targetService: text('target_service'),
    spec: jsonb('spec').$type<AuthzPolicyColumn>().notNull(),
    revision: integer('revision').notNull().default(1),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('authorization_policies_namespace_name_key').on(t.namespace, t.name),
    index('authorization_policies_target_idx').on(t.targetNamespace, t.targetService),
  ],
);

/**
 * The mesh CA's own certificates: the root(s) and the intermediate(s) that sign workload
 * certificates, generated at first start or provided by the user. Private keys are stored sealed
 * (AES-256-GCM, see src/ca/sealed-key.ts); `status` moves active → retiring (still in the trust
 * bundle during a rotation's overlap) → retired.
 */
export const caAuthorities = pgTable(
  'ca_authorities',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    role: text('role').$type<'root' | 'intermediate'>().notNull(),
    source: text('source').$type<'generated' | 'provided'>().notNull(),
    algorithm: text('algorithm').notNull(),
    certPem: text('cert_pem').notNull(),
    /** Null for a provided root whose key stays with its owner (only its intermediate signs). */
    sealedKey: text('sealed_key'),
    parentId: uuid('parent_id'),
    notBefore: timestamp('not_before', { withTimezone: true, mode: 'date' }).notNull(),
    notAfter: timestamp('not_after', { withTimezone: true, mode: 'date' }).notNull(),
    status: text('status').$type<'active' | 'retiring' | 'retired'>().notNull().default('active'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    check('ca_authorities_role_check', sql`${t.role} in ('root', 'intermediate')`),
    check('ca_authorities_status_check', sql`${t.status} in ('active', 'retiring', 'retired')`),
  ],
);

/**
 * Workload certificates the CA issued: the inventory (`GET /api/v1/certificates`), and for the ones
 * delivered over SDS their sealed keys, so every replica serves the same secret for an identity.
 */
export const certificates = pgTable(
  'certificates',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    namespace: text('namespace').notNull(),
    service: text('service').notNull(),
    spiffeId: text('spiffe_id').notNull(),
    serial: text('serial').notNull(),
    issuerId: uuid('issuer_id').notNull(),
    /** How it was asked for: pushed over SDS, a signed CSR, or written to disk by the CLI. */
    channel: text('channel').$type<'sds' | 'csr' | 'cli'>().notNull(),
    certPem: text('cert_pem').notNull(),
    sealedKey: text('sealed_key'),
    notBefore: timestamp('not_before', { withTimezone: true, mode: 'date' }).notNull(),
    notAfter: timestamp('not_after', { withTimezone: true, mode: 'date' }).notNull(),
    status: text('status').$type<'active' | 'superseded' | 'revoked'>().notNull().default('active'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('certificates_serial_key').on(t.serial),
    index('certificates_identity_idx').on(t.namespace, t.service, t.status),
    index('certificates_not_after_idx').on(t.notAfter),
    check('certificates_channel_check', sql`${t.channel} in ('sds', 'csr', 'cli')`),
    check('certificates_status_check', sql`${t.status} in ('active', 'superseded', 'revoked')`),
  ],
);

/**
 * Join tokens: per-service credentials a proxy presents on the xDS port (`authorization: Bearer`)
 * or to have a CSR signed. Only the SHA-256 of a token is stored; the token is shown once.
 */
export const joinTokens = pgTable(
  'join_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    namespace: text('namespace').notNull(),
    service: text('service').notNull(),
    /** Lower-case hex SHA-256 of the whole token (`apg_…`). */
    tokenHash: text('token_hash').notNull(),
    description: text('description'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /** Null: never expires. */
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [uniqueIndex('join_tokens_token_hash_key').on(t.tokenHash), index('join_tokens_identity_idx').on(t.namespace, t.service)],
);

/**
 * Raw access-log entries (ALS), one row per request or TCP connection. Partitioned by day on `at`
 * (the migration creates it with PARTITION BY RANGE; src/registry/access-logs.ts creates the days
 * ahead and drops whole days past the retention), so expiry is a DROP, never a DELETE.
 */
export const accessLogEntries = pgTable(
  'access_log_entries',
  {
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
    proxyId: text('proxy_id').notNull(),
    protocol: text('protocol').$type<'http' | 'tcp'>().notNull(),
    direction: text('direction').$type<'outbound' | 'inbound'>().notNull(),
    source: text('source'),
    destination: text('destination'),
    method: text('method'),
    path: text('path'),
    status: integer('status'),
    durationMs: doublePrecision('duration_ms'),
    bytesReceived: bigint('bytes_received', { mode: 'number' }).notNull().default(0),
    bytesSent: bigint('bytes_sent', { mode: 'number' }).notNull().default(0),
    traceId: text('trace_id'),
    requestId: text('request_id'),
  },
  (t) => [index('access_log_entries_at_idx').on(t.at), index('access_log_entries_trace_idx').on(t.traceId)],
);

export type ServiceRow = typeof services.$inferSelect;
export type EndpointRow = typeof endpoints.$inferSelect;
export type ChangeRow = typeof changes.$inferSelect;
export type ReplicaRow = typeof replicas.$inferSelect;
export type RouteRow = typeof routes.$inferSelect;
export type CaAuthorityRow = typeof caAuthorities.$inferSelect;
export type CertificateRow = typeof certificates.$inferSelect;
export type AuthzPolicyRow = typeof authorizationPolicies.$inferSelect;
export type JoinTokenRow = typeof joinTokens.$inferSelect;
