/**
 * `npm run bench:als`: access-log ingestion throughput of the real server against the real
 * PostgreSQL, and the database floors it is held against. Not a test: it prints figures and ratios.
 *
 * Processes: this one (orchestrator, database floors), the control plane (`server.ts`) and the load
 * generator (`load.ts`, N ALS streams of pre-encoded Envoy HTTP entries). For each stream count it
 * runs a max-rate load (each stream as fast as backpressure allows) and a fixed offered rate, then
 * measures COPY and the `unnest` insert directly on the same records.
 *
 * Options (env): DURATION seconds per scenario (20), RATE entries/s of the fixed-rate runs (50000),
 * STREAMS list (1,50), MODES list (max,rate), ENTRY shape of the entries (envoy: as Envoy fills them;
 * minimal: only the fields ingestion reads), PER_MESSAGE entries per message (100), MESSAGES distinct pre-encoded messages
 * (200), FLOOR_DURATION seconds per floor (8), FLOOR_ROUNDS (2, best kept; 0 skips the floors), DATABASE_URL
 * (postgres://postgres@127.0.0.1:5432/apg_bench_als: created fresh, dropped afterwards),
 * PROFILE_DIR=dir (a server CPU profile per scenario), PROBE_MS (1000: how often the xDS probe adds a
 * service whose push it times, probe.ts), SERVER_FLAGS (Node flags for the server, as `--trace-gc`),
 * ENVOY_STREAM_BUFFER (bytes a stand-in Envoy stream holds unsent before it drops logs; 8 MiB, as the
 * served config sets, load.ts).
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ACCESS_LOG_STREAM_BUFFER_BYTES } from '../../src/envoy/access-log.ts';
import { openDatabase } from '../../src/registry/db.ts';
import { runMigrations } from '../../src/registry/migrate.ts';
import { forkChild, now, type Channel, type Message } from '../xds/ipc.ts';
import { measureFloors, postgresCpuMs, type FloorResult } from './floor.ts';
import { XdsProbe } from './probe.ts';
import { checks, dec, floorTable, int, pushLatency, scenarioTable, type ScenarioResult } from './report.ts';
import type { ServerSnapshot } from './server.ts';
import { encodeTraffic, recordsOf, type EntryShape } from './traffic.ts';

const env = process.env;
/** A number from the environment (`dflt` when unset); one that is not a number ≥ 0 stops the bench naming the variable. */
function num(name: string, dflt: number): number {
  if (!env[name]) return dflt;
  const n = Number(env[name]);
  if (!(Number.isFinite(n) && n >= 0)) throw new Error(`${name}: ${JSON.stringify(env[name])} is not a number ≥ 0`);
  return n;
}
const DURATION_MS = num('DURATION', 20) * 1000;
const RATE = num('RATE', 50_000);
const STREAMS = (env.STREAMS || '1,50').split(',').map((v) => {
  if (!/^[1-9]\d*$/.test(v)) throw new Error(`STREAMS: ${JSON.stringify(v)} is not a stream count (1, 2, …)`);
  return Number(v);
});
/** A comma-separated list from the environment, each value one of `allowed`; anything else stops the bench naming the variable. */
function listOf<T extends string>(name: string, dflt: string, allowed: readonly T[]): T[] {
  const values = (env[name] || dflt).split(',');
  const bad = values.filter((v) => !(allowed as readonly string[]).includes(v));
  if (bad.length > 0) throw new Error(`${name}: ${bad.map((v) => JSON.stringify(v)).join(', ')} is not one of ${allowed.join(', ')}`);
  return values as T[];
}
const MODES = listOf('MODES', 'max,rate', ['max', 'rate'] as const);
const PER_MESSAGE = num('PER_MESSAGE', 100);
const SHAPE: EntryShape = listOf('ENTRY', 'envoy', ['envoy', 'minimal'] as const)[0]!;
const MESSAGES = num('MESSAGES', 200);
const FLOOR_MS = num('FLOOR_DURATION', 8) * 1000;
const FLOOR_ROUNDS = num('FLOOR_ROUNDS', 2);
const PROBE_MS = num('PROBE_MS', 1000);
/** What the stand-in Envoy's stream may hold unsent before it drops logs (load.ts). */
const ENVOY_STREAM_BUFFER = num('ENVOY_STREAM_BUFFER', ACCESS_LOG_STREAM_BUFFER_BYTES);
/** Extra Node flags for the server process, space-separated (say `--trace-gc`). */
const SERVER_FLAGS = (env.SERVER_FLAGS ?? '').split(' ').filter(Boolean);
const DATABASE_URL = env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/apg_bench_als';
const PROFILE_DIR = env.PROFILE_DIR ? path.resolve(env.PROFILE_DIR) : undefined;
const HERE = path.dirname(new URL(import.meta.url).pathname);
const ROOT = path.resolve(HERE, '../..');
const children: ChildProcess[] = [];

