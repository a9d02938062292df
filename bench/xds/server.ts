/**
 * The control plane under test (a child process of `bench/xds/run.ts`): `startServer()` with the
 * settings from the environment, plus bench-side instrumentation that leaves `src/` untouched. The
 * prototypes of the encoder, the reconciler and the cache are wrapped to count encodes and to
 * timestamp each rebuild and each publish (its synchronous fan-out to every stream included).
 */
import { writeHeapSnapshot } from 'node:v8';
import pino from 'pino';
import { parseConfig } from '../../src/config.ts';
import { startServer } from '../../src/main.ts';
import { SHORT_NAMES, type TypeUrl } from '../../src/protos/type-urls.ts';
import { ResourceEncoder } from '../../src/xds/cache/resource.ts';
import { SnapshotCache, type Snapshot } from '../../src/xds/cache/snapshot-cache.ts';
import { Reconciler } from '../../src/xds/reconciler.ts';
import { Channel, now, processStats, serveProfiler } from './ipc.ts';

/** Fresh encodes per type (a memo hit returns an object seen before, so it is not counted). */
const encodes: Record<string, number> = {};
const seen = new WeakSet<object>();
const encoderProto = ResourceEncoder.prototype as unknown as { encode: (this: ResourceEncoder, ...args: unknown[]) => object };
const encode = encoderProto.encode;
encoderProto.encode = function (this: ResourceEncoder, ...args: unknown[]) {
  const out = encode.apply(this, args);
  if (!seen.has(out)) {
    seen.add(out);
    const type = SHORT_NAMES[args[0] as TypeUrl] ?? String(args[0]);
    encodes[type] = (encodes[type] ?? 0) + 1;
  }
  return out;
};

export interface BuildEvent {
  rebuildStart: number;
  rebuildEnd: number;
  publishStart?: number;
  publishEnd?: number;
  revision?: number;
  committedAt?: number;
}

/** One entry per rebuild: when it started (the debounce ended), when it published and when the fan-out was queued. */
const builds: BuildEvent[] = [];
let currentBuild: BuildEvent | undefined;

const reconcilerProto = Reconciler.prototype as unknown as { rebuild?: (this: Reconciler) => Promise<void> };
const rebuild = reconcilerProto.rebuild;
if (rebuild) {
  reconcilerProto.rebuild = async function (this: Reconciler) {
    currentBuild = { rebuildStart: now(), rebuildEnd: NaN };
    const build = currentBuild;
    try {
      await rebuild.call(this);
    } finally {
      build.rebuildEnd = now();
      builds.push(build);
    }
  };
}

const publish = SnapshotCache.prototype.publish;
SnapshotCache.prototype.publish = function (this: SnapshotCache, next: Snapshot) {
  const publishStart = now();
  const changed = publish.call(this, next);
  if (currentBuild) {
    Object.assign(currentBuild, { publishStart, publishEnd: now(), revision: next.revision, committedAt: next.committedAt?.getTime() });
  }
  return changed;
};

const parsed = parseConfig([], process.env);
if (!parsed.ok) throw new Error(parsed.issues.map((i) => `${i.path} ${i.message}`).join('; '));
const startedAt = now();
const server = await startServer(parsed.value, pino({ level: parsed.value.logLevel }));
const ipc = new Channel(process);

ipc.handle('stats', () => ({ ...processStats(), encodes: { ...encodes }, builds: builds.slice(), streams: server.status.list().length }));

// PROFILE_DIR: one CPU profile per phase of the run (cold start, endpoint changes, added services).
serveProfiler(ipc);

ipc.handle('heapSnapshot', (msg) => writeHeapSnapshot(msg.file as string));

// The steady state the rounds measure: every service holds its SDS certificate (the leader issues
// them in batches after start) and the snapshot carries them.
ipc.handle('settle', async () => {
  let issued = 0;
  for (let n = await server.issueCertificates(); n > 0; n = await server.issueCertificates()) issued += n;
  await server.reconciler.flush();
  return issued;
});

ipc.handle('exit', async () => {
  setTimeout(() => {
    // A clean exit, so that `--cpu-prof` writes its profile.
    void server.close().finally(() => process.exit(0));
  }, 10);
  return null;
});

ipc.emit('ready', { apiPort: server.apiPort, xdsPort: server.xdsPort, startMs: now() - startedAt });
