/**
 * Between the metrics-service streams and the cluster_stats table. Envoy flushes all its stats every
 * few seconds; storing each flush would write thousands of rows per proxy for values that barely
 * moved. The sink keeps each proxy's latest values in memory and writes them at most once per
 * interval per proxy (the first message of a proxy at once, so it shows up without delay).
 *
 * The stream handler calls `accept` and never waits: it never throws and never blocks on the
 * database. A failed write is counted and its values dropped, because the next flush of the same
 * proxy brings all of them again, newer.
 */
import type { Plain } from '../protos/type-urls.ts';
import { clusterStatsOf, MAX_CLUSTER_STATS_PER_MESSAGE, type ClusterStat } from './cluster-stats.ts';

export interface ClusterStatsSinkOptions {
  /** Stores one proxy's latest stats (an upsert); `at` is when the newest of them arrived. */
  write(proxyId: string, stats: ClusterStat[], at: Date): Promise<void>;
  /** Least time between two writes of the same proxy. */
  minIntervalMs: number;
  /** Told of a failed write (for the log); it counts in `writeFailures`. */
  onWriteError?(err: Error, proxyId: string): void;
  /** Most stats held for one proxy between writes (default: the per-message bound). */
  maxStatsPerProxy?: number;
}

export interface ClusterStatsSinkStats {
  messages: number;
  /** Stats taken into memory (a value replaced before its write counts each time). */
  kept: number;
  /** Malformed, or beyond a bound. */
  skipped: number;
  writes: number;
  writeFailures: number;
  /** Proxies with a state held (values waiting, a write running, or a recent write). */
  proxies: number;
}

interface ProxyState {
  /** Latest value per `cluster \0 stat` since the last write. */
  pending: Map<string, ClusterStat>;
  /** When the newest pending value arrived. */
  at: Date;
  lastWriteMs?: number;
  writing?: Promise<void>;
}

const keyOf = (s: ClusterStat) => `${s.cluster}\u0000${s.stat}`;
const byKey = (a: [string, ClusterStat], b: [string, ClusterStat]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

export class ClusterStatsSink {
  private readonly proxies = new Map<string, ProxyState>();
  private readonly counts = { messages: 0, kept: 0, skipped: 0, writes: 0, writeFailures: 0 };
  private readonly maxStats: number;
  private lastSweepMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: ClusterStatsSinkOptions) {
    if (!(Number.isFinite(opts.minIntervalMs) && opts.minIntervalMs >= 0)) throw new RangeError('minIntervalMs must be a finite number, at least 0');
    this.maxStats = opts.maxStatsPerProxy ?? MAX_CLUSTER_STATS_PER_MESSAGE;
  }

  /** Takes the stats that matter from one message of `proxyId`; writes them if the proxy's interval has passed. */
  accept(proxyId: string, families: Plain[], now: Date): { kept: number; skipped: number } {
    this.counts.messages++;
    const found = clusterStatsOf(families, this.maxStats);
    const nowMs = now instanceof Date ? now.getTime() : Number.NaN;
    if (typeof proxyId !== 'string' || proxyId === '' || !Number.isFinite(nowMs)) {
      // Nothing to file them under: the handler's bug, not Envoy's, but still no exception on the stream.
      return this.count(0, found.skipped + found.stats.length);
    }
    let state = this.proxies.get(proxyId);
    if (!state) this.proxies.set(proxyId, (state = { pending: new Map(), at: now }));
    let kept = 0;
    let skipped = found.skipped;
    for (const s of found.stats) {
      const key = keyOf(s);
      if (!state.pending.has(key) && state.pending.size >= this.maxStats) skipped++;
      else {
        state.pending.set(key, s);
        kept++;
      }
    }
    if (kept > 0) state.at = now;
    if (this.due(state, nowMs)) this.startWrite(proxyId, state, nowMs);
    this.sweep(nowMs);
    return this.count(kept, skipped);
  }

  /** Writes every proxy's pending values now, whatever the interval, and resolves when all writes ended. */
  async flush(): Promise<void> {
    await Promise.all([...this.proxies].map(([id, state]) => this.flushOne(id, state)));
  }

  /** Counters since the sink was made. */
  get stats(): ClusterStatsSinkStats {
    return { ...this.counts, proxies: this.proxies.size };
  }

  private count(kept: number, skipped: number): { kept: number; skipped: number } {
    this.counts.kept += kept;
    this.counts.skipped += skipped;
    return { kept, skipped };
  }

  private due(state: ProxyState, nowMs: number): boolean {
    if (state.writing || state.pending.size === 0) return false;
    return state.lastWriteMs === undefined || nowMs - state.lastWriteMs >= this.opts.minIntervalMs;
  }

  /** One write at a time per proxy: two in flight could land out of order. */
  private startWrite(proxyId: string, state: ProxyState, nowMs: number): Promise<void> {
    const stats = [...state.pending].sort(byKey).map(([, s]) => s);
    const at = state.at;
    state.pending = new Map();
    state.lastWriteMs = nowMs;
    const writing = this.write(proxyId, stats, at).finally(() => {
      if (state.writing === writing) state.writing = undefined;
    });
    state.writing = writing;
    return writing;
  }

  private async write(proxyId: string, stats: ClusterStat[], at: Date): Promise<void> {
    try {
      await this.opts.write(proxyId, stats, at);
      this.counts.writes++;
    } catch (e) {
      this.counts.writeFailures++;
      try {
        this.opts.onWriteError?.(e instanceof Error ? e : new Error(String(e)), proxyId);
      } catch {
        // A failing logger must not turn into an unhandled rejection.
      }
    }
  }

  private async flushOne(proxyId: string, state: ProxyState): Promise<void> {
    while (state.writing) await state.writing;
    if (state.pending.size > 0) await this.startWrite(proxyId, state, state.at.getTime());
  }

  /**
   * Once per interval: writes the values of proxies that stopped sending (nothing else would) and
   * forgets idle proxies (a forgotten one starts afresh: its next message is written at once, as it would be anyway).
   */
  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweepMs < this.opts.minIntervalMs) return;
    this.lastSweepMs = nowMs;
    for (const [id, state] of this.proxies) {
      if (this.due(state, nowMs)) this.startWrite(id, state, nowMs);
      else if (!state.writing && state.pending.size === 0 && nowMs - (state.lastWriteMs ?? 0) >= this.opts.minIntervalMs) this.proxies.delete(id);
    }
  }
}
