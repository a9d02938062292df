/** Percentiles, the round records and the printed tables of `npm run bench:xds`. */
import { cpus } from 'node:os';
import type { ProcessStats } from './ipc.ts';
import type { BuildEvent } from './server.ts';

/** What one proxy did in a round, as the load generator reports it. */
export interface ProxyWindow {
  variant: 'sotw' | 'delta';
  /** When it ACKed the response that completed the round (epoch ms), NaN if it never did. */
  doneAt: number;
  /** Sizes of the responses it received in the round, and of the requests it sent in reply to each. */
  received: number[];
  replied: number[];
}

export type ServerStats = ProcessStats & { encodes: Record<string, number>; builds: BuildEvent[]; streams: number };

/** One measured round: the cold start, one endpoint change or one added service. */
export interface Round {
  kind: 'cold' | 'endpoint' | 'service';
  label: string;
  /** Start of the clock: the change's commit (`changes.at`), or when the load generator started connecting. */
  t0: number;
  proxies: ProxyWindow[];
  restMs?: number;
  build?: BuildEvent;
  serverCpuMs: number;
  loadCpuMs: number;
  encodes: Record<string, number>;
  pushes: number;
  resourcesSent: number;
  floor?: Summary;
  /** CPU of the floor server for its replay of this round. */
  floorCpuMs?: number;
  /** CPU the rest of the machine (PostgreSQL, the orchestrator, anything else running) used during the round. */
  otherCpuMs: number;
  wallMs: number;
}

/** Whole-run figures for the summary. */
export interface RunTotals {
  n: number;
  afterCold: ServerStats;
  server: ServerStats;
  load: ProcessStats;
  floor: ProcessStats;
  /** Busy CPU of the whole machine during the run, and of this benchmark's processes. */
  machine: { busyMs: number; oursMs: number };
}

