/**
 * `npm run bench:ca`: throughput of the mesh CA against the bare WebCrypto operations it is made of,
 * in one process. Prints figures and ratios; the latest ones are recorded in docs/benchmarks.md. Not a test.
 *
 * Stages, each run sequentially (one at a time) and with CONCURRENCY operations in flight:
 * - floor: `crypto.subtle.sign` over a TBS-sized (500-byte) buffer with the CA key; a fresh key pair
 *   plus that sign (what every leaf needs at the least); and the six WebCrypto calls a leaf really
 *   makes (generateKey, exportKey spki twice, SHA-1 digest for the SKI, sign, exportKey pkcs8);
 * - issuer: `issueWorkloadCertificate` (the pure issuer, no database) for N identities;
 * - MeshCa: `MeshCa.issue(ns, svc, 'sds')` for N distinct identities (key sealed, certificate recorded
 *   in the inventory), then a rotation: issue again for each, which supersedes the previous one.
 *   A fresh database per mode: in-memory PGlite, or a new database on DATABASE_URL when set.
 * Then the same for RSA-2048 (CA_ALGORITHM=rsa-2048: CA and leaves) with RSA_N identities.
 *
 * Options (env): N (10000), RSA_N (200), CONCURRENCY (4: libuv's thread pool, where WebCrypto runs),
 * DATABASE_URL (unset: PGlite in memory).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createIntermediateCa, createRootCa, issueWorkloadCertificate, type SigningCa } from '../src/ca/certificates.ts';
import { generateKeyPair, type KeyAlgorithm } from '../src/ca/keys.ts';
import { DEVELOPMENT_SEALING_KEY, MeshCa } from '../src/ca/mesh-ca.ts';
import { subtle } from '../src/ca/x509.ts';
import { countExpiringCertificates, listCertificates } from '../src/registry/ca.ts';
import { testDatabase, type TestDatabase } from '../test/support/test-db.ts';

const env = process.env;
const num = (name: string, dflt: number) => (env[name] === undefined || env[name] === '' ? dflt : Number(env[name]));
const N = num('N', 10_000);
const RSA_N = num('RSA_N', 200);
const CONCURRENCY = num('CONCURRENCY', 4);
const TRUST_DOMAIN = 'mesh.local';
const TBS = randomBytes(500);

type Mode = 'seq' | 'conc';
const MODES: Mode[] = ['seq', 'conc'];
const width = (mode: Mode) => (mode === 'seq' ? 1 : CONCURRENCY);

/** One measured stage: how many operations, wall and CPU time. */
interface Figure {
  stage: string;
  algorithm: KeyAlgorithm;
  mode: Mode;
  n: number;
  wallMs: number;
  cpuMs: number;
  /** The process's peak RSS (ru_maxrss) once the stage ended, in MiB. */
  peakRssMiB: number;
  /** CPU the rest of the machine (other processes) used during the stage, in ms. */
  otherCpuMs: number;
}
const figures: Figure[] = [];

const perSec = (f: Figure) => (f.n * 1000) / f.wallMs;

/** CPU time the whole machine spent busy so far (all processes, /proc/stat, in ms; USER_HZ is 100 on Linux). */
function machineBusyMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) * 10;
}

/** Runs `op(0..n-1)` with `inFlight` at a time, and records wall and CPU time. */
async function measure(stage: string, algorithm: KeyAlgorithm, mode: Mode, n: number, op: (i: number) => Promise<unknown>): Promise<Figure> {
  let next = 0;
  const worker = async () => {
    while (next < n) await op(next++);
  };
  const cpu0 = process.cpuUsage();
  const busy0 = machineBusyMs();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(width(mode), n) }, worker));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const otherCpuMs = Math.max(0, machineBusyMs() - busy0 - cpuMs);
  const f: Figure = { stage, algorithm, mode, n, wallMs, cpuMs, peakRssMiB: process.resourceUsage().maxRSS / 1024, otherCpuMs };
  figures.push(f);
  console.log(`  ${stage} [${algorithm}, ${mode === 'seq' ? 'sequential' : `${CONCURRENCY} in flight`}]: ${n} in ${(wallMs / 1000).toFixed(2)} s, ${perSec(f).toFixed(0)}/s`);
  return f;
}

