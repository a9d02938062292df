import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { LOG_LEVELS, parseConfig, SETTINGS, settingsHelp, type Config } from './config.ts';
import type { Issue } from './lib/result.ts';

const DEFAULTS: Config = {
  host: '0.0.0.0',
  apiPort: 8080,
  xdsPort: 18000,
  databaseUrl: undefined,
  dataDir: './data',
  logLevel: 'info',
  debounceMs: 100,
  maxDelayMs: 1000,
  catchUpIntervalMs: 5000,
  leaderRetryMs: 5000,
  dbTimeoutMs: 10_000,
  gatewayPort: 10000,
  replicaId: `${hostname()}-${process.pid}`,
  statusSyncMs: 2000,
  advertiseUrl: undefined,
  mode: 'development',
  trustDomain: 'mesh.local',
  caKey: undefined,
  caKeyFile: undefined,
  caAlgorithm: 'ecdsa-p256',
  certTtlMs: 86_400_000,
  authzDefault: 'allow',
  mtlsDefault: 'permissive',
  telemetry: 'on',
  telemetryPort: undefined,
  telemetryAddress: undefined,
  telemetryQueueCapacity: 200_000,
  telemetryStreamWindow: 1_048_576,
  accessLogRetentionMs: 86_400_000,
  minuteRollupRetentionMs: 7 * 86_400_000,
  hourRollupRetentionMs: 90 * 86_400_000,
  degradedRatio: 0.001,
  failingRatio: 0.1,
  tracingProvider: 'none',
  tracingAddress: undefined,
  tracingSamplePercent: 1,
};

/** The config for the given flags and environment, or the issues; `want` lists only what differs from the defaults. */
function parse(argv: string[], env: Record<string, string> = {}) {
  return parseConfig(argv, env);
}

