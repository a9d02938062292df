/**
 * Coalesces bursts of triggers into one run: waits `quietMs` after the last trigger, but never more
 * than `maxDelayMs` after the first; runs never overlap, and a trigger during a run schedules one more.
 */
export class Coalescer {
  private timer: NodeJS.Timeout | undefined;
  private firstAt: number | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly run: () => Promise<void>,
    private readonly quietMs: number,
    private readonly maxDelayMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Asks for a run soon. */
  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const now = this.now();
    this.firstAt ??= now;
    const deadline = this.firstAt + this.maxDelayMs;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.fire(), Math.max(0, Math.min(now + this.quietMs, deadline) - now));
  }

  /** Runs now (waiting for a run in progress first) and resolves when done. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running) await this.running;
    await this.fire();
  }

  private async fire(): Promise<void> {
    this.timer = undefined;
    this.firstAt = undefined;
    this.again = false;
    this.running = this.run().finally(() => {
      this.running = undefined;
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
