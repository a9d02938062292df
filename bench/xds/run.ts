/**
 * `npm run bench:xds`: xDS convergence of the real control plane under N simulated proxies. Not a test.
 *
 * Processes: this one (orchestrator, REST client), the control plane (`server.ts`, so its CPU and peak
 * RSS are its own), the load generator (`load.ts`, N ADS streams) and, for the transport floor, a bare
 * grpc-js server (`floor.ts`). Database: a fresh one on the PostgreSQL at DATABASE_URL.
 *
 * Options (env): N proxies (2000), S services (1000), E endpoints per service (10), SOTW_FRACTION (0.5),
 * REPEAT changes of each kind (5), DATABASE_URL (postgres://postgres@127.0.0.1:5432/postgres),
 * XDS_DEBOUNCE_MS / XDS_MAX_DELAY_MS (server defaults), PROFILE_DIR=dir (one server CPU profile per phase),
 * CPU_PROF=dir / LOAD_CPU_PROF=dir (whole-run --cpu-prof of the server / load generator),
 * HEAP_SNAPSHOT=file (the server's heap after the cold start), TIMEOUT_MS per phase (120000),
 * LOG_LEVEL of the server (warn).
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { edsServiceName } from '../../src/model/names.ts';
import { forkChild, now, type Channel, type Message, type ProcessStats } from './ipc.ts';
import type { Watch } from './proxy.ts';
import { metricDelta, ms, parseMetrics, pct, printReport, summarize, type ProxyWindow, type Round, type ServerStats } from './report.ts';
import { createDatabase, latestChange, seedRegistry, serviceRef, type BenchDatabase } from './seed.ts';

const env = process.env;
const num = (name: string, dflt: number) => (env[name] === undefined || env[name] === '' ? dflt : Number(env[name]));
const N = num('N', 2000);
const S = num('S', 1000);
const E = num('E', 10);
const SOTW_FRACTION = num('SOTW_FRACTION', 0.5);
const REPEAT = num('REPEAT', 5);
const TIMEOUT_MS = num('TIMEOUT_MS', 120_000);
const BASE_URL = env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const HERE = path.dirname(new URL(import.meta.url).pathname);
const ROOT = path.resolve(HERE, '../..');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const children: ChildProcess[] = [];

/** Forks a child of this benchmark and keeps it for the clean-up. */
async function start(file: string, extraEnv: Record<string, string>, execArgv: string[] = []): Promise<{ ipc: Channel; ready: Message }> {
  const { child, ipc, ready } = await forkChild(path.join(HERE, file), { ...env, ...extraEnv }, execArgv);
  children.push(child);
  return { ipc, ready };
}

