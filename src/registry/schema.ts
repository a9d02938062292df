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
  primaryKey,
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
  /** This replica's telemetry ingestion counters (accepted, written, dropped), for the API and alerts. */
  telemetry: jsonb('telemetry').$type<Record<string, number>>().notNull().default(sql`'{}'::jsonb`),
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
    /** gRPC status from the `grpc-status` trailer (or header), for gRPC requests. */
    grpcStatus: integer('grpc_status'),
    durationMs: doublePrecision('duration_ms'),
    bytesReceived: bigint('bytes_received', { mode: 'number' }).notNull().default(0),
    bytesSent: bigint('bytes_sent', { mode: 'number' }).notNull().default(0),
    traceId: text('trace_id'),
    requestId: text('request_id'),
    /** The Envoy route's name (`<namespace>/<route>` for the registry's routes). */
    route: text('route'),
  },
  // Indexes cheap to keep up at tens of thousands of rows a second (two btrees cost the database
  // more than the rows themselves, see docs/benchmarks.md): a BRIN on the time (entries arrive
  // in time order; searches read a time window) and a hash on the trace id (looked up by equality only).
  (t) => [index('access_log_entries_at_idx').using('brin', t.at), index('access_log_entries_trace_idx').using('hash', t.traceId)],
);

/** What a rollup row counts: one service (as destination), one route of a service, or one edge (caller → service). */
export type RollupKind = 'service' | 'route' | 'edge';
/** Which side reported the requests: the caller's proxy (outbound) or the destination's (inbound). */
export type RollupReporter = 'source' | 'destination';

/**
 * Request counts per time bucket and key, with a mergeable latency histogram (src/analytics/histogram.ts
 * JSON). Minute rows are written per replica (each replica merges its own deltas into its own rows,
 * so replicas never contend; readers merge replicas); hour rows are merged from the minute rows by
 * the leader with `replica` ''. Both tables are partitioned by day on `bucket`, like the raw entries.
 */
const rollupTable = <N extends string>(name: N) =>
  pgTable(
    name,
    {
      bucket: timestamp('bucket', { withTimezone: true, mode: 'date' }).notNull(),
      replica: text('replica').notNull(),
      kind: text('kind').$type<RollupKind>().notNull(),
      reporter: text('reporter').$type<RollupReporter>().notNull(),
      /** `<namespace>/<name>` of the caller ('' when unknown or not part of the key). */
      source: text('source').notNull(),
      /** `<namespace>/<name>` of the destination ('' when unknown). */
      destination: text('destination').notNull(),
      /** Route name for `route` rows, else ''. */
      route: text('route').notNull(),
      requests: bigint('requests', { mode: 'number' }).notNull(),
      status2xx: bigint('status_2xx', { mode: 'number' }).notNull(),
      status3xx: bigint('status_3xx', { mode: 'number' }).notNull(),
      status4xx: bigint('status_4xx', { mode: 'number' }).notNull(),
      status5xx: bigint('status_5xx', { mode: 'number' }).notNull(),
      /** HTTP requests that got no response code (reset, no upstream) and TCP connections. */
      noStatus: bigint('no_status', { mode: 'number' }).notNull(),
      bytesReceived: bigint('bytes_received', { mode: 'number' }).notNull(),
      bytesSent: bigint('bytes_sent', { mode: 'number' }).notNull(),
      latency: jsonb('latency').$type<unknown>().notNull(),
    },
    (t) => [primaryKey({ columns: [t.bucket, t.replica, t.kind, t.reporter, t.source, t.destination, t.route] })],
  );

export const trafficRollupsMinute = rollupTable('traffic_rollups_minute');
export const trafficRollupsHour = rollupTable('traffic_rollups_hour');

/**
 * The latest value of the Envoy stats that matter (upstream requests by class, connections, retries,
 * ejections, health, circuit-breaker overflows) per proxy and cluster, from the metrics service.
 */
export const clusterStats = pgTable(
  'cluster_stats',
  {
    proxyId: text('proxy_id').notNull(),
    cluster: text('cluster').notNull(),
    /** The stat's name after the cluster (`upstream_rq_5xx`, `outlier_detection.ejections_active`, …). */
    stat: text('stat').notNull(),
    value: doublePrecision('value').notNull(),
    replica: text('replica').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.proxyId, t.cluster, t.stat] }), index('cluster_stats_updated_idx').on(t.updatedAt)],
);

export const ALERT_RULE_KINDS = ['error-rate', 'latency', 'request-rate', 'endpoint-health', 'certificate-expiry', 'nacks', 'ingestion-drops'] as const;
export type AlertRuleKind = (typeof ALERT_RULE_KINDS)[number];

/** An alert rule: what is measured (kind + params), over which services, when it fires and whom to tell. */
export const alertRules = pgTable(
  'alert_rules',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    description: text('description'),
    kind: text('kind').$type<AlertRuleKind>().notNull(),
    /** `<namespace>/<name>`; null: every service (rules on services) or the mesh (the others). */
    service: text('service'),
    /** Kind-specific parameters (threshold, percentile, window), validated by the API. */
    params: jsonb('params').$type<Record<string, unknown>>().notNull(),
    /** How long the condition must hold before the alert fires (ms). */
    forMs: integer('for_ms').notNull().default(0),
    severity: text('severity').$type<'info' | 'warning' | 'critical'>().notNull().default('warning'),
    webhookUrl: text('webhook_url'),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('alert_rules_name_key').on(t.name)],
);

/**
 * Alert history: one row per firing of a rule for a subject (a service, an edge, a proxy, or
 * 'mesh'), resolved in place. At most one firing row per rule and subject.
 */
export const alerts = pgTable(
  'alerts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ruleId: uuid('rule_id').references(() => alertRules.id, { onDelete: 'set null' }),
    ruleName: text('rule_name').notNull(),
    subject: text('subject').notNull(),
    state: text('state').$type<'pending' | 'firing' | 'resolved'>().notNull(),
    severity: text('severity').$type<'info' | 'warning' | 'critical'>().notNull(),
    /** The measured value that crossed (or last crossed) the threshold. */
    value: doublePrecision('value'),
    message: text('message').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull(),
    firedAt: timestamp('fired_at', { withTimezone: true, mode: 'date' }),
    resolvedAt: timestamp('resolved_at', { withTimezone: true, mode: 'date' }),
    /** Webhook delivery attempts, one entry each: `[{event, at, attempt, status, ok, error?}]`. */
    deliveries: jsonb('deliveries').$type<unknown[]>().notNull().default(sql`'[]'::jsonb`),
  },
  (t) => [
    index('alerts_started_idx').on(t.startedAt),
    uniqueIndex('alerts_open_key').on(t.ruleId, t.subject).where(sql`${t.state} <> 'resolved'`),
  ],
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
export type AlertRuleRow = typeof alertRules.$inferSelect;
export type AlertRow = typeof alerts.$inferSelect;
export type ClusterStatRow = typeof clusterStats.$inferSelect;
export type RollupRow = typeof trafficRollupsMinute.$inferSelect;
