/**
 * Coalesces bursts of triggers into one run: waits `quietMs` after the last trigger, but never more
 * than `maxDelayMs` after the first; runs never overlap, and a trigger during a run schedules one more.
 * With `leading`, a trigger after a quiet spell runs at once (a lone change pays no debounce); the
 * triggers that follow it within `quietMs` are coalesced as usual.
 */
export class Coalescer {
  private timer: NodeJS.Timeout | undefined;
  private firstAt: number | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private lastEnd = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly run: () => Promise<void>,
    private readonly quietMs: number,
    private readonly maxDelayMs: number,
    private readonly now: () => number = Date.now,
    private readonly leading = false,
  ) {}

  /** Asks for a run soon. */
  trigger(): void {
    if (this.stopped) return;
    const now = this.now();
    // The max delay counts from the first trigger, even when that trigger arrived during a run.
    this.firstAt ??= now;
    if (this.running) {
      this.again = true;
      return;
    }
    const idle = this.leading && this.timer === undefined && now - this.lastEnd >= this.quietMs;
    const deadline = this.firstAt + this.maxDelayMs;
    clearTimeout(this.timer);
    const delay = idle ? 0 : Math.max(0, Math.min(now + this.quietMs, deadline) - now);
    this.timer = setTimeout(() => void this.fire(), delay);
  }

  /** Runs now (waiting for a run in progress first) and resolves when done. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    // Loop: another flush may have started a run while this one waited.
    while (this.running) await this.running;
    await this.fire();
  }

  private async fire(): Promise<void> {
    // A timer armed by the previous run's re-trigger must not start a second, overlapping run.
    clearTimeout(this.timer);
    this.timer = undefined;
    this.firstAt = undefined;
    this.again = false;
    this.running = this.run().finally(() => {
      this.running = undefined;
      this.lastEnd = this.now();
      if (this.again) this.trigger();
    });
    await this.running;
  }

  /** Cancels pending runs; a run in progress finishes. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
