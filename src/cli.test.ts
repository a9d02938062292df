import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../test/support/config.ts';
import { apiCaller } from '../test/support/http.ts';
import { hasOpenssl, opensslVerify } from '../test/support/openssl.ts';
import { run } from './cli.ts';
import { startServer, type RunningServer } from './main.ts';
import { SETTINGS } from './config.ts';
import { openDatabase } from './registry/db.ts';
import { MIGRATIONS_DIR } from './registry/migrate.ts';

/** A writable that keeps what it was given. */
function sink() {
  const chunks: string[] = [];
  return {
    write(chunk: string) {
      chunks.push(chunk);
      return true;
    },
    get text() {
      return chunks.join('');
    },
  };
}

/** How many migrations drizzle has recorded in the PGlite database under `dataDir`. */
async function appliedMigrations(dataDir: string): Promise<number> {
  const database = await openDatabase({ dataDir });
  const session = await database.session();
  try {
    const { rows } = await session.query('select count(*)::int as n from drizzle.__drizzle_migrations');
    return Number(rows[0]?.n);
  } finally {
    await session.release();
    await database.close();
  }
}

/** Runs the CLI with collected output. */
async function cli(argv: string[], env: Record<string, string> = {}) {
  const out = sink();
  const err = sink();
  const code = await run(argv, env, out, err);
  return { code, out: out.text, err: err.text };
}