describe('parseConfig: values', () => {
  it('uses the defaults when nothing is set', () => {
    expect(parse([])).toEqual({ ok: true, value: DEFAULTS });
  });

  it.each<[string, string[], Record<string, string>, Partial<Config>]>([
    [
      'every environment variable',
      [],
      {
        HOST: '127.0.0.1',
        API_PORT: '0',
        XDS_PORT: '18001',
        DATABASE_URL: 'postgres://u:p@db:5432/mesh',
        DATA_DIR: '/var/lib/mesh',
        LOG_LEVEL: 'debug',
        XDS_DEBOUNCE_MS: '0',
        XDS_MAX_DELAY_MS: '60000',
        XDS_CATCH_UP_MS: '300',
        LEADER_RETRY_MS: '250',
        DB_TIMEOUT_MS: '2500',
        GATEWAY_PORT: '65535',
        REPLICA_ID: 'cp-1',
        STATUS_SYNC_MS: '500',
        ADVERTISE_URL: 'http://cp-1.mesh:8080',
        MODE: 'production',
        TRUST_DOMAIN: 'prod.example.com',
        CA_KEY_FILE: '/etc/mesh/ca.key',
        CA_ALGORITHM: 'rsa-2048',
        CERT_TTL_MS: '3600000',
        AUTHZ_DEFAULT: 'deny',
      },
      {
        host: '127.0.0.1',
        apiPort: 0,
        xdsPort: 18001,
        databaseUrl: 'postgres://u:p@db:5432/mesh',
        dataDir: '/var/lib/mesh',
        logLevel: 'debug',
        debounceMs: 0,
        maxDelayMs: 60000,
        catchUpIntervalMs: 300,
        leaderRetryMs: 250,
        dbTimeoutMs: 2500,
        gatewayPort: 65535,
        replicaId: 'cp-1',
        statusSyncMs: 500,
        advertiseUrl: 'http://cp-1.mesh:8080',
        mode: 'production',
        trustDomain: 'prod.example.com',
        caKeyFile: '/etc/mesh/ca.key',
        caAlgorithm: 'rsa-2048',
        certTtlMs: 3_600_000,
        authzDefault: 'deny',
      },
    ],
    [
      'every flag, as --flag value',
      [
        '--host', '::', '--api-port', '1', '--xds-port', '2', '--database-url', 'postgresql://db/mesh', '--data-dir', 'd',
        '--log-level', 'silent', '--debounce-ms', '5', '--max-delay-ms', '10', '--catch-up-ms', '10', '--leader-retry-ms', '600000', '--db-timeout-ms', '100',
        '--gateway-port', '3', '--replica-id', 'r', '--status-sync-ms', '50', '--advertise-url', 'https://[::1]:8443/',
        '--mode', 'development', '--trust-domain', 'a_b-c.d', '--ca-key', 'k', '--ca-algorithm', 'ecdsa-p256', '--cert-ttl-ms', '600000',
      ],
      {},
      {
        host: '::', apiPort: 1, xdsPort: 2, databaseUrl: 'postgresql://db/mesh', dataDir: 'd',
        logLevel: 'silent', debounceMs: 5, maxDelayMs: 10, catchUpIntervalMs: 10, leaderRetryMs: 600000, dbTimeoutMs: 100, gatewayPort: 3, replicaId: 'r',
        statusSyncMs: 50, advertiseUrl: 'https://[::1]:8443/', trustDomain: 'a_b-c.d', caKey: 'k', certTtlMs: 600_000,
      },
    ],
    ['--flag=value', ['--api-port=8081', '--log-level=warn'], {}, { apiPort: 8081, logLevel: 'warn' }],
    ['--flag=value keeps later = signs', ['--database-url=postgres://db/mesh?options=-c%20x=1'], {}, { databaseUrl: 'postgres://db/mesh?options=-c%20x=1' }],
    ['flags override the environment', ['--api-port', '9000'], { API_PORT: '7000', XDS_PORT: '7001' }, { apiPort: 9000, xdsPort: 7001 }],
    ['the last of a repeated flag wins', ['--api-port=1', '--api-port=2'], {}, { apiPort: 2 }],
    [
      'empty environment values fall back to the defaults',
      [],
      { HOST: '', API_PORT: '', DATABASE_URL: '', LOG_LEVEL: '', XDS_DEBOUNCE_MS: '', REPLICA_ID: '' },
      {},
    ],
    ['surrounding spaces around a number', [], { API_PORT: ' 8081 ' }, { apiPort: 8081 }],
    ['max delay equal to debounce', [], { XDS_DEBOUNCE_MS: '500', XDS_MAX_DELAY_MS: '500' }, { debounceMs: 500, maxDelayMs: 500 }],
    ['unrelated environment variables are ignored', [], { PATH: '/bin', PORT: 'x' }, {}],
    [
      'the telemetry settings',
      [],
      {
        TELEMETRY: 'off', TELEMETRY_PORT: '18090', TELEMETRY_ADDRESS: 'control-plane:18090', TELEMETRY_QUEUE: '5000', TELEMETRY_STREAM_WINDOW: '262144',
        ACCESS_LOG_RETENTION_MS: '3600000', MINUTE_ROLLUP_RETENTION_MS: '86400000', HOUR_ROLLUP_RETENTION_MS: '86400000',
        TOPOLOGY_DEGRADED_RATIO: '0.01', TOPOLOGY_FAILING_RATIO: '0.5', TRACING_PROVIDER: 'zipkin', TRACING_ADDRESS: '[::1]:9411', TRACING_SAMPLING: '12.5',
      },
      {
        telemetry: 'off', telemetryPort: 18090, telemetryAddress: 'control-plane:18090', telemetryQueueCapacity: 5000, telemetryStreamWindow: 262_144,
        accessLogRetentionMs: 3_600_000, minuteRollupRetentionMs: 86_400_000, hourRollupRetentionMs: 86_400_000,
        degradedRatio: 0.01, failingRatio: 0.5, tracingProvider: 'zipkin', tracingAddress: '[::1]:9411', tracingSamplePercent: 12.5,
      },
    ],
  ])('%s', (_name, argv, env, want) => {
    expect(parse(argv, env)).toEqual({ ok: true, value: { ...DEFAULTS, ...want } });
  });

  it.each(LOG_LEVELS)('accepts log level %s', (level) => {
    expect(parse(['--log-level', level])).toMatchObject({ ok: true, value: { logLevel: level } });
  });
});