/** Forks a child of this benchmark and keeps it for the clean-up. */
async function start(file: string, extraEnv: Record<string, string> = {}, execArgv: string[] = []): Promise<{ ipc: Channel; ready: Message }> {
  const { child, ipc, ready } = await forkChild(path.join(HERE, file), { ...env, ...extraEnv }, execArgv);
  children.push(child);
  return { ipc, ready };
}

/** Drops and re-creates the database of `url` on its server, and migrates it; returns how to drop it. */
async function freshDatabase(url: string): Promise<() => Promise<void>> {
  const name = new URL(url).pathname.slice(1);
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`DATABASE_URL must name a plain database, not "${name}"`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const adminQuery = async (text: string) => {
    const c = new pg.Client({ connectionString: admin.toString() });
    await c.connect();
    await c.query(text).finally(() => c.end());
  };
  await adminQuery(`drop database if exists ${name} with (force)`);
  await adminQuery(`create database ${name}`);
  const database = await openDatabase({ url, poolSize: 1 });
  await runMigrations(database).finally(() => database.close());
  return () => adminQuery(`drop database if exists ${name} with (force)`);
}

/** CPU time the whole machine spent busy so far (all processes, /proc/stat, ms; USER_HZ is 100). */
function machineBusyMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) * 10;
}

interface LoadRun {
  startedAt: number;
  endedAt: number;
  sentEntries: number;
  offeredEntries: number;
  clientDroppedEntries: number;
  /** The fixed-rate loop's longest gap between two turns (the load generator's own stalls), ms. */
  maxTickGapMs: number;
  /** Entries the client dropped in each second of the run (holes for seconds without drops). */
  dropsBySecond: (number | undefined)[];
  cpuMs: number;
}

/** `second: entries` for each second of the run with client drops, as "0: 5,000, 3: 200". */
const dropSeconds = (bySecond: (number | undefined)[]) =>
  bySecond.flatMap((n, second) => (n ? [`${second}: ${int(n)}`] : [])).join(', ');