/** Throws on a failed Result: a benchmark of failures would measure nothing. */
function must<T>(r: { ok: true; value: T } | { ok: false; issues: unknown }): T {
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

const SIGN: Record<KeyAlgorithm, Algorithm | EcdsaParams> = {
  'ecdsa-p256': { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
  'rsa-2048': { name: 'RSASSA-PKCS1-v1_5' },
};

/** The bare WebCrypto floor: a sign with the CA key, a fresh key pair + that sign, and every call a leaf makes. */
async function floor(algorithm: KeyAlgorithm, n: number): Promise<void> {
  const ca = await generateKeyPair(algorithm);
  const sign = () => subtle.sign(SIGN[algorithm], ca.privateKey, TBS);
  const keygenSign = async () => {
    await generateKeyPair(algorithm);
    await sign();
  };
  const leafCalls = async () => {
    const keys = await generateKeyPair(algorithm);
    const spki = await subtle.exportKey('spki', keys.publicKey);
    await subtle.digest('SHA-1', spki);
    await subtle.exportKey('spki', keys.publicKey);
    await sign();
    await subtle.exportKey('pkcs8', keys.privateKey);
  };
  const warm = Math.min(n, 100);
  for (let i = 0; i < warm; i++) await leafCalls();
  for (const mode of MODES) {
    await measure('sign', algorithm, mode, N, sign); // cheap even for RSA: always N
    await measure('keygen+sign', algorithm, mode, n, keygenSign);
    await measure('leaf WebCrypto calls', algorithm, mode, n, leafCalls);
  }
}

/** A root and an intermediate of `algorithm`, made the way MeshCa.open makes them; the intermediate signs. */
async function intermediate(algorithm: KeyAlgorithm): Promise<SigningCa> {
  const root = must(await createRootCa({ commonName: 'Bench Root CA', trustDomain: TRUST_DOMAIN, algorithm }));
  return must(await createIntermediateCa(root, { commonName: 'Bench Intermediate CA', algorithm }));
}

const spiffeId = (i: number) => `spiffe://${TRUST_DOMAIN}/ns/ns${i % 20}/sa/svc-${i}`;

/** `issueWorkloadCertificate` alone: no database, no sealing. */
async function issuer(algorithm: KeyAlgorithm, n: number): Promise<void> {
  const ca = await intermediate(algorithm);
  const issue = async (i: number) => must(await issueWorkloadCertificate(ca, { spiffeId: spiffeId(i), algorithm }));
  for (let i = 0; i < Math.min(n, 100); i++) await issue(i);
  for (const mode of MODES) await measure('issueWorkloadCertificate', algorithm, mode, n, issue);
}

/** `MeshCa.issue` for n new identities and then again for each (rotation), in a fresh database per mode. */
async function meshCa(algorithm: KeyAlgorithm, n: number): Promise<void> {
  for (const mode of MODES) {
    const t: TestDatabase = await testDatabase();
    try {
      const ca = must(await MeshCa.open({ db: t.database.db, trustDomain: TRUST_DOMAIN, algorithm, certTtlMs: 86_400_000, sealingKey: DEVELOPMENT_SEALING_KEY }));
      const issue = async (i: number) => must(await ca.issue(`ns${i % 20}`, `svc-${i}`, 'sds'));
      for (let i = 0; i < Math.min(n, 50); i++) await issue(n + i); // warm-up identities, outside the measured ones
      await measure('MeshCa.issue, new identity', algorithm, mode, n, issue);
      await measure('MeshCa.issue, rotation', algorithm, mode, n, issue);
      // The rotation superseded every first certificate: one active per identity, none lost.
      // Active certificates (all of them expire within ten days: the TTL is one).
      const active = await countExpiringCertificates(t.database.db, new Date(Date.now() + 10 * 86_400_000));
      const superseded = (await listCertificates(t.database.db, { status: 'superseded' }, 2 * n + 200)).length;
      const warm = Math.min(n, 50);
      if (active !== n + warm || superseded !== n) throw new Error(`expected ${n + warm} active and ${n} superseded certificates, found ${active} and ${superseded}`);
    } finally {
      await t.drop();
    }
  }
}

// --- report -------------------------------------------------------------------------------------

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const find = (stage: string, algorithm: KeyAlgorithm, mode: Mode) => figures.find((f) => f.stage === stage && f.algorithm === algorithm && f.mode === mode);
const µs = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(1)} ms` : `${v.toFixed(0)} µs`);

function report(): void {
  const header = ['algorithm', 'stage', 'mode', 'n', 'ops/s', 'wall/op', 'CPU/op', '× keygen+sign', '× sign', 'peak RSS', 'other CPU'];
  const rows = figures.map((f) => {
    const floorOf = (stage: string) => find(stage, f.algorithm, f.mode);
    // A ratio only against a cheaper floor: sign < keygen+sign < everything else.
    const rank = (stage: string) => ['sign', 'keygen+sign'].indexOf(stage) + 1 || 3;
    const times = (stage: string) => {
      const base = floorOf(stage);
      return base && rank(f.stage) > rank(stage) ? `${(perSec(base) / perSec(f)).toFixed(perSec(base) / perSec(f) < 10 ? 2 : 1)}×` : '';
    };
    return [
      f.algorithm,
      f.stage,
      f.mode === 'seq' ? 'sequential' : `${CONCURRENCY} in flight`,
      String(f.n),
      perSec(f).toFixed(0),
      µs((f.wallMs * 1000) / f.n),
      µs((f.cpuMs * 1000) / f.n),
      times('keygen+sign'),
      times('sign'),
      `${f.peakRssMiB.toFixed(0)} MiB`,
      `${((100 * f.otherCpuMs) / (f.wallMs * cpus().length)).toFixed(0)}%`,
    ];
  });
  console.log('\n## Mesh CA (× = how many times the bare WebCrypto operation\'s time, same algorithm and mode, each certificate takes)\n');
  console.log(table(header, rows));
  const usage = process.resourceUsage();
  const mem = process.memoryUsage();
  console.log('\n(other CPU: what the rest of the machine used during the stage, as a share of all its cores; figures taken beside a busy neighbour are not comparable.)');
  console.log(`peak RSS (ru_maxrss): ${(usage.maxRSS / 1024).toFixed(0)} MiB; at the end rss ${(mem.rss / 1048576).toFixed(0)} MiB, heap used ${(mem.heapUsed / 1048576).toFixed(0)} MiB`);
}

/** The code and machine the figures belong to. */
function describeRun(): string {
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '?';
    }
  };
  const dirty = git(['status', '--porcelain', '--', 'src']).split('\n').filter(Boolean).length;
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  return `code: ${git(['rev-parse', '--short', 'HEAD'])}${dirty ? ` + ${dirty} uncommitted files in src/` : ''}; Node ${process.version}; ${cpus().length} cores; load average ${load}`;
}

async function main(): Promise<void> {
  console.log(describeRun());
  const database = env.DATABASE_URL ? `a fresh database per mode on ${new URL(env.DATABASE_URL).host}` : 'in-memory PGlite, fresh per mode';
  console.log(`N=${N}, RSA_N=${RSA_N}, CONCURRENCY=${CONCURRENCY}; database: ${database}`);
  for (const [algorithm, n] of [['ecdsa-p256', N], ['rsa-2048', RSA_N]] as const) {
    if (n <= 0) continue;
    console.log(`${algorithm}:`);
    await floor(algorithm, n);
    await issuer(algorithm, n);
    await meshCa(algorithm, n);
  }
  report();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