describe('parseConfig: issues name the setting', () => {
  const PORT0 = 'must be an integer from 0 to 65535';
  const PORT1 = 'must be an integer from 1 to 65535';
  it.each<[string, string[], Record<string, string>, Issue[]]>([
    ['a port that is not a number', [], { API_PORT: 'abc' }, [{ path: 'API_PORT', message: `${PORT0}, got "abc"` }]],
    ['a port out of range', [], { XDS_PORT: '65536' }, [{ path: 'XDS_PORT', message: `${PORT0}, got "65536"` }]],
    ['a negative port', [], { XDS_PORT: '-1' }, [{ path: 'XDS_PORT', message: `${PORT0}, got "-1"` }]],
    ['a fractional port', [], { API_PORT: '80.5' }, [{ path: 'API_PORT', message: `${PORT0}, got "80.5"` }]],
    ['a hex port', [], { API_PORT: '0x50' }, [{ path: 'API_PORT', message: `${PORT0}, got "0x50"` }]],
    ['a gateway port of 0', [], { GATEWAY_PORT: '0' }, [{ path: 'GATEWAY_PORT', message: `${PORT1}, got "0"` }]],
    ['a bad value from a flag names the flag', ['--api-port', 'abc'], { API_PORT: '1' }, [{ path: '--api-port', message: `${PORT0}, got "abc"` }]],
    ['an empty flag value is not a default', ['--api-port='], {}, [{ path: '--api-port', message: `${PORT0}, got ""` }]],
    ['an empty host from a flag', ['--host='], {}, [{ path: '--host', message: 'must not be empty, got ""' }]],
    ['a blank host', [], { HOST: '  ' }, [{ path: 'HOST', message: 'must not be empty, got "  "' }]],
    ['a blank data dir', [], { DATA_DIR: ' ' }, [{ path: 'DATA_DIR', message: 'must not be empty, got " "' }]],
    ['a status sync too frequent', [], { STATUS_SYNC_MS: '10' }, [{ path: 'STATUS_SYNC_MS', message: 'must be a whole number of milliseconds from 50 to 600000, got "10"' }]],
    [
      'an advertised URL with a path',
      ['--advertise-url', 'http://cp:8080/api'],
      {},
      [{ path: '--advertise-url', message: 'must be an http:// or https:// URL with no path, got "http://cp:8080/api"' }],
    ],
    ['a telemetry address without a port', [], { TELEMETRY_ADDRESS: 'cp' }, [{ path: 'TELEMETRY_ADDRESS', message: 'must be host:port (a name or IP address, [ ] around IPv6, and a port from 1 to 65535), got "cp"' }]],
    ['a telemetry port without the address proxies reach it at', [], { TELEMETRY_PORT: '18090' }, [{ path: 'TELEMETRY_ADDRESS', message: 'is required with TELEMETRY_PORT: where proxies reach that port' }]],
    ['a telemetry queue too small', [], { TELEMETRY_QUEUE: '10' }, [{ path: 'TELEMETRY_QUEUE', message: 'must be a whole number from 1000 to 10000000, got "10"' }]],
    ['a telemetry stream window below HTTP/2\'s default', [], { TELEMETRY_STREAM_WINDOW: '1024' }, [{ path: 'TELEMETRY_STREAM_WINDOW', message: 'must be a whole number from 65535 to 2147483647, got "1024"' }]],
    ['a ratio above 1', [], { TOPOLOGY_DEGRADED_RATIO: '1.5' }, [{ path: 'TOPOLOGY_DEGRADED_RATIO', message: 'must be a number from 0 to 1, got "1.5"' }]],
    ['a failing ratio below the degraded one', [], { TOPOLOGY_DEGRADED_RATIO: '0.2' }, [{ path: 'TOPOLOGY_FAILING_RATIO', message: 'must be at least TOPOLOGY_DEGRADED_RATIO (0.2)' }]],
    ['a tracing provider without an address', ['--tracing-provider', 'opentelemetry'], {}, [{ path: 'TRACING_ADDRESS', message: 'is required with --tracing-provider opentelemetry' }]],
    ['a sampling percentage that is not a number', [], { TRACING_SAMPLING: 'all' }, [{ path: 'TRACING_SAMPLING', message: 'must be a number from 0 to 100, got "all"' }]],
    ['an unknown mode', [], { MODE: 'prod' }, [{ path: 'MODE', message: 'must be one of development, production, got "prod"' }]],
    ['a trust domain with a port', [], { TRUST_DOMAIN: 'mesh.local:443' }, [{ path: 'TRUST_DOMAIN', message: 'must be a SPIFFE trust domain (lower-case letters, digits, ".", "-", "_"), got "mesh.local:443"' }]],
    ['an upper-case trust domain', ['--trust-domain', 'Mesh.Local'], {}, [{ path: '--trust-domain', message: 'must be a SPIFFE trust domain (lower-case letters, digits, ".", "-", "_"), got "Mesh.Local"' }]],
    ['an unknown authorization default', [], { AUTHZ_DEFAULT: 'maybe' }, [{ path: 'AUTHZ_DEFAULT', message: 'must be one of allow, deny, got "maybe"' }]],
    ['an unknown CA algorithm', [], { CA_ALGORITHM: 'ed25519' }, [{ path: 'CA_ALGORITHM', message: 'must be one of ecdsa-p256, rsa-2048, got "ed25519"' }]],
    ['a certificate lifetime under 10 minutes', [], { CERT_TTL_MS: '60000' }, [{ path: 'CERT_TTL_MS', message: 'must be a whole number of milliseconds from 600000 to 7776000000, got "60000"' }]],
    ['a CA key and a CA key file', ['--ca-key-file', '/k'], { CA_KEY: 'x' }, [{ path: '--ca-key-file', message: 'cannot be combined with CA_KEY; give one of them' }]],
    ['an advertised URL without a scheme', [], { ADVERTISE_URL: 'cp:8080' }, [{ path: 'ADVERTISE_URL', message: 'must be an http:// or https:// URL with no path, got "cp:8080"' }]],
    [
      'a database URL that is not PostgreSQL',
      [],
      { DATABASE_URL: 'mysql://db' },
      [{ path: 'DATABASE_URL', message: 'must start with postgres:// or postgresql://, got "mysql://db"' }],
    ],
    [
      'an unknown log level',
      [],
      { LOG_LEVEL: 'verbose' },
      [{ path: 'LOG_LEVEL', message: `must be one of ${LOG_LEVELS.join(', ')}, got "verbose"` }],
    ],
    [
      'a debounce that is too long',
      [],
      { XDS_DEBOUNCE_MS: '10001' },
      [{ path: 'XDS_DEBOUNCE_MS', message: 'must be a whole number of milliseconds from 0 to 10000, got "10001"' }],
    ],
    [
      'a max delay of 0',
      [],
      { XDS_MAX_DELAY_MS: '0' },
      [{ path: 'XDS_MAX_DELAY_MS', message: 'must be a whole number of milliseconds from 1 to 60000, got "0"' }],
    ],
    [
      'a catch-up interval of 0 (it would spin)',
      [],
      { XDS_CATCH_UP_MS: '0' },
      [{ path: 'XDS_CATCH_UP_MS', message: 'must be a whole number of milliseconds from 10 to 600000, got "0"' }],
    ],
    [
      'a leader retry interval that is not a number',
      ['--leader-retry-ms', '1s'],
      {},
      [{ path: '--leader-retry-ms', message: 'must be a whole number of milliseconds from 10 to 600000, got "1s"' }],
    ],
    [
      'a database timeout too short to connect',
      [],
      { DB_TIMEOUT_MS: '99' },
      [{ path: 'DB_TIMEOUT_MS', message: 'must be a whole number of milliseconds from 100 to 600000, got "99"' }],
    ],
    [
      'max delay below debounce (environment)',
      [],
      { XDS_DEBOUNCE_MS: '500', XDS_MAX_DELAY_MS: '499' },
      [{ path: 'XDS_MAX_DELAY_MS', message: 'must be at least XDS_DEBOUNCE_MS (500)' }],
    ],
    [
      'max delay below the default debounce',
      [],
      { XDS_MAX_DELAY_MS: '50' },
      [{ path: 'XDS_MAX_DELAY_MS', message: 'must be at least XDS_DEBOUNCE_MS (100)' }],
    ],
    [
      'debounce above the default max delay',
      [],
      { XDS_DEBOUNCE_MS: '2000' },
      [{ path: 'XDS_MAX_DELAY_MS', message: 'must be at least XDS_DEBOUNCE_MS (2000)' }],
    ],
    [
      'max delay below debounce (flags)',
      ['--debounce-ms', '500', '--max-delay-ms=100'],
      {},
      [{ path: '--max-delay-ms', message: 'must be at least --debounce-ms (500)' }],
    ],
    [
      'max delay below debounce (mixed)',
      ['--max-delay-ms', '100'],
      { XDS_DEBOUNCE_MS: '500' },
      [{ path: '--max-delay-ms', message: 'must be at least XDS_DEBOUNCE_MS (500)' }],
    ],
    ['an unknown flag', ['--verbose'], {}, [{ path: '--verbose', message: 'is not a known option (see --help)' }]],
    ['an unknown flag with a value', ['--port=80'], {}, [{ path: '--port', message: 'is not a known option (see --help)' }]],
    ['a stray argument', ['extra'], {}, [{ path: 'extra', message: 'is not a known option (see --help)' }]],
    ['env var names are not flags', ['API_PORT=1'], {}, [{ path: 'API_PORT=1', message: 'is not a known option (see --help)' }]],
    ['a flag without its value at the end', ['--api-port'], {}, [{ path: '--api-port', message: 'needs a value' }]],
    [
      'a flag followed by another flag',
      ['--host', '--api-port', '1'],
      {},
      [{ path: '--host', message: 'needs a value' }],
    ],
    [
      'every problem at once, in order',
      ['--nope', '--xds-port', 'x'],
      { API_PORT: 'abc', LOG_LEVEL: 'loud' },
      [
        { path: '--nope', message: 'is not a known option (see --help)' },
        { path: 'API_PORT', message: `${PORT0}, got "abc"` },
        { path: '--xds-port', message: `${PORT0}, got "x"` },
        { path: 'LOG_LEVEL', message: `must be one of ${LOG_LEVELS.join(', ')}, got "loud"` },
      ],
    ],
  ])('%s', (_name, argv, env, issues) => {
    expect(parse(argv, env)).toEqual({ ok: false, issues });
  });

  it('quotes the bad value on one line and cuts it at 100 characters', () => {
    const result = parse([], { API_PORT: `1\n2${'9'.repeat(200)}` });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const [only] = result.issues;
    expect(only?.path).toBe('API_PORT');
    expect(only?.message).not.toContain('\n');
    expect(only?.message).toBe(`${PORT0}, got ${JSON.stringify(`1\n2${'9'.repeat(97)}`)}`);
  });
});

