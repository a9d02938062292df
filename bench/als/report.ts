/** Turning the figures of `bench:als` into the Markdown tables it prints (and docs/benchmarks.md shows). */
import { pct, type Summary } from '../xds/report.ts';
import type { FloorResult } from './floor.ts';

/** What one scenario (a stream count and a mode) measured. */
export interface ScenarioResult {
  streams: number;
  mode: 'max' | 'rate';
  seconds: number;
  offeredPerSecond: number;
  /** Entries the client wrote (at a fixed rate: those not dropped by the client for backpressure). */
  sentPerSecond: number;
  clientDropped: number;
  /** Entries the server decoded, and those it refused as invalid. */
  received: number;
  rejected: number;
  written: number;
  /** Written ÷ (from the start of the load until the last accepted entry was in the table). */
  storedPerSecond: number;
  /** Written ÷ (load time + the streams' close), counting only what was stored by then. */
  storedDuringPerSecond: number;
  /** Written ÷ (until the final rollup merge was done too). */
  withRollupsPerSecond: number;
  /** From the streams' close until the last accepted entry was stored. */
  flushSeconds: number;
  /** The final merge of the rollup deltas after that (done every 5 s while running). */
  rollupFlushSeconds: number;
  droppedFull: number;
  droppedFailed: number;
  /** Times a stream stopped reading: the queue (with the worker's bytes in hand) was deep, or a config build held reading. */
  paused: number;
  heldForXds: number;
  maxQueueDepth: number;
  /** Most bytes of messages the ingestion worker had in hand at once. */
  maxInFlightMiB: number;
  maxRssMiB: number;
  maxHeapUsedMiB: number;
  rollupRows: number;
  /** Sum of the `service` rollup rows' requests: every stored-or-not entry with a destination. */
  rollupRequests: number;
  serverCores: number;
  /** Server CPU time per entry received (decode, records, rollups, the writer's share), µs. */
  serverCpuPerEntryUs: number;
  loadCores: number;
  /** CPU of every PostgreSQL process on the machine (ours, and any neighbours' databases), in cores. */
  postgresCores: number;
  /** CPU of everything else on the machine (neighbours), in cores. */
  otherCores: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** The xDS probe's push latencies during the load (probe.ts). */
  xds: Summary;
  streamErrors: string[];
}

/** p50 / p99 / max of the probe's push latencies, and how many pushes (and how many never came). */
export const pushLatency = (s: Summary) => `${pct(s)} (${s.n} pushes)`;

/** 12,345 */
export const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
/** 1.23 */
export const dec = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '—');

/** A Markdown table. */
export function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

const modeLabel = (s: ScenarioResult, rate: number) => (s.mode === 'max' ? 'max (backpressure)' : `fixed ${int(rate)}/s`);

/** The pipeline's table: one row per scenario. */
export function scenarioTable(results: ScenarioResult[], rate: number): string {
  return table(
    ['streams', 'offered', 'entries/s offered', 'entries/s stored (sustained)', 'stored while loading', 'drops (full + failed)', 'client drops', 'max queue depth', 'server RSS max', 'rollup rows', 'last entries stored after', 'final rollup merge (entries/s with it)', 'CPU: server (per entry) / PostgreSQL / other', 'xDS push p50 / p99 / max'],
    results.map((s) => [
      String(s.streams),
      modeLabel(s, rate),
      int(s.offeredPerSecond),
      `**${int(s.storedPerSecond)}**`,
      int(s.storedDuringPerSecond),
      `${int(s.droppedFull + s.droppedFailed)}${s.droppedFailed ? ` (${int(s.droppedFailed)} failed)` : ''}`,
      int(s.clientDropped),
      int(s.maxQueueDepth),
      `${int(s.maxRssMiB)} MiB`,
      int(s.rollupRows),
      `${dec(s.flushSeconds, 1)} s`,
      `${dec(s.rollupFlushSeconds, 1)} s (${int(s.withRollupsPerSecond)})`,
      `${dec(s.serverCores)} (${dec(s.serverCpuPerEntryUs, 0)} µs) / ${dec(s.postgresCores)} / ${dec(s.otherCores)} cores`,
      pushLatency(s.xds),
    ]),
  );
}

/** The floors' table, each against the COPY floor. */
export function floorTable(floors: FloorResult[]): string {
  const floor = floors[0]!.rowsPerSecond;
  return table(
    ['writer (one connection, 2,000-row batches)', 'rows/s', 'batch p50', 'PostgreSQL CPU / row', '÷ COPY floor'],
    floors.map((f) => [f.label, `**${int(f.rowsPerSecond)}**`, `${dec(f.batchP50Ms, 1)} ms`, `${dec(f.postgresUsPerRow, 1)} µs`, `${dec(f.rowsPerSecond / floor)}×`]),
  );
}

/** Consistency warnings: what the server got against what was sent, and stored against accepted. */
export function checks(s: ScenarioResult, sentEntries: number, helloEntries: number): string[] {
  const out: string[] = [];
  if (s.received !== sentEntries + helloEntries) out.push(`server decoded ${int(s.received)} entries, the client sent ${int(sentEntries + helloEntries)}`);
  if (s.rejected) out.push(`${int(s.rejected)} entries refused as invalid`);
  if (s.rollupRequests !== s.received - s.rejected) out.push(`rollups count ${int(s.rollupRequests)} requests, ${int(s.received - s.rejected)} were accepted`);
  for (const e of s.streamErrors) out.push(`stream ended with ${e}`);
  return out;
}