describe('apg-mesh help', () => {
  it.each([[['--help']], [['help']], [['-h']], [['migrate', '--help']], [['serve', '--api-port', '1', '--help']]])('%j prints the usage and exits 0', async (argv) => {
    const { code, out, err } = await cli(argv);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out).toMatch(/^Usage: apg-mesh <command> \[options\]/);
    for (const command of ['serve', 'migrate', 'help']) expect(out).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it('lists every setting with its flag and environment variable', async () => {
    const { out } = await cli(['help']);
    for (const s of SETTINGS) expect(out).toMatch(new RegExp(`^  ${s.flag} <v>\\s+${s.env}\\s`, 'm'));
  });

  it('prints the usage and exits 2 without a command', async () => {
    const { code, out, err } = await cli([]);
    expect(code).toBe(2);
    expect(out).toMatch(/^Usage: apg-mesh/);
    expect(err).toBe('');
  });
});

describe('apg-mesh errors', () => {
  it.each([['bogus'], ['--api-port'], ['Serve']])('an unknown command %j is one line on stderr and exits 2', async (command) => {
    const { code, out, err } = await cli([command, '--api-port', '1']);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toBe(`apg-mesh: unknown command "${command}" (try --help)\n`);
  });

  it.each<[string, string[], Record<string, string>, string]>([
    ['a bad environment variable', [], { API_PORT: 'abc' }, 'API_PORT must be an integer from 0 to 65535, got "abc"'],
    ['a bad flag', ['--xds-port=99999'], {}, '--xds-port must be an integer from 0 to 65535, got "99999"'],
    ['an unknown flag', ['--verbose'], {}, '--verbose is not a known option (see --help)'],
    ['a flag without a value', ['--log-level'], {}, '--log-level needs a value'],
    ['max delay below debounce', [], { XDS_DEBOUNCE_MS: '500', XDS_MAX_DELAY_MS: '10' }, 'XDS_MAX_DELAY_MS must be at least XDS_DEBOUNCE_MS (500)'],
    ['a value with a newline', [], { LOG_LEVEL: 'a\nb' }, 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "a\\nb"'],
  ])('%s: exactly one line on stderr naming the setting, exit 2', async (_name, flags, env, detail) => {
    for (const command of ['migrate', 'serve']) {
      const { code, out, err } = await cli([command, ...flags], env);
      expect(code).toBe(2);
      expect(out).toBe('');
      expect(err).toBe(`apg-mesh: invalid setting: ${detail}\n`);
    }
  });

  it('puts several invalid settings on the one line', async () => {
    const { code, err } = await cli(['migrate', '--gateway-port', '0'], { API_PORT: 'abc' });
    expect(code).toBe(2);
    expect(err.split('\n')).toEqual([
      'apg-mesh: invalid setting: API_PORT must be an integer from 0 to 65535, got "abc"; --gateway-port must be an integer from 1 to 65535, got "0"',
      '',
    ]);
  });
});

describe('apg-mesh migrate', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'apg-mesh-cli-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const journal = JSON.parse(readFileSync(path.join(MIGRATIONS_DIR, 'meta/_journal.json'), 'utf8')) as { entries: unknown[] };


  it('applies the migrations to a PGlite DATA_DIR and prints one line; a second run changes nothing', async () => {
    for (let i = 0; i < 2; i++) {
      const { code, out, err } = await cli(['migrate'], { DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
      expect({ code, out, err }).toEqual({ code: 0, out: 'migrations applied (pglite)\n', err: '' });
      expect(await appliedMigrations(dataDir)).toBe(journal.entries.length);
    }
  });

  it('takes the data directory from the flag', async () => {
    const other = mkdtempSync(path.join(tmpdir(), 'apg-mesh-cli-flag-'));
    try {
      const { code, out } = await cli(['migrate', '--data-dir', other], { DATA_DIR: path.join(other, 'not-this-one') });
      expect(code).toBe(0);
      expect(out).toBe('migrations applied (pglite)\n');
      expect(await appliedMigrations(other)).toBe(journal.entries.length);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('apg-mesh cert issue', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'apg-mesh-cert-'));
  const outDir = path.join(dataDir, 'certs');
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(testConfig({ dataDir: path.join(dataDir, 'db'), replicaId: 'cli-cert' }));
    const created = await apiCaller(() => server.apiPort)('POST', '/api/v1/services', { namespace: 'shop', name: 'web', port: 8080 });
    expect(created.status).toBe(201);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const api = () => `http://127.0.0.1:${server.apiPort}`;

  it('writes cert.pem (with its chain), an owner-only key.pem and ca.pem that verify together', async () => {
    const { code, out, err } = await cli(['cert', 'issue', '--service', 'web', '--namespace', 'shop', '--out', outDir, '--api', api()]);
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(out).toMatch(/^issued spiffe:\/\/mesh\.local\/ns\/shop\/sa\/web \(serial [0-9a-f]{32}, valid until .+\) into .+: cert\.pem, key\.pem, ca\.pem\n$/);
    const [cert, key, bundle] = ['cert.pem', 'key.pem', 'ca.pem'].map((f) => readFileSync(path.join(outDir, f), 'utf8'));
    expect(statSync(path.join(outDir, 'key.pem')).mode & 0o777).toBe(0o600);
    const leaf = new X509Certificate(cert!);
    expect(leaf.subjectAltName).toBe('URI:spiffe://mesh.local/ns/shop/sa/web');
    expect(leaf.checkPrivateKey(createPrivateKey(key!))).toBe(true);
    if (hasOpenssl) expect(opensslVerify(bundle!, cert!, cert!, 'sslclient')).toMatchObject({ ok: true });
  });

  it('takes the API address from APG_API_URL', async () => {
    const { code } = await cli(['cert', 'issue', '--service=web', '--namespace=shop', `--out=${outDir}`], { APG_API_URL: api() });
    expect(code).toBe(0);
  });

  it.each<[string, string[], Record<string, string>, number, RegExp]>([
    ['no --service', ['--out', '/tmp/x'], {}, 2, /^apg-mesh: invalid option: --service is required\n$/],
    ['an unknown option', ['--service', 'web', '--out', '/tmp/x', '--ttl', '1h'], {}, 2, /--ttl is not an option of cert issue/],
    ['a bad API address', ['--service', 'web', '--out', '/tmp/x', '--api', 'ftp://cp'], {}, 2, /--api must be an http:\/\/ or https:\/\/ URL/],
    ['a bad APG_API_URL', ['--service', 'web', '--out', '/tmp/x'], { APG_API_URL: 'cp:8080' }, 2, /APG_API_URL must be an http/],
  ])('refuses %s with exit %i', async (_what, argv, env, wantCode, message) => {
    const { code, err } = await cli(['cert', 'issue', ...argv], env);
    expect(code).toBe(wantCode);
    expect(err).toMatch(message);
  });

  it('says why the API refused (a service that does not exist) and writes nothing', async () => {
    const empty = path.join(dataDir, 'none');
    const { code, err } = await cli(['cert', 'issue', '--service', 'ghost', '--out', empty, '--api', api()]);
    expect(code).toBe(1);
    expect(err).toBe('apg-mesh: cert issue failed: the API refused (404): service default/ghost does not exist\n');
    expect(existsSync(empty)).toBe(false);
  });

  it('says when the API cannot be reached', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    const closed = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as AddressInfo).port)));
    await new Promise((resolve) => probe.close(resolve));
    const api = `http://127.0.0.1:${closed}`;
    const { code, err } = await cli(['cert', 'issue', '--service', 'web', '--out', path.join(dataDir, 'unreached'), '--api', api]);
    expect(code).toBe(1);
    expect(err).toBe(`apg-mesh: cert issue failed: cannot reach the API at ${api}: ECONNREFUSED\n`);
    expect(existsSync(path.join(dataDir, 'unreached'))).toBe(false);
  });

  it('an unknown cert command exits 2', async () => {
    expect(await cli(['cert', 'renew'])).toMatchObject({ code: 2, err: expect.stringContaining('unknown cert command "renew"') });
  });
});

describe('apg-mesh serve in production mode', () => {
  it('refuses to start without a CA key, naming the settings', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'apg-mesh-prod-'));
    try {
      await expect(run(['serve'], { MODE: 'production', DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, sink(), sink())).rejects.toThrow(/cannot start the mesh CA: CA_KEY is not set \(nor CA_KEY_FILE\)/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