describe('settingsHelp', () => {
  const help = settingsHelp();
  const lines = help.split('\n');

  it('has one line per setting, in order', () => {
    expect(lines).toHaveLength(SETTINGS.length);
    lines.forEach((line, i) => {
      const s = SETTINGS[i]!;
      expect(line).toContain(`${s.flag} <v>`);
      expect(line).toContain(s.env);
      expect(line).toContain(s.help);
    });
  });

  it.each([
    ['--api-port', 'API_PORT', '(default 8080)'],
    ['--xds-port', 'XDS_PORT', '(default 18000)'],
    ['--log-level', 'LOG_LEVEL', '(default info)'],
    ['--debounce-ms', 'XDS_DEBOUNCE_MS', '(default 100)'],
    ['--max-delay-ms', 'XDS_MAX_DELAY_MS', '(default 1000)'],
    ['--catch-up-ms', 'XDS_CATCH_UP_MS', '(default 5000)'],
    ['--leader-retry-ms', 'LEADER_RETRY_MS', '(default 5000)'],
    ['--db-timeout-ms', 'DB_TIMEOUT_MS', '(default 10000)'],
  ])('%s shows %s and %s', (flag, env, dflt) => {
    const line = lines.find((l) => l.includes(`${flag} <v>`));
    expect(line).toMatch(new RegExp(`^  ${flag} <v>\\s+${env}\\s+.*\\${dflt.slice(0, -1)}\\)$`));
  });

  it('shows no default for settings without one', () => {
    for (const flag of ['--database-url', '--replica-id']) {
      expect(lines.find((l) => l.includes(`${flag} <v>`))).not.toContain('default ');
    }
  });

  it('lines up the columns', () => {
    const envColumn = lines.map((l, i) => l.indexOf(SETTINGS[i]!.env));
    expect(new Set(envColumn).size).toBe(1);
  });
});
