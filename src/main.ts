/** The composition root: settings → database → migrations → reconciler → xDS server → API; and shutdown. */
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { buildApp } from './api/app.ts';
import { MeshCa, sealingKeyOf } from './ca/mesh-ca.ts';
import { registerCaMetrics } from './ca/metrics.ts';
import { xdsAuthOf, type Config } from './config.ts';
import { stillValidJoinTokens, verifyJoinToken } from './ca/join-tokens.ts';
import { meshAuthenticator } from './xds/server/auth.ts';
import type { Issue } from './lib/result.ts';
import { hostname } from 'node:os';
import { MeshProxyDirectory } from './api/proxy-directory.ts';
import { startHousekeeping } from './jobs/heartbeat-expiry.ts';
import { startReplicaStatus } from './jobs/replica-status.ts';
import { otherReplicas } from './registry/replicas.ts';
import { readRegistry } from './registry/snapshot.ts';
import { IdentityOpener } from './xds/identities.ts';
import { startSdsCertificates } from './jobs/sds-certificates.ts';
import { startTelemetryRetention } from './jobs/telemetry-retention.ts';
import { startHourRollups } from './jobs/hour-rollups.ts';
import { readRollups } from './registry/rollups.ts';
import { startTelemetry } from './jobs/telemetry.ts';
import type { TelemetryIngest } from './analytics/ingest.ts';
import { serviceTotals } from './analytics/series.ts';
import { startAlertEvaluator } from './jobs/alerts.ts';
import { liveReplicas } from './registry/replicas.ts';
import { TelemetryServer } from './xds/server/telemetry-service.ts';
import { previewChanges } from './xds/preview.ts';
import { DEFAULT_MESH_SETTINGS } from './model/mesh.ts';
import { telemetrySettingsOf } from './model/telemetry-settings.ts';
import { openDatabase, type Database } from './registry/db.ts';
import { LeaderElector } from './registry/leader.ts';
import { runMigrations } from './registry/migrate.ts';
import { SnapshotCache } from './xds/cache/snapshot-cache.ts';
import { Reconciler } from './xds/reconciler.ts';
import { XdsServer } from './xds/server/grpc-server.ts';
import type { XdsTlsOptions } from './xds/server/tls.ts';
import { readFile } from 'node:fs/promises';
import { XdsMetrics } from './xds/server/metrics.ts';
import { ProxyStatusTracker } from './xds/server/proxy-status.ts';
import { ProxyViews } from './xds/server/proxy-views.ts';

export interface RunningServer {
  apiPort: number;
  xdsPort: number;
  database: Database;
  cache: SnapshotCache;
  reconciler: Reconciler;
  status: ProxyStatusTracker;
  /** True while this replica holds the leader lock and runs the singleton jobs. */
  isLeader(): boolean;
  /** Runs the leader's housekeeping now (tests use it instead of waiting for the timer). */
  housekeeping(): Promise<number>;
  /** Runs the leader's SDS certificate job now; resolves with the number issued. */
  issueCertificates(): Promise<number>;
  /** Writes this replica's heartbeat and proxy status now (tests use it instead of waiting for the timer). */
  syncStatus(): Promise<void>;
  /** Where the access-log and metrics services listen (the xDS port unless TELEMETRY_PORT is set). */
  telemetryPort: number;
  /** This replica's telemetry ingestion (tests flush it). */
  telemetry: TelemetryIngest;
  /** Evaluates the alert rules now (on the leader); resolves with the number of alert changes. */
  evaluateAlerts(): Promise<number>;
  /** Runs the leader's telemetry jobs now (partitions, retention, hour rollups); resolves with what they changed. */
  maintainTelemetry(): Promise<number>;
  /** Graceful stop: API, xDS streams, jobs, database. */
  close(): Promise<void>;
}

/** Opens the database named by the config (PGlite under DATA_DIR when no URL is set). */
export function openConfiguredDatabase(config: Config): Promise<Database> {
  return openDatabase({ url: config.databaseUrl, dataDir: config.databaseUrl ? undefined : path.resolve(config.dataDir), timeoutMs: config.dbTimeoutMs });
}

