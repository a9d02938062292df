/**
 * The control plane under test (a child process of `bench/als/run.ts`, so that its CPU and memory
 * are its own): `startServer()` on the bench database, leader, with today's telemetry partitions.
 * Every 100 ms it samples the ingestion queue's depth, the RSS and JS heap, and keeps
 * the maxima of the current window (and the event loop's delay); the orchestrator opens a window per scenario.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseConfig } from '../../src/config.ts';
import { startServer } from '../../src/main.ts';
import { testConfig } from '../../test/support/config.ts';
import { Channel, now, processStats, serveProfiler } from '../xds/ipc.ts';

const dataDir = mkdtempSync(path.join(tmpdir(), 'apg-bench-als-'));
// TELEMETRY_STREAM_WINDOW from the environment, checked as `npm start` checks it (testConfig reads none).
const streamWindow = process.env.TELEMETRY_STREAM_WINDOW;
const fromEnv = parseConfig([], streamWindow ? { TELEMETRY_STREAM_WINDOW: streamWindow } : {});
if (!fromEnv.ok) throw new Error(fromEnv.issues.map((i) => `${i.path}: ${i.message}`).join('; '));
const server = await startServer(
  testConfig({ databaseUrl: process.env.BENCH_DATABASE_URL!, dataDir, leaderRetryMs: 100, replicaId: 'bench-als', telemetryStreamWindow: fromEnv.value.telemetryStreamWindow }),
);
for (const end = Date.now() + 30_000; !server.isLeader(); ) {
  if (Date.now() > end) throw new Error('the bench server did not become leader in 30 s');
  await new Promise((r) => setTimeout(r, 50));
}
await server.maintainTelemetry();

const ipc = new Channel(process);

/** Maxima of the window the orchestrator opened last. */
let window = { maxQueueDepth: 0, maxInFlightMiB: 0, maxRssMiB: 0, maxHeapUsedMiB: 0, samples: 0, startedAt: now() };
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
setInterval(() => {
  window.samples += 1;
  const stats = server.telemetry.stats;
  window.maxQueueDepth = Math.max(window.maxQueueDepth, stats.queueDepth);
  window.maxInFlightMiB = Math.max(window.maxInFlightMiB, stats.inFlightBytes / 1048576);
  const mem = process.memoryUsage();
  window.maxRssMiB = Math.max(window.maxRssMiB, mem.rss / 1048576);
  window.maxHeapUsedMiB = Math.max(window.maxHeapUsedMiB, mem.heapUsed / 1048576);
}, 100).unref();

/** The ingestion counters, this process's CPU and memory, and the window's maxima. */
const snapshot = () => ({
  ...processStats(),
  telemetry: { ...server.telemetry.stats },
  window: { ...window },
  loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
  loopDelayMaxMs: loopDelay.max / 1e6,
  at: now(),
});
export type ServerSnapshot = ReturnType<typeof snapshot>;

ipc.handle('window', () => {
  window = { maxQueueDepth: 0, maxInFlightMiB: 0, maxRssMiB: 0, maxHeapUsedMiB: 0, samples: 0, startedAt: now() };
  loopDelay.reset();
  loopDelay.enable();
  return snapshot();
});
ipc.handle('stats', () => snapshot());

/**
 * Waits until every accepted entry is written (`entriesStoredAt`), then until the rollups are
 * merged too; replies with the counters after.
 */
ipc.handle('flush', async () => {
  await server.telemetry.flushEntries();
  const entriesStoredAt = now();
  await server.telemetry.flush();
  return { ...snapshot(), entriesStoredAt };
});

// PROFILE_DIR: a CPU profile of the server per scenario.
serveProfiler(ipc);

ipc.handle('exit', () => {
  setTimeout(() => {
    void server.close().finally(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
  }, 10);
  return null;
});

ipc.emit('ready', { port: server.telemetryPort, xdsPort: server.xdsPort, apiPort: server.apiPort });
