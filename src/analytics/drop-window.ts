/**
 * Access-log entries dropped over a window, from each replica's cumulative counters (the
 * `replicas.telemetry` column) sampled every round: the increase within the window, summed over the
 * replicas. A counter that went down belongs to a restarted replica, whose count starts again from
 * zero. Held in memory by the alert evaluator; pure (times are passed in).
 */

/** A replica's ingestion counters as it publishes them (cumulative since it started). */
export interface IngestionCounters {
  accepted?: number;
  written?: number;
  droppedFull?: number;
  droppedFailed?: number;
}

/** Entries a replica dropped since it started, whatever the reason; 0 for counters it did not publish. */
export function droppedOf(counters: IngestionCounters | Record<string, unknown>): number {
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
  return n(counters.droppedFull) + n(counters.droppedFailed);
}

interface Sample {
  at: number;
  dropped: number;
}

/** Samples of every replica's drop counter, kept as long as the longest window asks. */
export class DropWindow {
  private readonly samples = new Map<string, Sample[]>();

  /** Records what each replica's counter read at `at` (replicas in the round; others keep their past samples). */
  record(at: Date, counters: ReadonlyMap<string, number>): void {
    for (const [replica, dropped] of counters) {
      const list = this.samples.get(replica) ?? [];
      list.push({ at: at.getTime(), dropped });
      this.samples.set(replica, list);
    }
  }

  /** Forgets samples no window of `keepMs` ending at `now` needs (one before the cut stays as its baseline). */
  prune(now: Date, keepMs: number): void {
    const cut = now.getTime() - keepMs;
    for (const [replica, list] of this.samples) {
      const firstNeeded = list.findIndex((s) => s.at > cut);
      if (firstNeeded === -1) this.samples.delete(replica);
      else if (firstNeeded > 1) list.splice(0, firstNeeded - 1);
    }
  }

  /**
   * Entries dropped in `(now - windowMs, now]`: from each replica's last sample at or before the
   * window's start (or its first sample, for a replica seen only since) to its latest.
   */
  droppedWithin(windowMs: number, now: Date): number {
    const start = now.getTime() - windowMs;
    let total = 0;
    for (const list of this.samples.values()) {
      const inWindow = list.filter((s) => s.at <= now.getTime());
      let from = 0;
      for (let i = 0; i < inWindow.length && inWindow[i]!.at <= start; i++) from = i;
      for (let i = from + 1; i < inWindow.length; i++) {
        const [prev, next] = [inWindow[i - 1]!.dropped, inWindow[i]!.dropped];
        total += next >= prev ? next - prev : next;
      }
    }
    return total;
  }

  /** How many replicas have samples (for tests and logs). */
  get replicas(): number {
    return this.samples.size;
  }
}