const profArgs = (dir: string | undefined) => (dir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(dir)}`] : []);

/** CPU time the whole machine spent busy so far (all processes, /proc/stat, in ms; USER_HZ is 100 on Linux). */
function machineBusyMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) * 10;
}

/** The code and machine the figures belong to. */
function describeRun(): string {
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '?';
    }
  };
  const dirty = git(['status', '--porcelain', '--', 'src']).split('\n').filter(Boolean).length;
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  return `code: ${git(['rev-parse', '--short', 'HEAD'])}${dirty ? ` + ${dirty} uncommitted files in src/` : ''}; Node ${process.version}; ${cpus().length} cores; load average ${load}`;
}

/** Everything measured at one instant, to subtract at the end of a round. */
interface Sample {
  server: ServerStats;
  load: ProcessStats;
  metrics: Map<string, number>;
  busyMs: number;
  at: number;
}

/** Streams that ended, as the load generator counts them. */
interface Ended {
  count: number;
  last: string;
}

/** The running processes and the handles every phase uses. */
class Bench {
  readonly rounds: Round[] = [];
  private endedSeen = 0;
  private watchId = 0;

  constructor(
    readonly server: Channel,
    readonly load: Channel,
    readonly api: string,
    readonly sql: pg.Client,
    private readonly profileDir: string | undefined,
  ) {}

  async sample(): Promise<Sample> {
    const server = await this.server.call<ServerStats>('stats');
    const load = await this.load.call<ProcessStats>('stats');
    const metrics = parseMetrics(await (await fetch(`${this.api}/metrics`)).text());
    return { server, load, metrics, busyMs: machineBusyMs(), at: now() };
  }

  /** A round from the samples around it. */
  round(kind: Round['kind'], label: string, t0: number, proxies: ProxyWindow[], a: Sample, b: Sample): Round {
    const encodes: Record<string, number> = {};
    for (const [k, v] of Object.entries(b.server.encodes)) if (v - (a.server.encodes[k] ?? 0) > 0) encodes[k] = v - (a.server.encodes[k] ?? 0);
    const serverCpuMs = b.server.cpuMs - a.server.cpuMs;
    const loadCpuMs = b.load.cpuMs - a.load.cpuMs;
    const round: Round = {
      kind,
      label,
      t0,
      proxies,
      serverCpuMs,
      loadCpuMs,
      encodes,
      pushes: metricDelta(a.metrics, b.metrics, 'apg_xds_pushes_total'),
      resourcesSent: metricDelta(a.metrics, b.metrics, 'apg_xds_resources_sent_total'),
      otherCpuMs: b.busyMs - a.busyMs - serverCpuMs - loadCpuMs,
      wallMs: b.at - a.at,
    };
    this.rounds.push(round);
    return round;
  }

  /** With PROFILE_DIR, starts or stops the server's CPU profile of one phase. */
  async profile(phase: string, action: 'start' | 'stop'): Promise<void> {
    if (!this.profileDir) return;
    await this.server.call(action === 'start' ? 'profileStart' : 'profileStop', { file: path.join(this.profileDir, `${phase}.cpuprofile`) });
  }

  warnEnded(ended: Ended): void {
    if (ended.count > this.endedSeen) console.log(`WARNING: ${ended.count - this.endedSeen} xDS streams ended (last: ${ended.last})`);
    this.endedSeen = ended.count;
  }

  nextWatchId(): number {
    return ++this.watchId;
  }
}

/** All N proxies connect at once; the round ends when each holds every cluster and load assignment. */
async function coldStart(b: Bench, xdsPort: number): Promise<ServerStats> {
  const a = await b.sample();
  await b.profile('cold-start', 'start');
  const cold = await b.load.call<{ startedAt: number; timedOut: boolean; full: number; ended: Ended; proxies: ProxyWindow[] }>('connect', {
    port: xdsPort,
    n: N,
    sotwFraction: SOTW_FRACTION,
    expectedClusters: S,
    timeoutMs: TIMEOUT_MS,
  });
  await sleep(1000);
  await b.profile('cold-start', 'stop');
  if (env.HEAP_SNAPSHOT) console.log(`heap snapshot after cold start: ${await b.server.call<string>('heapSnapshot', { file: path.resolve(env.HEAP_SNAPSHOT) })}`);
  const z = await b.sample();
  b.round('cold', 'cold start', cold.startedAt, cold.proxies, a, z);
  console.log(`cold start: ${cold.full}/${N} proxies full in ${ms(Math.max(...cold.proxies.map((p) => p.doneAt)) - cold.startedAt)}${cold.timedOut ? ' (TIMED OUT)' : ''}`);
  b.warnEnded(cold.ended);
  return z.server;
}

/** One change through REST, timed from its commit to every proxy's ACK of it. */
async function measureChange(b: Bench, kind: 'endpoint' | 'service', label: string, watch: Watch, write: () => Promise<Response>): Promise<void> {
  await b.load.call('arm', { watch });
  const a = await b.sample();
  const sent = now();
  const res = await write();
  const restMs = now() - sent;
  if (!res.ok) throw new Error(`${label}: REST ${res.status} ${await res.text()}`);
  const committed = await latestChange(b.sql);
  const out = await b.load.call<{ converged: number; ended: Ended; proxies: ProxyWindow[] }>('collect', { timeoutMs: TIMEOUT_MS });
  b.warnEnded(out.ended);
  await sleep(500); // the server finishes reading the last ACKs
  const z = await b.sample();
  const round = b.round(kind, label, committed.atMs, out.proxies, a, z);
  round.restMs = restMs;
  round.build = z.server.builds.find((x) => x.revision === committed.revision);
  const lat = summarize(out.proxies.map((p) => p.doneAt - committed.atMs));
  console.log(`${label}: commit → ACK p50/p99/max ${pct(lat)}; server CPU ${ms(round.serverCpuMs)}`);
  await sleep(1000);
}

/** REPEAT times: a new weight on the first endpoint of a different service. */
async function endpointChanges(b: Bench): Promise<void> {
  await b.profile('endpoint-change', 'start');
  for (let k = 0; k < REPEAT; k++) {
    const { namespace, name } = serviceRef((k * 211 + 7) % S);
    const base = `${b.api}/api/v1/services/${namespace}/${name}`;
    const { items } = (await (await fetch(`${base}/endpoints`)).json()) as { items: Record<string, unknown>[] };
    const ep = items[0]!;
    const { rows } = await b.sql.query<{ id: string }>('select id from services where namespace = $1 and name = $2', [namespace, name]);
    const edsName = edsServiceName({ namespace, name, uid: rows[0]!.id });
    const weight = 1000 + k;
    const body = { address: ep.address, port: ep.port, weight, region: ep.region, zone: ep.zone, subZone: ep.subZone, health: ep.health };
    await measureChange(b, 'endpoint', `endpoint change ${k + 1}`, { id: b.nextWatchId(), kind: 'endpoint', edsName, weight }, () =>
      fetch(`${base}/endpoints/${String(ep.id)}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    );
  }
  await b.profile('endpoint-change', 'stop');
}