/** One scenario from emptied tables: load, half-close, flush; the counters are deltas of the server's. */
async function scenario(server: Channel, load: Channel, sql: pg.Client, port: number, probe: XdsProbe, streams: number, mode: 'max' | 'rate'): Promise<ScenarioResult> {
  const label = `${streams} stream${streams > 1 ? 's' : ''}, ${mode === 'max' ? 'max rate' : `${int(RATE)}/s`}`;
  await sql.query('truncate access_log_entries, traffic_rollups_minute');
  if (PROFILE_DIR) await server.call('profileStart');
  const a = await server.call<ServerSnapshot>('window');
  const busy0 = machineBusyMs();
  const pg0 = postgresCpuMs();
  await load.call('connect', { port, streams });
  // The probe's changes start a second into the load and end a second before it.
  const probing = new Promise((r) => setTimeout(r, 1000)).then(() => probe.measure(DURATION_MS - 2000, PROBE_MS));
  const run = await load.call<LoadRun>('run', { durationMs: DURATION_MS, ...(mode === 'rate' ? { rate: RATE } : {}) });
  const xds = await probing;
  const closed = await load.call<{ notOk: string[] }>('close');
  const b = await server.call<ServerSnapshot>('stats');
  const z = await server.call<ServerSnapshot & { entriesStoredAt: number }>('flush');
  const busyMs = machineBusyMs() - busy0;
  const postgresMs = postgresCpuMs() - pg0;
  if (PROFILE_DIR) await server.call('profileStop', { file: path.join(PROFILE_DIR, `${streams}-${mode}.cpuprofile`) });
  const { rows } = await sql.query<{ n: string; requests: string | null }>(
    "select count(*) as n, sum(requests) filter (where kind = 'service') as requests from traffic_rollups_minute",
  );
  const d = (k: keyof ServerSnapshot['telemetry'], s: ServerSnapshot = z) => s.telemetry[k] - a.telemetry[k];
  const loadSeconds = (run.endedAt - run.startedAt) / 1000;
  const storedSeconds = (z.entriesStoredAt - run.startedAt) / 1000;
  const wallMs = z.at - a.at;
  const result: ScenarioResult = {
    streams,
    mode,
    seconds: loadSeconds,
    offeredPerSecond: run.offeredEntries / loadSeconds,
    sentPerSecond: run.sentEntries / loadSeconds,
    clientDropped: run.clientDroppedEntries,
    received: d('entries'),
    rejected: d('rejected'),
    written: d('written'),
    storedPerSecond: d('written') / storedSeconds,
    storedDuringPerSecond: d('written', b) / ((b.at - run.startedAt) / 1000),
    withRollupsPerSecond: d('written') / ((z.at - run.startedAt) / 1000),
    flushSeconds: (z.entriesStoredAt - b.at) / 1000,
    rollupFlushSeconds: (z.at - z.entriesStoredAt) / 1000,
    droppedFull: d('droppedFull'),
    droppedFailed: d('droppedFailed'),
    paused: d('paused'),
    heldForXds: d('heldForXds'),
    maxQueueDepth: z.window.maxQueueDepth,
    maxInFlightMiB: z.window.maxInFlightMiB,
    maxRssMiB: z.window.maxRssMiB,
    maxHeapUsedMiB: z.window.maxHeapUsedMiB,
    rollupRows: Number(rows[0]!.n),
    rollupRequests: Number(rows[0]!.requests ?? 0),
    serverCores: (z.cpuMs - a.cpuMs) / wallMs,
    serverCpuPerEntryUs: ((z.cpuMs - a.cpuMs) * 1000) / d('entries'),
    loadCores: run.cpuMs / wallMs,
    postgresCores: postgresMs / wallMs,
    otherCores: (busyMs - (z.cpuMs - a.cpuMs) - run.cpuMs - postgresMs) / wallMs,
    loopDelayP99Ms: z.loopDelayP99Ms,
    loopDelayMaxMs: z.loopDelayMaxMs,
    xds,
    streamErrors: closed.notOk,
  };
  console.log(
    `${label}: offered ${int(result.offeredPerSecond)}/s, stored ${int(result.storedPerSecond)}/s sustained ` +
      `(${int(result.storedDuringPerSecond)}/s while loading, last entries stored ${dec(result.flushSeconds, 1)} s after, final rollup merge ${dec(result.rollupFlushSeconds, 1)} s more: ${int(result.withRollupsPerSecond)}/s with it), drops ${int(result.droppedFull + result.droppedFailed)}, ` +
      `client drops ${int(result.clientDropped)}${result.clientDropped ? ` (by second of the run: ${dropSeconds(run.dropsBySecond)})` : ''}${mode === 'rate' ? ` (load generator's longest stall ${dec(run.maxTickGapMs, 0)} ms)` : ''}, streams paused ${int(result.paused)} (queue or worker) + ${int(result.heldForXds)} (xDS first), max queue ${int(result.maxQueueDepth)} (worker's hand ${dec(result.maxInFlightMiB, 1)} MiB), RSS ${int(result.maxRssMiB)} MiB (heap ${int(result.maxHeapUsedMiB)} MiB), rollup rows ${int(result.rollupRows)}, ` +
      `CPU server ${dec(result.serverCores)} (${dec(result.serverCpuPerEntryUs, 0)} µs/entry) / load ${dec(result.loadCores)} / PostgreSQL ${dec(result.postgresCores)} / other ${dec(result.otherCores)} cores, event-loop delay p99 ${dec(result.loopDelayP99Ms, 0)} ms, max ${dec(result.loopDelayMaxMs, 0)} ms, xDS push ${pushLatency(xds)}`,
  );
  for (const w of checks(result, run.sentEntries, streams * PER_MESSAGE)) console.log(`  WARNING: ${w}`);
  return result;
}

/** The pipeline scenarios, in their own processes. */
async function pipeline(url: string, sql: pg.Client): Promise<ScenarioResult[]> {
  // The V8 flag `npm start` and the Docker image run the server with.
  const server = await start('server.ts', { BENCH_DATABASE_URL: url }, ['--max-semi-space-size=64', ...SERVER_FLAGS]);
  const load = await start('load.ts', { ENVOY_STREAM_BUFFER: String(ENVOY_STREAM_BUFFER) });
  const prepared = await load.ipc.call<{ bytes: number }>('prepare', { messages: MESSAGES, perMessage: PER_MESSAGE, shape: SHAPE });
  console.log(`traffic: ${MESSAGES} messages × ${PER_MESSAGE} entries shaped ${SHAPE}, ${int(prepared.bytes / MESSAGES)} bytes a message; the stand-in Envoy drops above ${dec(ENVOY_STREAM_BUFFER / 1048576, 2)} MiB unsent on a stream`);
  const results: ScenarioResult[] = [];
  const probe = new XdsProbe(server.ready.xdsPort as number, `http://127.0.0.1:${server.ready.apiPort as number}`);
  try {
    // The baseline: 8 s of pushes with no access-log load, 4 a second for enough of them.
    const idle = await probe.measure(8000, 250);
    console.log(`xDS push with no access-log load: ${pushLatency(idle)}`);
    for (const streams of STREAMS) {
      for (const mode of MODES) results.push(await scenario(server.ipc, load.ipc, sql, server.ready.port as number, probe, streams, mode));
    }
  } finally {
    probe.close();
    await Promise.allSettled([server.ipc.call('exit'), load.ipc.call('exit')]);
  }
  return results;
}

/** The floors, FLOOR_ROUNDS times interleaved, the best round of each kept. */
async function floors(url: string, sql: pg.Client): Promise<FloorResult[]> {
  const records = recordsOf(encodeTraffic(MESSAGES, PER_MESSAGE, SHAPE), Math.max(...STREAMS));
  const database = await openDatabase({ url, poolSize: 1 });
  const best: FloorResult[] = [];
  try {
    for (let round = 0; round < FLOOR_ROUNDS; round++) {
      const results = await measureFloors(sql, database, records, FLOOR_MS);
      console.log(`floors, round ${round + 1}: ${results.map((f) => `${f.label} ${int(f.rowsPerSecond)}/s`).join('; ')}`);
      results.forEach((f, i) => (best[i] = best[i] && best[i]!.rowsPerSecond >= f.rowsPerSecond ? best[i]! : f));
    }
  } finally {
    await database.close();
  }
  return best;
}

/** The commit the figures belong to, and how many files of src/ differ from it. */
function describeCode(): string {
  const git = (args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const dirty = git(['status', '--porcelain', '--', 'src']).split('\n').filter(Boolean).length;
    return `code ${git(['rev-parse', '--short', 'HEAD'])}${dirty ? ` + ${dirty} uncommitted files in src/` : ''}`;
  } catch {
    return 'code ?';
  }
}

async function main(): Promise<void> {
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`bench:als: ${DURATION_MS / 1000} s per scenario, streams ${STREAMS.join(', ')}, fixed rate ${int(RATE)}/s; ${describeCode()}; Node ${process.version}; ${cpus().length} cores; load average ${load}`);
  const drop = await freshDatabase(DATABASE_URL);
  const sql = new pg.Client({ connectionString: DATABASE_URL });
  await sql.connect();
  try {
    const t0 = now();
    const results = await pipeline(DATABASE_URL, sql);
    const floorResults = FLOOR_ROUNDS > 0 ? await floors(DATABASE_URL, sql) : [];
    console.log(`\n## Pipeline: Envoy ALS streams → server → PostgreSQL (${DURATION_MS / 1000} s a scenario)\n`);
    console.log(scenarioTable(results, RATE));
    if (floorResults.length > 0) {
      console.log('\n## Database floors: the same records, no gRPC\n');
      console.log(floorTable(floorResults));
      const [copyFloor, btrees, brinHash, writer] = floorResults as [FloorResult, FloorResult, FloorResult, FloorResult];
      const bestPipeline = Math.max(...results.map((r) => r.storedPerSecond));
      console.log('\nratios:');
      console.log(`  pipeline (best sustained, ${int(bestPipeline)}/s) ÷ COPY floor: ${dec(bestPipeline / copyFloor.rowsPerSecond)}×`);
      console.log(`  server writer ÷ COPY floor: ${dec(writer.rowsPerSecond / copyFloor.rowsPerSecond)}×`);
      console.log(`  PostgreSQL CPU per row, btree indexes ÷ BRIN + hash: ${dec(btrees.postgresUsPerRow / brinHash.postgresUsPerRow)}×`);
    }
    const target = results.filter((r) => r.mode === 'rate').map((r) => `${r.streams} streams: ${r.droppedFull + r.droppedFailed + r.clientDropped === 0 && r.storedPerSecond >= 0.98 * RATE ? 'PASS' : 'MISS'}`);
    console.log(`target ${int(RATE)} entries/s without a drop: ${target.join(', ')}`);
    console.log(`(whole run ${dec((now() - t0) / 1000, 0)} s)`);
  } finally {
    await sql.end();
    for (const c of children) if (c.exitCode === null) c.kill();
    if (!env.KEEP_DB) await drop();
  }
}

await main();
