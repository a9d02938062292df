/**
 * Settings from command-line flags and environment variables (flags win). Invalid settings are
 * issues naming the setting, so start-up can stop with one clear line.
 */
import { hostname } from 'node:os';
import { fail, issue, ok, type Issue, type Result } from './lib/result.ts';
import { MTLS_MODES, TRACING_PROVIDERS, type MtlsMode, type TracingProvider } from './model/mesh.ts';
import { parseHostPort } from './model/telemetry-settings.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const MODES = ['development', 'production'] as const;
export type Mode = (typeof MODES)[number];
export const AUTHZ_DEFAULTS = ['allow', 'deny'] as const;
export type AuthzDefault = (typeof AUTHZ_DEFAULTS)[number];
export const CA_ALGORITHMS = ['ecdsa-p256', 'rsa-2048'] as const;
export type CaAlgorithm = (typeof CA_ALGORITHMS)[number];
/**
 * How xDS clients authenticate: `required` (a join token or a CA-issued client certificate), or
 * `loopback-plaintext` (development: clients on 127.0.0.1/::1 may also connect without one).
 */
export const XDS_AUTH_MODES = ['required', 'loopback-plaintext'] as const;
export type XdsAuthMode = (typeof XDS_AUTH_MODES)[number];

export const TELEMETRY_SWITCH = ['on', 'off'] as const;
export type TelemetrySwitch = (typeof TELEMETRY_SWITCH)[number];

export interface Config {
  host: string;
  apiPort: number;
  xdsPort: number;
  databaseUrl?: string;
  dataDir: string;
  logLevel: LogLevel;
  debounceMs: number;
  maxDelayMs: number;
  /** How often each replica reads the registry revision in case a NOTIFY was lost (ms). */
  catchUpIntervalMs: number;
  /** How often a replica tries to take leadership, and the leader checks its lock session (ms). */
  leaderRetryMs: number;
  /** How long PostgreSQL may leave a connect or a query unanswered before the connection is given up (ms). */
  dbTimeoutMs: number;
  gatewayPort: number;
  replicaId: string;
  /** How often a replica writes its heartbeat and proxy status for the other replicas (ms). */
  statusSyncMs: number;
  /** The API address other replicas use to reach this one; unset: derived from HOST and the API port. */
  advertiseUrl?: string;
  /** `production` refuses to start without a CA key; `development` warns and uses a built-in one. */
  mode: Mode;
  /** The SPIFFE trust domain of workload identities. */
  trustDomain: string;
  /** The key that seals the CA's private keys at rest (32 bytes, base64 or hex), or a file holding it. */
  caKey?: string;
  caKeyFile?: string;
  /** Key algorithm of a generated CA and of workload certificates. */
  caAlgorithm: CaAlgorithm;
  /** Lifetime of workload certificates (ms). */
  certTtlMs: number;
  /** What happens to a request no authorization policy speaks for. */
  authzDefault: AuthzDefault;
  mtlsDefault: MtlsMode;
  /** How xDS clients authenticate; unset: by MODE (see `xdsAuthOf`). */
  xdsAuth?: XdsAuthMode;
  /** The xDS port's own certificate chain and key (PEM files): TLS on the xDS port, client certificates checked against the mesh bundle. */
  xdsTlsCertFile?: string;
  xdsTlsKeyFile?: string;
  /** `off`: generated listeners configure no access logger (the per-mesh opt-out); the services still accept streams. */
  telemetry: TelemetrySwitch;
  /** A separate port for the access-log and metrics services; unset: they share the xDS port. */
  telemetryPort?: number;
  /**
   * `host:port` where proxies reach the telemetry services; the server serves a cluster for it.
   * Unset: the access logger uses the bootstrap's own `xds_cluster` (the xDS port serves telemetry).
   */
  telemetryAddress?: string;
  /** Most access-log entries waiting to be stored; beyond it entries are dropped and counted. */
  telemetryQueueCapacity: number;
  /** HTTP/2 receive window of an access-log stream, bytes. */
  telemetryStreamWindow: number;
  /** How long raw access-log entries, minute rollups and hour rollups are kept (ms). */
  accessLogRetentionMs: number;
  minuteRollupRetentionMs: number;
  hourRollupRetentionMs: number;
  /** Topology colouring: an edge or service is degraded at this 5xx ratio, failing above `failingRatio`. */
  degradedRatio: number;
  failingRatio: number;
  /** Envoy tracing in generated HTTP connection managers: the collector kind and address, and the mesh sampling percentage. */
  tracingProvider: TracingProvider;
  tracingAddress?: string;
  tracingSamplePercent: number;
}

