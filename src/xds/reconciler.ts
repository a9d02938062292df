/**
 * The one orchestrator: registry change → debounce → load → model → build → gate → publish.
 * If the database is unreachable, the last good snapshot keeps being served and the next change
 * (or the catch-up read) tries again.
 */
import { Coalescer } from '../lib/coalescer.ts';
import type { Mesh, MeshSettings } from '../model/mesh.ts';
import { ChangeFeed } from '../registry/changes.ts';
import type { Database } from '../registry/db.ts';
import { loadRegistry } from '../registry/snapshot.ts';
import { SHORT_NAMES } from '../protos/type-urls.ts';
import { ResourceEncoder } from './cache/resource.ts';
import { encoderKeys, type SnapshotCache } from './cache/snapshot-cache.ts';
import { passGate, type GateIssue } from './publish-gate.ts';
import { buildResources } from './resources/index.ts';
import type { IdentityOpener } from './identities.ts';
import { meshOf } from './mesh-input.ts';

/** Delay before retrying a build that failed (database unreachable). */
const RETRY_MS = 1000;

export interface ReconcilerOptions {
  database: Database;
  cache: SnapshotCache;
  settings: MeshSettings;
  /** Opens the SDS certificates' keys (shared with dry runs, so each key is opened once). */
  identities: IdentityOpener;
  debounceMs: number;
  maxDelayMs: number;
  catchUpIntervalMs: number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** Called after each build with its duration (for metrics). */
  onBuild?: (ms: number) => void;
  /** Called as a build starts; what it returns is called once the build is published (access-log ingestion yields to it). */
  whileBuilding?: () => () => void;
}

/** What the last build did, for the API. */
export interface BuildStatus {
  revision: number;
  builtAt?: Date;
  durationMs?: number;
  resources: Record<string, number>;
  issues: GateIssue[];
  /** Routes left out of the config because a service or subset they name is gone (they come back with it). */
  droppedRoutes: { route: string; reason: string }[];
  lastError?: { message: string; at: Date };
}

/** Keeps the cache in step with the registry. */
export class Reconciler {
  private readonly feed: ChangeFeed;
  private readonly coalescer: Coalescer;
  private readonly encoder = new ResourceEncoder();
  /** The last mesh built: unchanged services are reused from it, and so is everything derived from them. */
  private lastMesh: Mesh | undefined;
  private lastStatus: BuildStatus = { revision: 0, resources: {}, issues: [], droppedRoutes: [] };

  constructor(private readonly opts: ReconcilerOptions) {
    this.coalescer = new Coalescer(() => this.rebuild(), opts.debounceMs, opts.maxDelayMs, Date.now, true);
    this.feed = new ChangeFeed(opts.database, {
      catchUpIntervalMs: opts.catchUpIntervalMs,
      onRevision: () => this.coalescer.trigger(),
      onError: (err) => opts.log.warn({ err: err.message }, 'registry change feed interrupted; serving the last good config'),
    });
  }

  /** Builds the first snapshot and starts following changes. */
  async start(): Promise<void> {
    await this.feed.start();
    await this.coalescer.flush();
  }

  /** Rebuilds now (used by tests and at start-up). */
  async flush(): Promise<void> {
    await this.coalescer.flush();
  }

  /** The outcome of the last build. */
  get status(): BuildStatus {
    return this.lastStatus;
  }

  private async rebuild(): Promise<void> {
    const started = performance.now();
    const done = this.opts.whileBuilding?.();
    try {
      const registry = await loadRegistry(this.opts.database.db);
      if (this.opts.cache.ready && registry.revision === this.opts.cache.current.revision) return;
      const mesh = meshOf(registry, this.lastMesh);
      this.lastMesh = mesh;
      const identities = this.opts.identities.open(registry.authorities, registry.certificates);
      if (identities.problems.length > 0) this.opts.log.error({ problems: identities.problems.slice(0, 20) }, 'certificates left out of SDS');
      const built = buildResources(mesh, this.opts.settings, identities);
      const gated = passGate(built, this.encoder, this.opts.cache.current, registry.revision);
      const snapshot = { ...gated.snapshot, committedAt: registry.committedAt };
      const issues = gated.issues;
      this.encoder.retain(encoderKeys(snapshot));
      const changed = this.opts.cache.publish(snapshot);
      const durationMs = performance.now() - started;
      const previousDropped = this.lastStatus.droppedRoutes;
      this.lastStatus = {
        revision: registry.revision,
        builtAt: new Date(),
        durationMs,
        resources: Object.fromEntries([...snapshot.resources].map(([t, m]) => [SHORT_NAMES[t], m.size])),
        issues,
        droppedRoutes: mesh.droppedRoutes,
      };
      this.opts.onBuild?.(durationMs);
      if (issues.length > 0) this.opts.log.warn({ issues: issues.slice(0, 20) }, 'resources held back by the publish gate');
      // Said once per change of the set, not on every rebuild while the routes stay dropped.
      if (mesh.droppedRoutes.length > 0 && JSON.stringify(mesh.droppedRoutes) !== JSON.stringify(previousDropped)) {
        this.opts.log.warn({ routes: mesh.droppedRoutes.slice(0, 20) }, 'routes left out: a service or subset they name is gone');
      }
      if (changed.size > 0) this.opts.log.info({ revision: registry.revision, ms: Math.round(durationMs) }, 'published xDS snapshot');
    } catch (err) {
      this.lastStatus = { ...this.lastStatus, lastError: { message: (err as Error).message, at: new Date() } };
      this.opts.log.error({ err: (err as Error).message }, 'rebuild failed; serving the last good config');
      // The change that triggered this build is already counted as seen: retry it, or it waits for the next one.
      setTimeout(() => this.coalescer.trigger(), RETRY_MS).unref();
    } finally {
      done?.();
    }
  }

  /** Stops following changes. */
  async stop(): Promise<void> {
    this.coalescer.stop();
    await this.feed.stop();
  }
}
