/**
 * docker-compose.yml and the Dockerfile, checked by reading them (Docker does not run here): the
 * services and how they find each other, the settings they pass, and every file they use exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, SETTINGS } from '../src/config.ts';
import { parseYaml } from './support/envoy-bootstrap.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

interface Service {
  image?: string;
  build?: string | { context: string; dockerfile?: string };
  command?: string[];
  hostname?: string;
  environment?: Record<string, string>;
  ports?: string[];
  network_mode?: string;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

function loadCompose(): Compose {
  const { doc, issues } = parseYaml(read('docker-compose.yml'));
  expect(issues).toEqual([]);
  return doc as Compose;
}

const compose = loadCompose();
const svc = (name: string): Service => {
  const s = compose.services[name];
  if (!s) throw new Error(`no service ${name}`);
  return s;
};
const defaultOf = (env: string) => SETTINGS.find((s) => s.env === env)?.default;

/** The container side of a port mapping: "8080:8080", "127.0.0.1:9901:9901/tcp" → 8080, 9901. */
const containerPort = (mapping: string) => Number(mapping.split(':').at(-1)?.split('/')[0]);
/** A bind mount's host path, or undefined for a named volume. */
const bindSource = (mount: string) => (/^[./]/.test(mount) ? mount.split(':')[0] : undefined);