/** Starts every part of the control plane and returns handles to them. */
export async function startServer(config: Config, log: Logger = pino({ level: config.logLevel })): Promise<RunningServer> {
  const sealing = sealingKeyOf(config);
  if (!sealing.ok) throw new Error(`cannot start the mesh CA: ${issueText(sealing.issues)}`);
  if (sealing.value.warning) log.warn(sealing.value.warning);
  // Read before anything starts: a missing file stops the start with nothing to undo.
  const xdsTlsFiles = await readXdsTlsFiles(config);
  const database = await openConfiguredDatabase(config);
  await runMigrations(database);
  const ca = await MeshCa.open({
    db: database.db,
    trustDomain: config.trustDomain,
    algorithm: config.caAlgorithm,
    certTtlMs: config.certTtlMs,
    sealingKey: sealing.value.key,
  });
  if (!ca.ok) {
    await database.close();
    throw new Error(`cannot open the mesh CA: ${issueText(ca.issues)}`);
  }
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const buildSeconds = new Histogram({ name: 'apg_xds_build_seconds', help: 'Time to rebuild the xDS snapshot', registers: [metrics] });

  registerCaMetrics(metrics, database.db, () => ca.value.inUse);

  const cache = new SnapshotCache();
  const telemetrySettings = telemetrySettingsOf(config);
  if (!telemetrySettings.ok) {
    await database.close();
    throw new Error(`cannot configure telemetry: ${issueText(telemetrySettings.issues)}`);
  }
  const settings = {
    ...DEFAULT_MESH_SETTINGS,
    gatewayPort: config.gatewayPort,
    trustDomain: config.trustDomain,
    mtlsDefault: config.mtlsDefault,
    authzDefault: config.authzDefault,
    ...telemetrySettings.value,
  };
  const identities = new IdentityOpener(sealing.value.key);
  // Set once the telemetry ingestion exists: each config build holds its reading of access logs.
  let holdIngest: (() => () => void) | undefined;
  const reconciler = new Reconciler({
    database,
    cache,
    settings,
    identities,
    debounceMs: config.debounceMs,
    maxDelayMs: config.maxDelayMs,
    catchUpIntervalMs: config.catchUpIntervalMs,
    log: log.child({ component: 'reconciler' }),
    onBuild: (ms) => buildSeconds.observe(ms / 1000),
    whileBuilding: () => holdIngest?.() ?? (() => undefined),
  });
  await reconciler.start();

  // A new leader makes the telemetry partitions at once: ingestion may be writing into today's already.
  let onLeadership = (_isLeader: boolean) => {};
  const leader = new LeaderElector(
    database,
    config.leaderRetryMs,
    (isLeader) => {
      log.info({ isLeader }, 'leadership changed');
      onLeadership(isLeader);
    },
    config.dbTimeoutMs,
  );
  await leader.start();
  const housekeeping = startHousekeeping({
    db: database.db,
    isLeader: () => leader.isLeader,
    intervalMs: 1000,
    changeRetentionMs: 24 * 3600 * 1000,
    replicaStaleMs: replicaStaleMs(config),
    log: log.child({ component: 'housekeeping' }),
  });
  const sdsCertificates = startSdsCertificates({
    db: database.db,
    ca: () => ca.value,
    isLeader: () => leader.isLeader,
    intervalMs: 1000,
    log: log.child({ component: 'sds-certificates' }),
  });

  const telemetryRetention = startTelemetryRetention({
    db: database.db,
    isLeader: () => leader.isLeader,
    intervalMs: 60_000,
    retentionMs: {
      access_log_entries: config.accessLogRetentionMs,
      traffic_rollups_minute: config.minuteRollupRetentionMs,
      traffic_rollups_hour: config.hourRollupRetentionMs,
    },
    clusterStatsMaxAgeMs: 3_600_000,
    log: log.child({ component: 'telemetry-retention' }),
  });
  onLeadership = (isLeader) => void (isLeader && telemetryRetention.runOnce());
  if (leader.isLeader) void telemetryRetention.runOnce();

  const status = new ProxyStatusTracker(new XdsMetrics(metrics), log.child({ component: 'xds' }));
  const xdsAuth = xdsAuthOf(config);
  const authenticator = meshAuthenticator({
    mode: xdsAuth,
    trustDomain: config.trustDomain,
    verifyToken: (token) => verifyJoinToken(database.db, token),
    stillValid: (ids) => stillValidJoinTokens(database.db, ids),
  });
  const telemetry = startTelemetry({ database, replicaId: config.replicaId, queueCapacity: config.telemetryQueueCapacity, metrics, log });
  holdIngest = () => telemetry.ingest.holdReading();
  const tls = xdsTlsFiles && { ...xdsTlsFiles, clientCaPem: ca.value.bundlePem() };
  const sharedPort = config.telemetryPort === undefined;
  const xds = new XdsServer({
    cache,
    status,
    controlPlaneId: config.replicaId,
    authenticator,
    tls,
    log: log.child({ component: 'xds-auth' }),
    ...(sharedPort ? { telemetry: telemetry.ingest, accessLogWindowBytes: config.telemetryStreamWindow } : {}),
  });
  const xdsPort = await xds.listen(config.host, config.xdsPort);
  const telemetryServer = sharedPort ? undefined : new TelemetryServer(telemetry.ingest, { authenticator, tokenStreams: xds.tokenStreams, accessLogWindowBytes: config.telemetryStreamWindow });
  const telemetryPort = telemetryServer ? await telemetryServer.listen(config.host, config.telemetryPort!, xds.credentials()) : xdsPort;

  const views = new ProxyViews(status);
  const others = () => otherReplicas(database.db, config.replicaId, 3 * config.statusSyncMs);
  const app = await buildApp({
    db: database.db,
    proxies: new MeshProxyDirectory(config.replicaId, views, others),
    previewWrite: async (tx) => {
      const registry = await readRegistry(tx);
      return previewChanges(registry, settings, cache.current, identities.open(registry.authorities, registry.certificates));
    },
    ca: ca.value,
    authzDefault: config.authzDefault,
    metrics,
    logger: log.child({ component: 'api' }),
    readiness: () => (cache.ready ? { ready: true } : { ready: false, reason: 'the first xDS snapshot has not been built yet' }),
    buildStatus: () => reconciler.status,
    analytics: {
      thresholds: { degraded: config.degradedRatio, failing: config.failingRatio },
      minuteRetentionMs: config.minuteRollupRetentionMs,
      telemetry: async () => {
        const others = (await liveReplicas(database.db, 3 * config.statusSyncMs)).filter((r) => r.id !== config.replicaId);
        return { replicas: [{ id: config.replicaId, counters: { ...telemetry.ingest.stats } }, ...others.map((r) => ({ id: r.id, counters: r.telemetry }))] };
      },
    },
  });
  const address = await app.listen({ host: config.host, port: config.apiPort });
  const apiPort = Number(new URL(address).port);
  const replicaStatus = await startReplicaStatus({
    db: database.db,
    id: config.replicaId,
    apiUrl: config.advertiseUrl ?? advertisedUrl(config.host, apiPort),
    isLeader: () => leader.isLeader,
    intervalMs: config.statusSyncMs,
    proxies: () => views.list(),
    changeCount: () => status.changeCount,
    telemetry: () => ({ ...telemetry.ingest.stats }),
    log: log.child({ component: 'replica-status' }),
  });
  const alerts = startAlertEvaluator({
    db: database.db,
    isLeader: () => leader.isLeader,
    intervalMs: 15_000,
    sources: {
      serviceWindows: async (windowMs, now) => {
        const rows = await readRollups(database.db, 'minute', { from: new Date(now.getTime() - windowMs), to: now, kind: 'service' });
        return serviceTotals(rows).map(({ service, counts }) => ({ service, requests: counts.requests, status5xx: counts.status5xx, latency: counts.latency }));
      },
    },
    replicaFreshMs: 3 * config.statusSyncMs,
    log: log.child({ component: 'alerts' }),
  });
  const hourRollups = startHourRollups({ db: database.db, isLeader: () => leader.isLeader, intervalMs: 5 * 60_000, log: log.child({ component: 'hour-rollups' }) });
  log.info({ apiPort, xdsPort, telemetryPort, xdsAuth, database: database.kind, replica: config.replicaId }, 'APG Service Mesh control plane started');

  return {
    apiPort,
    xdsPort,
    telemetryPort,
    database,
    telemetry: telemetry.ingest,
    evaluateAlerts: () => alerts.runOnce(),
    maintainTelemetry: async () => (await telemetryRetention.runOnce()) + (await hourRollups.runOnce()),
    cache,
    reconciler,
    status,
    isLeader: () => leader.isLeader,
    housekeeping: () => housekeeping.runOnce(),
    issueCertificates: () => sdsCertificates.runOnce(),
    syncStatus: () => replicaStatus.runOnce(),
    close: once(async () => {
      housekeeping.stop();
      sdsCertificates.stop();
      telemetryRetention.stop();
      hourRollups.stop();
      await alerts.stop();
      await replicaStatus.stop();
      await app.close();
      await xds.close();
      await telemetryServer?.close();
      await telemetry.stop();
      await reconciler.stop();
      await leader.stop();
      await database.close();
    }),
  };
}

