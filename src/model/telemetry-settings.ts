/**
 * The telemetry and tracing parts of MeshSettings from the server's configuration, whose addresses
 * are `host:port` text (src/config.ts checks their form). Pure, so the composition root only calls it.
 */
import { fail, issue, ok, type Issue, type Result } from '../lib/result.ts';
import { addressKind } from './address.ts';
import type { HostPort, MeshSettings, TracingProvider } from './mesh.ts';

/** The configuration fields this reads (src/config.ts's Config satisfies it). */
export interface TelemetryConfig {
  telemetry: 'on' | 'off';
  telemetryAddress?: string;
  tracingProvider: TracingProvider;
  tracingAddress?: string;
  tracingSamplePercent: number;
}

/** `host:port` (`[v6]:port` for IPv6) as a HostPort, brackets dropped; issues name `path`. */
export function parseHostPort(text: string, path: string): Result<HostPort> {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  const host = m?.[1] ?? m?.[2] ?? '';
  const kind = addressKind(host);
  // An IPv6 address needs brackets (its colons would run into the port's); a host name takes none.
  const bracketsFit = m?.[1] === undefined ? kind !== 'ipv6' : kind !== 'hostname';
  if (!m || !kind || !bracketsFit || port < 1 || port > 65535) {
    return fail(issue(path, `${JSON.stringify(text)} is not host:port (a host name or IP address, [ ] around IPv6, and a port from 1 to 65535)`));
  }
  return ok({ host, port });
}

/** The `telemetry` and `tracing` settings a configuration asks for; issues name the configuration field. */
export function telemetrySettingsOf(config: TelemetryConfig): Result<Pick<MeshSettings, 'telemetry' | 'tracing'>> {
  const issues: Issue[] = [];
  const address = (text: string | undefined, path: string): HostPort | undefined => {
    if (text === undefined) return undefined;
    const parsed = parseHostPort(text, path);
    if (!parsed.ok) issues.push(...parsed.issues);
    return parsed.ok ? parsed.value : undefined;
  };
  const telemetryAddress = address(config.telemetryAddress, 'telemetryAddress');
  const tracingAddress = address(config.tracingAddress, 'tracingAddress');
  if (config.tracingProvider !== 'none' && config.tracingAddress === undefined) {
    issues.push(issue('tracingAddress', `is required with the tracing provider ${config.tracingProvider}`));
  }
  const p = config.tracingSamplePercent;
  if (!(Number.isFinite(p) && p >= 0 && p <= 100)) issues.push(issue('tracingSamplePercent', 'must be a percentage from 0 to 100'));
  if (issues.length > 0) return fail(...issues);
  return ok({
    telemetry: { accessLog: config.telemetry === 'on', ...(telemetryAddress ? { address: telemetryAddress } : {}) },
    tracing: { provider: config.tracingProvider, ...(tracingAddress ? { address: tracingAddress } : {}), samplePercent: p },
  });
}
