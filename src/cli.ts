/** `apg-mesh`: the command line. `serve` runs the control plane, `migrate` applies migrations and exits, `cert issue` writes a workload certificate. */
import pino from 'pino';
import { issueToDirectory, parseCertIssue } from './cli-cert.ts';
import { parseConfig, settingsHelp, type Config } from './config.ts';
import { openConfiguredDatabase, startServer } from './main.ts';
import { runMigrations } from './registry/migrate.ts';

const USAGE = `Usage: apg-mesh <command> [options]

Commands:
  serve      run the control plane (REST API + xDS server)
  migrate    apply database migrations and exit
  cert issue --service S [--namespace N] --out DIR [--api URL]
             write a workload certificate, its key and the trust bundle into DIR
             (cert.pem, key.pem, ca.pem), issued by the control plane at URL
             (default APG_API_URL, then http://127.0.0.1:8080)
  help       show this text

Options (flag, environment variable, meaning):
${settingsHelp()}
`;

/** Where the CLI writes: process.stdout/stderr, or anything with `write` (tests collect the chunks). */
export interface Output {
  write(chunk: string): unknown;
}

/** Runs a command line; returns the process exit code (serve resolves only on shutdown). */
export async function run(argv: string[], env: NodeJS.ProcessEnv, out: Output = process.stdout, err: Output = process.stderr): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h' || rest.includes('--help')) {
    out.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'cert') return cert(rest, env, out, err);
  if (command !== 'serve' && command !== 'migrate') {
    err.write(`apg-mesh: unknown command "${command}" (try --help)\n`);
    return 2;
  }
  const parsed = parseConfig(rest, env);
  if (!parsed.ok) {
    err.write(`apg-mesh: invalid setting: ${parsed.issues.map((i) => `${i.path} ${i.message}`).join('; ')}\n`);
    return 2;
  }
  return command === 'migrate' ? migrate(parsed.value, out) : serve(parsed.value);
}

async function cert(argv: string[], env: NodeJS.ProcessEnv, out: Output, err: Output): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'issue') {
    err.write(`apg-mesh: unknown cert command "${sub ?? ''}" (try: apg-mesh cert issue --service S --out DIR)\n`);
    return 2;
  }
  const parsed = parseCertIssue(rest, env);
  if (!parsed.ok) {
    err.write(`apg-mesh: invalid option: ${parsed.issues.map((i) => `${i.path} ${i.message}`).join('; ')}\n`);
    return 2;
  }
  try {
    out.write(await issueToDirectory(parsed.value));
    return 0;
  } catch (e) {
    err.write(`apg-mesh: cert issue failed: ${(e as Error).message}\n`);
    return 1;
  }
}

async function migrate(config: Config, out: Output): Promise<number> {
  const database = await openConfiguredDatabase(config);
  try {
    await runMigrations(database);
    out.write(`migrations applied (${database.kind})\n`);
    return 0;
  } finally {
    await database.close();
  }
}

async function serve(config: Config): Promise<number> {
  const log = pino({ level: config.logLevel });
  const server = await startServer(config, log);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await server.close();
  return 0;
}

const isEntry = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (isEntry || process.env.APG_MESH_CLI === '1') {
  run(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`apg-mesh: ${e.message}\n`);
      process.exit(1);
    },
  );
}