interface Setting {
  key: keyof Config;
  env: string;
  flag: string;
  help: string;
  parse: (raw: string) => unknown;
  default?: unknown;
}

const port = (min: number) => (raw: string) => {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > 65535) throw new Error(`must be an integer from ${min} to 65535`);
  return n;
};
const millis = (min: number, max: number) => (raw: string) => {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max) throw new Error(`must be a whole number of milliseconds from ${min} to ${max}`);
  return n;
};
const oneOf = <T extends string>(values: readonly T[]) => (raw: string) => {
  if (!(values as readonly string[]).includes(raw)) throw new Error(`must be one of ${values.join(', ')}`);
  return raw as T;
};
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const integer = (min: number, max: number) => (raw: string) => {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max) throw new Error(`must be a whole number from ${min} to ${max}`);
  return n;
};
const decimal = (min: number, max: number) => (raw: string) => {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new Error(`must be a number from ${min} to ${max}`);
  return n;
};
const hostPort = (raw: string) => {
  if (!parseHostPort(raw, '').ok) throw new Error('must be host:port (a name or IP address, [ ] around IPv6, and a port from 1 to 65535)');
  return raw;
};
const text = (raw: string) => {
  if (raw.trim() === '') throw new Error('must not be empty');
  return raw;
};

/** Every setting with its environment variable, flag, default and help text. */
export const SETTINGS: Setting[] = [
  { key: 'host', env: 'HOST', flag: '--host', help: 'address the API and xDS ports bind to', parse: text, default: '0.0.0.0' },
  { key: 'apiPort', env: 'API_PORT', flag: '--api-port', help: 'REST API port (0 picks a free one)', parse: port(0), default: 8080 },
  { key: 'xdsPort', env: 'XDS_PORT', flag: '--xds-port', help: 'xDS gRPC port (0 picks a free one)', parse: port(0), default: 18000 },
  {
    key: 'databaseUrl',
    env: 'DATABASE_URL',
    flag: '--database-url',
    help: 'PostgreSQL URL; unset: embedded PGlite in DATA_DIR',
    parse: (raw) => {
      if (!/^postgres(ql)?:\/\//.test(raw)) throw new Error('must start with postgres:// or postgresql://');
      return raw;
    },
  },
  { key: 'dataDir', env: 'DATA_DIR', flag: '--data-dir', help: 'PGlite data directory', parse: text, default: './data' },
  {
    key: 'logLevel',
    env: 'LOG_LEVEL',
    flag: '--log-level',
    help: LOG_LEVELS.join('|'),
    parse: oneOf(LOG_LEVELS),
    default: 'info',
  },
  { key: 'debounceMs', env: 'XDS_DEBOUNCE_MS', flag: '--debounce-ms', help: 'quiet time before a registry change is pushed', parse: millis(0, 10_000), default: 100 },
  { key: 'maxDelayMs', env: 'XDS_MAX_DELAY_MS', flag: '--max-delay-ms', help: 'longest a burst of changes may delay a push', parse: millis(1, 60_000), default: 1000 },
  { key: 'catchUpIntervalMs', env: 'XDS_CATCH_UP_MS', flag: '--catch-up-ms', help: 'how often the registry revision is re-read in case a notification was lost', parse: millis(10, 600_000), default: 5000 },
  { key: 'leaderRetryMs', env: 'LEADER_RETRY_MS', flag: '--leader-retry-ms', help: 'how often a replica tries to become leader for singleton jobs', parse: millis(10, 600_000), default: 5000 },
  { key: 'dbTimeoutMs', env: 'DB_TIMEOUT_MS', flag: '--db-timeout-ms', help: 'how long the database may leave a connect or query unanswered', parse: millis(100, 600_000), default: 10_000 },
  { key: 'gatewayPort', env: 'GATEWAY_PORT', flag: '--gateway-port', help: 'port of the listener served to gateway proxies', parse: port(1), default: 10000 },
  { key: 'replicaId', env: 'REPLICA_ID', flag: '--replica-id', help: 'name of this replica in proxy status', parse: text },
  { key: 'statusSyncMs', env: 'STATUS_SYNC_MS', flag: '--status-sync-ms', help: "how often a replica shares its proxies' status with the others", parse: millis(50, 600_000), default: 2000 },
  {
    key: 'advertiseUrl',
    env: 'ADVERTISE_URL',
    flag: '--advertise-url',
    help: "this replica's API address for the other replicas (default http://<host>:<api port>)",
    parse: (raw) => {
      if (!/^https?:\/\/[^/\s]+\/?$/.test(raw)) throw new Error('must be an http:// or https:// URL with no path');
      return raw;
    },
  },
  { key: 'mode', env: 'MODE', flag: '--mode', help: 'production refuses to start without CA_KEY or CA_KEY_FILE', parse: oneOf(MODES), default: 'development' },
  {
    key: 'trustDomain',
    env: 'TRUST_DOMAIN',
    flag: '--trust-domain',
    help: 'SPIFFE trust domain of workload identities',
    parse: (raw) => {
      // SPIFFE: lower-case letters, digits, dots, dashes and underscores; no port, no scheme.
      if (!/^[a-z0-9._-]{1,255}$/.test(raw)) throw new Error('must be a SPIFFE trust domain (lower-case letters, digits, ".", "-", "_")');
      return raw;
    },
    default: 'mesh.local',
  },
  { key: 'caKey', env: 'CA_KEY', flag: '--ca-key', help: 'key sealing the CA private keys: 32 bytes as base64 or hex', parse: text },
  { key: 'caKeyFile', env: 'CA_KEY_FILE', flag: '--ca-key-file', help: 'file holding the CA sealing key (instead of CA_KEY)', parse: text },
  { key: 'caAlgorithm', env: 'CA_ALGORITHM', flag: '--ca-algorithm', help: CA_ALGORITHMS.join('|'), parse: oneOf(CA_ALGORITHMS), default: 'ecdsa-p256' },
  {
    key: 'certTtlMs',
    env: 'CERT_TTL_MS',
    flag: '--cert-ttl-ms',
    help: 'lifetime of workload certificates',
    parse: millis(10 * 60_000, 90 * 24 * HOUR_MS),
    default: 24 * HOUR_MS,
  },
  {
    key: 'authzDefault',
    env: 'AUTHZ_DEFAULT',
    flag: '--authz-default',
    help: 'allow|deny: what happens to a request no authorization policy speaks for',
    parse: oneOf(AUTHZ_DEFAULTS),
    default: 'allow',
  },
  {
    key: 'mtlsDefault',
    env: 'MTLS_DEFAULT',
    flag: '--mtls-default',
    help: `${MTLS_MODES.join('|')}: mutual TLS of services that do not set their own`,
    parse: oneOf(MTLS_MODES),
    default: 'permissive',
  },
  {
    key: 'xdsAuth',
    env: 'XDS_AUTH',
    flag: '--xds-auth',
    help: `${XDS_AUTH_MODES.join('|')}: how xDS clients authenticate (unset: loopback-plaintext in development mode, required in production)`,
    parse: oneOf(XDS_AUTH_MODES),
  },
  { key: 'xdsTlsCertFile', env: 'XDS_TLS_CERT_FILE', flag: '--xds-tls-cert-file', help: 'certificate chain (PEM) of the xDS port: TLS, and mTLS for proxies with a mesh certificate', parse: text },
  { key: 'xdsTlsKeyFile', env: 'XDS_TLS_KEY_FILE', flag: '--xds-tls-key-file', help: 'private key (PEM) of that certificate', parse: text },
  { key: 'telemetry', env: 'TELEMETRY', flag: '--telemetry', help: 'on|off: generated listeners send access logs to the control plane', parse: oneOf(TELEMETRY_SWITCH), default: 'on' },
  { key: 'telemetryPort', env: 'TELEMETRY_PORT', flag: '--telemetry-port', help: 'own port for the access-log and metrics services (unset: the xDS port)', parse: port(0) },
  { key: 'telemetryAddress', env: 'TELEMETRY_ADDRESS', flag: '--telemetry-address', help: "host:port proxies send telemetry to (unset: their bootstrap's xds_cluster)", parse: hostPort },
  { key: 'telemetryStreamWindow', env: 'TELEMETRY_STREAM_WINDOW', flag: '--telemetry-stream-window', help: 'HTTP/2 receive window of an access-log stream in bytes: what a proxy may send while the control plane is busy (HTTP/2 default 65535)', parse: integer(65_535, 2 ** 31 - 1), default: 1_048_576 },
  { key: 'telemetryQueueCapacity', env: 'TELEMETRY_QUEUE', flag: '--telemetry-queue', help: 'access-log entries waiting to be stored before new ones are dropped', parse: integer(1000, 10_000_000), default: 200_000 },
  { key: 'accessLogRetentionMs', env: 'ACCESS_LOG_RETENTION_MS', flag: '--access-log-retention-ms', help: 'how long raw access-log entries are kept', parse: millis(HOUR_MS, 90 * DAY_MS), default: DAY_MS },
  { key: 'minuteRollupRetentionMs', env: 'MINUTE_ROLLUP_RETENTION_MS', flag: '--minute-rollup-retention-ms', help: 'how long per-minute rollups are kept', parse: millis(HOUR_MS, 365 * DAY_MS), default: 7 * DAY_MS },
  { key: 'hourRollupRetentionMs', env: 'HOUR_ROLLUP_RETENTION_MS', flag: '--hour-rollup-retention-ms', help: 'how long per-hour rollups are kept', parse: millis(DAY_MS, 3650 * DAY_MS), default: 90 * DAY_MS },
  { key: 'degradedRatio', env: 'TOPOLOGY_DEGRADED_RATIO', flag: '--topology-degraded-ratio', help: '5xx ratio at which the topology shows a service or edge degraded', parse: decimal(0, 1), default: 0.001 },
  { key: 'failingRatio', env: 'TOPOLOGY_FAILING_RATIO', flag: '--topology-failing-ratio', help: '5xx ratio above which the topology shows it failing', parse: decimal(0, 1), default: 0.1 },
  { key: 'tracingProvider', env: 'TRACING_PROVIDER', flag: '--tracing-provider', help: `${TRACING_PROVIDERS.join('|')}: where Envoy sends spans`, parse: oneOf(TRACING_PROVIDERS), default: 'none' },
  { key: 'tracingAddress', env: 'TRACING_ADDRESS', flag: '--tracing-address', help: 'host:port of the OpenTelemetry (gRPC) or Zipkin collector', parse: hostPort },
  { key: 'tracingSamplePercent', env: 'TRACING_SAMPLING', flag: '--tracing-sampling', help: 'percentage of requests traced (routes may set their own)', parse: decimal(0, 100), default: 1 },
];

/** Reads the settings from flags (`--api-port 8081` or `--api-port=8081`) and the environment. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): Result<Config> {
  const flags = new Map<string, string>();
  const issues: Issue[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.split(/=(.*)/s, 2) as [string, string | undefined];
    if (!SETTINGS.some((s) => s.flag === flag)) {
      issues.push(issue(arg.startsWith('--') ? flag : arg, 'is not a known option (see --help)'));
      continue;
    }
    // `--host --api-port 1`: the next flag is not --host's value (no setting takes a value starting with --).
    const value = inline ?? (argv[i + 1]?.startsWith('--') ? undefined : argv[++i]);
    if (value === undefined) issues.push(issue(flag, 'needs a value'));
    else flags.set(flag, value);
  }
  const out: Record<string, unknown> = {};
  const names: Partial<Record<keyof Config, string>> = {};
  for (const s of SETTINGS) {
    const raw = flags.get(s.flag) ?? env[s.env];
    const name = flags.has(s.flag) ? s.flag : s.env;
    names[s.key] = name;
    if (raw === undefined || (raw === '' && !flags.has(s.flag))) {
      out[s.key] = s.default;
      continue;
    }
    try {
      out[s.key] = s.parse(raw);
    } catch (err) {
      // JSON quoting keeps a value with a newline on the one line the CLI prints.
      issues.push(issue(name, `${(err as Error).message}, got ${JSON.stringify(raw.slice(0, 100))}`));
    }
  }
  if (issues.length) return fail(...issues);
  out.replicaId ??= `${hostname()}-${process.pid}`;
  if (out.caKey !== undefined && out.caKeyFile !== undefined) {
    return fail(issue(names.caKeyFile ?? 'CA_KEY_FILE', `cannot be combined with ${names.caKey ?? 'CA_KEY'}; give one of them`));
  }
  if ((out.xdsTlsCertFile === undefined) !== (out.xdsTlsKeyFile === undefined)) {
    const [given, missing] = out.xdsTlsCertFile === undefined ? ['xdsTlsKeyFile', 'xdsTlsCertFile'] : ['xdsTlsCertFile', 'xdsTlsKeyFile'];
    const fallback = { xdsTlsCertFile: 'XDS_TLS_CERT_FILE', xdsTlsKeyFile: 'XDS_TLS_KEY_FILE' } as const;
    return fail(issue(names[missing as 'xdsTlsKeyFile'] ?? fallback[missing as 'xdsTlsKeyFile'], `is required with ${names[given as 'xdsTlsCertFile'] ?? fallback[given as 'xdsTlsCertFile']}`));
  }
  if (out.telemetry === 'on' && out.telemetryPort !== undefined && out.telemetryAddress === undefined) {
    // The access loggers would otherwise send to the bootstrap's xds_cluster, where telemetry is not served then.
    return fail(issue(names.telemetryAddress ?? 'TELEMETRY_ADDRESS', `is required with ${names.telemetryPort ?? 'TELEMETRY_PORT'}: where proxies reach that port`));
  }
  if (out.tracingProvider !== 'none' && out.tracingAddress === undefined) {
    return fail(issue(names.tracingAddress ?? 'TRACING_ADDRESS', `is required with ${names.tracingProvider ?? 'TRACING_PROVIDER'} ${out.tracingProvider as string}`));
  }
  if ((out.failingRatio as number) < (out.degradedRatio as number)) {
    return fail(issue(names.failingRatio ?? 'TOPOLOGY_FAILING_RATIO', `must be at least ${names.degradedRatio ?? 'TOPOLOGY_DEGRADED_RATIO'} (${out.degradedRatio as number})`));
  }
  if ((out.maxDelayMs as number) < (out.debounceMs as number)) {
    return fail(issue(names.maxDelayMs ?? 'XDS_MAX_DELAY_MS', `must be at least ${names.debounceMs ?? 'XDS_DEBOUNCE_MS'} (${out.debounceMs as number})`));
  }
  return ok(out as unknown as Config);
}

/** The xDS authentication in force: XDS_AUTH, or by MODE when unset (production requires credentials). */
export function xdsAuthOf(config: Pick<Config, 'xdsAuth' | 'mode'>): XdsAuthMode {
  return config.xdsAuth ?? (config.mode === 'production' ? 'required' : 'loopback-plaintext');
}

/** The settings table for `--help`. */
export function settingsHelp(): string {
  const flagWidth = Math.max(...SETTINGS.map((s) => s.flag.length)) + 4;
  const envWidth = Math.max(...SETTINGS.map((s) => s.env.length));
  return SETTINGS.map((s) => `  ${(s.flag + ' <v>').padEnd(flagWidth)} ${s.env.padEnd(envWidth)} ${s.help}${s.default !== undefined ? ` (default ${String(s.default)})` : ''}`).join('\n');
}