export interface Summary {
  n: number;
  /** Proxies that never reached the state (timed out). */
  missing: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of sorted values. */
function rank(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** p50 / p99 / max of the finite values; non-finite ones count as missing. */
export function summarize(values: number[]): Summary {
  const ok = values.filter(Number.isFinite).sort((a, b) => a - b);
  return { n: values.length, missing: values.length - ok.length, p50: rank(ok, 50), p99: rank(ok, 99), max: ok.at(-1) ?? NaN };
}

/** The median of a list of numbers. */
export function median(values: number[]): number {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Milliseconds, with a unit, to a sensible precision. */
export function ms(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (v >= 10_000) return `${(v / 1000).toFixed(1)} s`;
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  return `${v.toFixed(v < 10 ? 1 : 0)} ms`;
}

export const pct = (s: Summary) => `${ms(s.p50)} / ${ms(s.p99)} / ${ms(s.max)}${s.missing ? ` (${s.missing} of ${s.n} never)` : ''}`;

export const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(1)}×` : 'n/a');

export const kib = (bytes: number) => (bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`);

/** A Markdown table (it reads fine in a terminal too). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** A `metric{labels} value` exposition, as a map from `metric{labels}` to value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** Sum of the samples of `metric` whose labels include `labels` (e.g. `type="eds"`), in `after` minus `before`. */
export function metricDelta(before: Map<string, number>, after: Map<string, number>, metric: string, labels = ''): number {
  let sum = 0;
  for (const [key, v] of after) {
    if (!(key === metric || key.startsWith(`${metric}{`)) || !key.includes(labels)) continue;
    sum += v - (before.get(key) ?? 0);
  }
  return sum;
}

const latencies = (r: Round, from = r.t0) => r.proxies.map((p) => p.doneAt - from);
const bytesPerProxy = (r: Round) => median(r.proxies.map((p) => p.received.reduce((a, b) => a + b, 0)));
/** Wall time from the start of a rebuild to its publish: read the registry, translate, gate (all of it CPU but the reads). */
const buildMs = (r: Round) => (r.build?.publishStart ?? NaN) - (r.build?.rebuildStart ?? NaN);
/** Server CPU of a change beyond its build, per proxy: the fan-out and the ACK handling. */
const perProxyCpuMs = (r: Round) => (r.serverCpuMs - (buildMs(r) || 0)) / r.proxies.length;
/** The floor server's CPU for the same bytes, per stream. */
const floorPerStreamMs = (r: Round) => (r.floorCpuMs ?? NaN) / r.proxies.length;
const encodesText = (e: Record<string, number>) => Object.entries(e).map(([k, v]) => `${v} ${k}`).join(', ') || '0';
const worst = (xs: number[]) => Math.max(...xs);
const mib = (v: number) => `${v.toFixed(0)} MiB`;
const µs = (msValue: number) => `${(msValue * 1000).toFixed(0)} µs`;

/** Prints every table: per round, the summary, the targets. */
export function printReport(rounds: Round[], totals: RunTotals): void {
  printRounds(rounds);
  printSummary(rounds, totals);
  printTargets(rounds, totals);
}

function printRounds(rounds: Round[]): void {
  console.log('\n## Per round (latency = commit → the proxy ACKed the change; cold start: connect → full config)\n');
  const header = ['round', 'p50 / p99 / max', 'sotw p99', 'delta p99', 'floor p99', 'ratio p99', 'publish → ACK p99', 'build'];
  header.push('server CPU', 'floor CPU', 'load gen CPU', 'other CPU', 'encodes', 'pushes', 'bytes/proxy');
  const row = (r: Round) => {
    const all = summarize(latencies(r));
    const byVariant = (v: string) => summarize(r.proxies.filter((p) => p.variant === v).map((p) => p.doneAt - r.t0)).p99;
    const fanout = r.build?.publishStart ? summarize(latencies(r, r.build.publishStart)).p99 : NaN;
    const other = `${ms(r.otherCpuMs)} (${((100 * r.otherCpuMs) / (r.wallMs * cpus().length)).toFixed(0)}%)`;
    return [r.label, pct(all), ms(byVariant('sotw')), ms(byVariant('delta')), ms(r.floor?.p99 ?? NaN), ratio(all.p99, r.floor?.p99 ?? NaN), ms(fanout), ms(buildMs(r))].concat(
      [ms(r.serverCpuMs), ms(r.floorCpuMs ?? NaN), ms(r.loadCpuMs), other, encodesText(r.encodes), String(r.pushes), kib(bytesPerProxy(r))],
    );
  };
  console.log(table(header, rounds.map(row)));
}

/** p99s of the rounds of one kind, and their floors'. */
function byKind(rounds: Round[], kind: Round['kind']) {
  const of = rounds.filter((r) => r.kind === kind);
  return { rounds: of, p99: of.map((r) => summarize(latencies(r)).p99), floorP99: of.map((r) => r.floor?.p99 ?? NaN) };
}

function printSummary(rounds: Round[], t: RunTotals): void {
  const cold = rounds.find((r) => r.kind === 'cold')!;
  const coldLat = summarize(latencies(cold));
  const ep = byKind(rounds, 'endpoint');
  const svc = byKind(rounds, 'service');
  const breakdown = (pick: (r: Round) => number) => ms(median(ep.rounds.map(pick)));
  const p99Line = (k: typeof ep) =>
    `worst ${ms(worst(k.p99))}, median ${ms(median(k.p99))}; floor p99 median ${ms(median(k.floorP99))}, ratio ${ratio(median(k.p99), median(k.floorP99))}`;
  const perProxy = median(ep.rounds.map(perProxyCpuMs));
  const perStream = median(ep.rounds.map(floorPerStreamMs));
  const others = ((t.machine.busyMs - t.machine.oursMs) / t.machine.busyMs) * 100;
  console.log('\n## Summary\n');
  console.log(
    table(
      ['figure', 'value'],
      [
        ['cold start: all N proxies hold a full config', `${ms(coldLat.max)} (per proxy p50 ${ms(coldLat.p50)}, p99 ${ms(coldLat.p99)}); floor ${ms(cold.floor?.max ?? NaN)}, ratio ${ratio(coldLat.max, cold.floor?.max ?? NaN)}`],
        ['endpoint change, p99 commit → ACK', p99Line(ep)],
        ['  of which commit → rebuild start (NOTIFY + debounce)', breakdown((r) => (r.build ? r.build.rebuildStart - r.t0 : NaN))],
        ['  build: read the registry, translate, encode + gate', breakdown(buildMs)],
        ['  publish: every stream computes its response and queues it', breakdown((r) => (r.build?.publishEnd ?? NaN) - (r.build?.publishStart ?? NaN))],
        ['  publish start → last ACK', breakdown((r) => summarize(latencies(r, r.build?.publishStart ?? NaN)).max)],
        ['  REST call (PUT, until 200)', breakdown((r) => r.restMs ?? NaN)],
        ['add a service, p99 commit → ACK of cluster + load assignment', p99Line(svc)],
        ['server CPU: cold start / per endpoint change / per added service', [cold.serverCpuMs, median(ep.rounds.map((r) => r.serverCpuMs)), median(svc.rounds.map((r) => r.serverCpuMs))].map(ms).join(' / ')],
        ['server CPU per proxy per endpoint change (beyond the build)', `${µs(perProxy)}; the floor server: ${µs(perStream)} per stream (${ratio(perProxy, perStream)})`],
        ['server CPU seconds, whole run', `${(t.server.cpuMs / 1000).toFixed(1)} s`],
        ['server peak RSS (VmHWM)', `${mib(t.server.peakRssMiB)} (${((t.server.peakRssMiB * 1048576) / 1e6).toFixed(0)} MB); after cold start ${mib(t.afterCold.rssMiB)}, heap ${mib(t.afterCold.heapUsedMiB)}`],
        ['load generator CPU seconds / peak RSS', `${(t.load.cpuMs / 1000).toFixed(1)} s / ${mib(t.load.peakRssMiB)}`],
        ['floor server CPU seconds / peak RSS', `${(t.floor.cpuMs / 1000).toFixed(1)} s / ${mib(t.floor.peakRssMiB)}`],
        [
          'machine: busy CPU seconds during the run / of which these processes',
          `${(t.machine.busyMs / 1000).toFixed(1)} s / ${(t.machine.oursMs / 1000).toFixed(1)} s (the rest is PostgreSQL and anything else on the machine: ${others.toFixed(0)}%)`,
        ],
      ],
    ),
  );
}

function printTargets(rounds: Round[], t: RunTotals): void {
  const coldLat = summarize(latencies(rounds.find((r) => r.kind === 'cold')!));
  const ep = byKind(rounds, 'endpoint');
  const svc = byKind(rounds, 'service');
  const perChange = ep.rounds.map((r) => r.encodes);
  const oneEncode = perChange.every((e) => Object.values(e).reduce((a, b) => a + b, 0) <= 1);
  const pushesOk = ep.rounds.every((r) => r.pushes <= t.n);
  // Per proxy, a push should cost about what writing its bytes costs: within 5× of the bare server's CPU per stream.
  const perProxy = median(ep.rounds.map(perProxyCpuMs));
  const perStream = median(ep.rounds.map(floorPerStreamMs));
  const peakMB = (t.server.peakRssMiB * 1048576) / 1e6;
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  const by = (v: number, limit: number) => (v <= limit ? '' : ` (over by ${ms(v - limit)}, ${((v / limit - 1) * 100).toFixed(0)}%)`);
  const work =
    `encodes per change: ${perChange.map(encodesText).join(' | ')}; pushes ${ep.rounds.map((r) => r.pushes).join(', ')} for ${t.n} proxies; ` +
    `${µs(perProxy)} CPU per proxy vs ${µs(perStream)} per bare write (${ratio(perProxy, perStream)})`;
  console.log('\n## Targets\n');
  console.log(
    table(
      ['target', 'measured', 'verdict'],
      [
        ['endpoint change p99 < 300 ms (worst of the rounds)', `${ms(worst(ep.p99))}${by(worst(ep.p99), 300)}`, verdict(worst(ep.p99) < 300)],
        ['add a service p99 < 2 s (worst of the rounds)', `${ms(worst(svc.p99))}${by(worst(svc.p99), 2000)}`, verdict(worst(svc.p99) < 2000)],
        ['cold start < 10 s', `${ms(coldLat.max)}${by(coldLat.max, 10_000)}`, verdict(coldLat.max < 10_000 && coldLat.missing === 0)],
        ['server RSS < 400 MB', `${peakMB.toFixed(0)} MB${peakMB < 400 ? '' : ` (over by ${(peakMB - 400).toFixed(0)} MB)`}`, verdict(peakMB < 400)],
        ['endpoint change: one encode; per proxy that sees it one push costing ≤ 5× a bare write', work, verdict(oneEncode && pushesOk && perProxy <= 5 * perStream)],
      ],
    ),
  );
}
