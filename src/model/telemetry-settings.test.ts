import { describe, expect, it } from 'vitest';
import type { Issue } from '../lib/result.ts';
import { DEFAULT_MESH_SETTINGS, type HostPort, type MeshSettings } from './mesh.ts';
import { parseHostPort, telemetrySettingsOf, type TelemetryConfig } from './telemetry-settings.ts';
import type { Config } from '../config.ts';

// The server's configuration is what this reads: main.ts passes it as it is.
const _fits: TelemetryConfig = {} as Config;
void _fits;

/** The server's defaults (TELEMETRY on, TRACING_PROVIDER none, TRACING_SAMPLING 1); a case lists only what differs. */
const config = (over: Partial<TelemetryConfig> = {}): TelemetryConfig => ({ telemetry: 'on', tracingProvider: 'none', tracingSamplePercent: 1, ...over });

describe('parseHostPort', () => {
  it.each<[string, HostPort]>([
    ['control-plane:18000', { host: 'control-plane', port: 18000 }],
    ['telemetry.mesh.svc:1', { host: 'telemetry.mesh.svc', port: 1 }],
    ['10.0.0.5:9411', { host: '10.0.0.5', port: 9411 }],
    ['[fd00::5]:4317', { host: 'fd00::5', port: 4317 }],
    ['[10.0.0.5]:65535', { host: '10.0.0.5', port: 65535 }],
  ])('%s', (text, want) => {
    expect(parseHostPort(text, 'x')).toEqual({ ok: true, value: want });
  });

  it.each(['control-plane', 'control-plane:0', 'control-plane:65536', ':80', 'fd00::5:4317', '[otel]:4317', 'bad_name:80', 'a:b:80', ''])(
    'refuses %j',
    (text) => {
      const got = parseHostPort(text, 'telemetryAddress');
      expect(got.ok).toBe(false);
      if (!got.ok) expect(got.issues).toEqual([{ path: 'telemetryAddress', message: expect.stringContaining('is not host:port') }]);
    },
  );
});

describe('telemetrySettingsOf', () => {
  const cases: { name: string; config: TelemetryConfig; want: Pick<MeshSettings, 'telemetry' | 'tracing'> }[] = [
    {
      name: "the server's defaults: access logs over the bootstrap's xds_cluster, no tracing",
      config: config(),
      want: { telemetry: { accessLog: true }, tracing: { provider: 'none', samplePercent: 1 } },
    },
    {
      name: 'telemetry off, whatever the address',
      config: config({ telemetry: 'off', telemetryAddress: 'telemetry:18001' }),
      want: { telemetry: { accessLog: false, address: { host: 'telemetry', port: 18001 } }, tracing: { provider: 'none', samplePercent: 1 } },
    },
    {
      name: 'a telemetry address and OpenTelemetry tracing at 10 %',
      config: config({ telemetryAddress: '10.0.0.2:18001', tracingProvider: 'opentelemetry', tracingAddress: 'otel-collector:4317', tracingSamplePercent: 10 }),
      want: {
        telemetry: { accessLog: true, address: { host: '10.0.0.2', port: 18001 } },
        tracing: { provider: 'opentelemetry', address: { host: 'otel-collector', port: 4317 }, samplePercent: 10 },
      },
    },
    {
      name: 'Zipkin on IPv6, a fraction of a percent',
      config: config({ tracingProvider: 'zipkin', tracingAddress: '[fd00::9]:9411', tracingSamplePercent: 0.5 }),
      want: { telemetry: { accessLog: true }, tracing: { provider: 'zipkin', address: { host: 'fd00::9', port: 9411 }, samplePercent: 0.5 } },
    },
  ];

  it.each(cases)('$name', ({ config, want }) => {
    expect(telemetrySettingsOf(config)).toEqual({ ok: true, value: want });
  });

  it.each<[string, TelemetryConfig, Issue[]]>([
    ['a provider without an address', config({ tracingProvider: 'zipkin' }), [{ path: 'tracingAddress', message: 'is required with the tracing provider zipkin' }]],
    ['a sampling share above 100', config({ tracingSamplePercent: 101 }), [{ path: 'tracingSamplePercent', message: 'must be a percentage from 0 to 100' }]],
    [
      'two bad addresses, each named',
      config({ telemetryAddress: 'nope', tracingProvider: 'opentelemetry', tracingAddress: 'otel:0' }),
      [
        { path: 'telemetryAddress', message: '"nope" is not host:port (a host name or IP address, [ ] around IPv6, and a port from 1 to 65535)' },
        { path: 'tracingAddress', message: '"otel:0" is not host:port (a host name or IP address, [ ] around IPv6, and a port from 1 to 65535)' },
      ],
    ],
  ])('reports %s', (_, c, issues) => {
    expect(telemetrySettingsOf(c)).toEqual({ ok: false, issues });
  });

  it('spreads over the defaults into whole MeshSettings, as the server does', () => {
    const got = telemetrySettingsOf(config({ tracingProvider: 'opentelemetry', tracingAddress: 'otel:4317' }));
    const settings: MeshSettings = { ...DEFAULT_MESH_SETTINGS, ...(got.ok ? got.value : {}) };
    expect(settings.telemetry.accessLog).toBe(true);
    expect(settings.tracing.provider).toBe('opentelemetry');
  });
});

describe('DEFAULT_MESH_SETTINGS', () => {
  it('log and trace nothing: a mesh built with the defaults is the plain config', () => {
    expect(DEFAULT_MESH_SETTINGS.telemetry).toEqual({ accessLog: false });
    expect(DEFAULT_MESH_SETTINGS.tracing.provider).toBe('none');
  });
});