describe('docker-compose.yml', () => {
  it('has the demo services and nothing obsolete', () => {
    expect(Object.keys(compose).sort()).toEqual(['services', 'volumes']); // no `version:`: Compose v2 ignores and warns
    expect(Object.keys(compose.services).sort()).toEqual(['client', 'control-plane', 'gateway', 'greeter-1', 'greeter-2', 'postgres']);
  });

  it('runs PostgreSQL 16 with a health check, and the control plane points at it', () => {
    const pg = svc('postgres');
    expect(pg.image).toBe('postgres:16');
    expect(pg.healthcheck?.test.join(' ')).toMatch(/pg_isready/);
    const url = new URL(svc('control-plane').environment?.DATABASE_URL ?? '');
    expect(url.protocol).toBe('postgres:');
    expect(url.hostname).toBe('postgres');
    expect(url.port).toBe('5432');
    expect(decodeURIComponent(url.username)).toBe(pg.environment?.POSTGRES_USER);
    expect(decodeURIComponent(url.password)).toBe(pg.environment?.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${pg.environment?.POSTGRES_DB}`);
  });

  it('builds the control plane from the Dockerfile, publishes the API and xDS ports (and the gateway\'s), and passes only valid settings', () => {
    const cp = svc('control-plane');
    expect(cp.build).toBe('.');
    expect(existsSync(path.join(ROOT, 'Dockerfile'))).toBe(true);
    expect(cp.ports?.map(containerPort).sort()).toEqual([defaultOf('API_PORT'), defaultOf('XDS_PORT'), defaultOf('GATEWAY_PORT'), 9901].sort());
    for (const key of Object.keys(cp.environment ?? {})) expect(SETTINGS.map((s) => s.env)).toContain(key);
    expect(parseConfig([], cp.environment ?? {})).toMatchObject({ ok: true });
  });

  it('runs the greeters and the client from the image the control plane builds, with files that exist', () => {
    const image = svc('control-plane').image;
    expect(image).toBeTruthy();
    for (const [name, file] of [['greeter-1', 'demo/greeter.ts'], ['greeter-2', 'demo/greeter.ts'], ['client', 'demo/client.ts']] as const) {
      const s = svc(name);
      expect(s.image, name).toBe(image);
      expect(s.build, `${name} reuses the image rather than building its own`).toBeUndefined();
      expect(s.command, name).toEqual(['node_modules/.bin/tsx', file]);
      expect(existsSync(path.join(ROOT, file)), file).toBe(true);
    }
    expect(existsSync(path.join(ROOT, 'node_modules/.bin/tsx'))).toBe(true);
    expect(new Set([svc('greeter-1').hostname, svc('greeter-2').hostname]).size).toBe(2); // they answer with these names
  });

  it('points the greeters at the REST API, and the client at the xDS port on loopback in the control plane\'s network namespace', () => {
    for (const name of ['greeter-1', 'greeter-2']) {
      expect(svc(name).environment?.CONTROL_PLANE_URL).toBe(`http://control-plane:${defaultOf('API_PORT')}`);
    }
    expect(svc('client').environment?.XDS_SERVER).toBe(`127.0.0.1:${defaultOf('XDS_PORT')}`);
    // Loopback is what the development default XDS_AUTH admits without a credential.
    expect(svc('client').network_mode).toBe('service:control-plane');
    expect(read('demo/greeter.ts')).toContain('env.CONTROL_PLANE_URL');
    expect(read('demo/client.ts')).toContain('env.XDS_SERVER');
  });

  it('runs Envoy 1.31 as the gateway with envoy/gateway.yaml, on the gateway port', () => {
    const gw = svc('gateway');
    expect(gw.image).toBe('envoyproxy/envoy:v1.31-latest');
    expect(gw.volumes).toContain('./envoy/gateway.yaml:/etc/envoy/gateway.yaml:ro');
    const config = gw.command?.[gw.command.indexOf('-c') + 1];
    expect(gw.volumes?.map((v) => v.split(':')[1])).toContain(config);
    // In the control plane's network namespace, so the control plane publishes its ports.
    expect(gw.network_mode).toBe('service:control-plane');
    expect(gw.ports).toBeUndefined();
    const cp = svc('control-plane');
    expect(cp.ports?.map(containerPort)).toContain(defaultOf('GATEWAY_PORT'));
    expect(cp.ports?.find((p) => containerPort(p) === 9901)).toMatch(/^127\.0\.0\.1:/);
  });

  it('gives the gateway bootstrap the xDS port on loopback, which its network namespace (the control plane\'s) serves', () => {
    const doc = parseYaml(read('envoy/gateway.yaml')).doc as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const addr = doc.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
    expect(addr).toEqual({ address: '127.0.0.1', port_value: defaultOf('XDS_PORT') });
    const owner = svc('gateway').network_mode!.replace(/^service:/, '');
    expect(svc(owner).ports?.map(containerPort)).toContain(addr?.port_value);
  });

  it('mounts only files that exist, and declares every named volume', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const mount of s.volumes ?? []) {
        const source = bindSource(mount);
        if (source) expect(existsSync(path.join(ROOT, source)), `${name}: ${mount}`).toBe(true);
        else expect(Object.keys(compose.volumes ?? {}), `${name}: ${mount}`).toContain(mount.split(':')[0]);
      }
    }
  });

  it('waits only on services that exist, and on health only where there is a health check', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(compose.services, `${name} → ${dep}`).toHaveProperty([dep]);
        expect(['service_started', 'service_healthy', 'service_completed_successfully'], `${name} → ${dep}`).toContain(condition);
        if (condition === 'service_healthy') expect(svc(dep).healthcheck, `${dep} needs a healthcheck`).toBeDefined();
      }
    }
    expect(svc('control-plane').depends_on?.postgres?.condition).toBe('service_healthy');
  });
});

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const instructions = text.split('\n').filter((l) => /^[A-Z]+\s/.test(l));
  const ins = (name: string) => instructions.filter((l) => l.startsWith(`${name} `));

  it('builds on node:20-slim with npm ci from the lock file', () => {
    expect(ins('FROM')).toEqual(['FROM node:20-slim']);
    expect(ins('COPY')[0]).toBe('COPY package.json package-lock.json ./');
    expect(ins('RUN')[0]).toMatch(/^RUN npm ci\b/);
  });

  it('exposes the API and xDS ports and serves with tsx, as `npm start` does (same Node.js flags)', () => {
    expect(ins('EXPOSE')).toEqual([`EXPOSE ${defaultOf('API_PORT')} ${defaultOf('XDS_PORT')}`]);
    const start = (JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start.split(' ');
    expect(start[0]).toBe('tsx');
    expect(ins('CMD')).toEqual([`CMD ${JSON.stringify(['node_modules/.bin/tsx', ...start.slice(1)]).replaceAll(',', ', ')}`]);
    expect(start).toContain('--max-semi-space-size=64');
    expect(existsSync(path.join(ROOT, 'src/cli.ts'))).toBe(true);
  });

  it('keeps the host node_modules out of the build context', () => {
    expect(read('.dockerignore').split('\n')).toContain('node_modules');
  });
});