/** The xDS port's certificate and key when configured (TLS on the xDS port; client certificates are checked against the mesh bundle). */
async function readXdsTlsFiles(config: Config): Promise<Omit<XdsTlsOptions, 'clientCaPem'> | undefined> {
  if (config.xdsTlsCertFile === undefined || config.xdsTlsKeyFile === undefined) return undefined;
  const read = async (file: string, setting: string) => {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new Error(`${setting}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return {
    certChainPem: await read(config.xdsTlsCertFile, 'XDS_TLS_CERT_FILE'),
    keyPem: await read(config.xdsTlsKeyFile, 'XDS_TLS_KEY_FILE'),
  };
}

const issueText = (issues: Issue[]) => issues.map((i) => `${i.path} ${i.message}`).join('; ');

/** A replica silent for this long is taken for dead: its row is pruned and its proxies no longer listed. */
function replicaStaleMs(config: Config): number {
  return Math.max(10 * config.statusSyncMs, 60_000);
}

/** The API URL other replicas can use: the bound host, or this machine's name when bound to every interface. */
function advertisedUrl(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' ? hostname() : host;
  return `http://${name.includes(':') ? `[${name}]` : name}:${port}`;
}

/** Wraps an async function so that later calls share the first call's promise (idempotent close). */
function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}