/** REPEAT times: a new grpc service (no endpoints yet) that every sidecar sees. */
async function addServices(b: Bench): Promise<void> {
  await b.profile('add-service', 'start');
  for (let k = 0; k < REPEAT; k++) {
    const name = `bench-add-${k}`;
    const body = JSON.stringify({ namespace: 'ns0', name, protocol: 'grpc', port: 9000 + k });
    await measureChange(b, 'service', `add a service ${k + 1}`, { id: b.nextWatchId(), kind: 'service', cluster: `${name}.ns0` }, () =>
      fetch(`${b.api}/api/v1/services`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
    );
  }
  await b.profile('add-service', 'stop');
}

/** Replays every round's bytes from a bare grpc-js server to N streams of the same load generator. */
async function transportFloor(b: Bench): Promise<ProcessStats> {
  const floor = await start('floor.ts', {});
  await b.load.call('floorConnect', { port: floor.ready.port as number });
  for (let waited = 0; (await floor.ipc.call<number>('count')) < N; waited += 50) {
    if (waited > TIMEOUT_MS) throw new Error('floor streams did not all connect');
    await sleep(50);
  }
  for (const round of b.rounds) {
    await b.load.call('floorArm', { counts: round.proxies.map((p) => p.received.length), acks: round.proxies.map((p) => p.replied) });
    const f0 = await floor.ipc.call<ProcessStats>('stats');
    const sent = await floor.ipc.call<{ startedAt: number }>('send', { sizes: round.proxies.map((p) => p.received) });
    const got = await b.load.call<{ pending: number; doneAt: number[] }>('floorCollect', { timeoutMs: TIMEOUT_MS });
    await sleep(500);
    round.floorCpuMs = (await floor.ipc.call<ProcessStats>('stats')).cpuMs - f0.cpuMs;
    round.floor = summarize(got.doneAt.map((d, i) => (round.proxies[i]!.received.length ? d - sent.startedAt : NaN)));
  }
  const stats = await floor.ipc.call<ProcessStats>('stats');
  await floor.ipc.call('exit');
  return stats;
}

/** Creates and seeds the database and starts the server and the load generator. */
async function setUp(): Promise<{ bench: Bench; db: BenchDatabase; xdsPort: number }> {
  const t = now();
  const db = await createDatabase(BASE_URL);
  await seedRegistry(db.url, S, E);
  console.log(`database: fresh PostgreSQL database, seeded by one SQL bulk insert + one revision/NOTIFY in ${ms(now() - t)}`);
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  const serverEnv = { DATABASE_URL: db.url, API_PORT: '0', XDS_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: env.LOG_LEVEL || 'warn' };
  const t1 = now();
  const server = await start('server.ts', serverEnv, profArgs(env.CPU_PROF));
  const { apiPort, xdsPort } = server.ready as { apiPort: number; xdsPort: number };
  console.log(`control plane: ready in ${ms(now() - t1)} (first snapshot built), api :${apiPort}, xds :${xdsPort}`);
  const load = await start('load.ts', {}, profArgs(env.LOAD_CPU_PROF));
  const profileDir = env.PROFILE_DIR ? path.resolve(env.PROFILE_DIR) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  return { bench: new Bench(server.ipc, load.ipc, `http://127.0.0.1:${apiPort}`, sql, profileDir), db, xdsPort };
}

async function main(): Promise<void> {
  console.log(describeRun());
  console.log(`xDS convergence: N=${N} proxies (${Math.round(N * SOTW_FRACTION)} SotW, ${N - Math.round(N * SOTW_FRACTION)} Delta), S=${S} services x E=${E} endpoints, repeat ${REPEAT}`);
  const { bench, db, xdsPort } = await setUp();
  const issued = await bench.server.call<number>('settle');
  console.log(`settled: ${issued} SDS certificates issued before the rounds`);
  const busy0 = machineBusyMs();
  const afterCold = await coldStart(bench, xdsPort);
  await endpointChanges(bench);
  await addServices(bench);
  const server = await bench.server.call<ServerStats>('stats');
  const load = await bench.load.call<ProcessStats>('stats');
  const floor = await transportFloor(bench);
  const own = process.cpuUsage();
  const machine = { busyMs: machineBusyMs() - busy0, oursMs: server.cpuMs + load.cpuMs + floor.cpuMs + (own.user + own.system) / 1000 };
  printReport(bench.rounds, { n: N, afterCold, server, load, floor, machine });

  await Promise.all([bench.load.call('exit'), bench.server.call('exit')]);
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
  await bench.sql.end();
  await db.drop();
}

main().catch((err) => {
  console.error(err);
  for (const c of children) if (c.exitCode === null) c.kill();
  process.exit(1);
});
