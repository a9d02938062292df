import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Coalescer } from './coalescer.ts';

const QUIET = 100;
const MAX = 300;

/** A run function the test finishes by hand, recording starts, ends and the most runs seen at once. */
function harness(opts: { autoFinish?: boolean; leading?: boolean } = {}) {
  const log: string[] = [];
  const pending: (() => void)[] = [];
  let active = 0;
  let maxActive = 0;
  let started = 0;
  const run = (): Promise<void> => {
    const n = ++started;
    active++;
    maxActive = Math.max(maxActive, active);
    log.push(`start ${n}@${Date.now()}`);
    const done = () => {
      active--;
      log.push(`end ${n}`);
    };
    if (opts.autoFinish) {
      done();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => pending.push(() => (done(), resolve())));
  };
  const coalescer = new Coalescer(run, QUIET, MAX, () => Date.now(), opts.leading);
  return {
    coalescer,
    log,
    get runs() {
      return started;
    },
    get maxActive() {
      return maxActive;
    },
    /** Finishes the oldest unfinished run and lets its promise callbacks run. */
    async finish() {
      const next = pending.shift();
      if (!next) throw new Error('no run in progress');
      next();
      await vi.advanceTimersByTimeAsync(0);
    },
  };
}

const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Coalescer debounce', () => {
  it('runs once, quietMs after a single trigger', async () => {
    const h = harness({ autoFinish: true });
    h.coalescer.trigger();
    await advance(QUIET - 1);
    expect(h.runs).toBe(0);
    await advance(1);
    expect(h.log).toEqual([`start 1@${QUIET}`, 'end 1']);
    await advance(10 * MAX);
    expect(h.runs).toBe(1);
  });

  it('coalesces a burst into one run, measuring quiet time from the last trigger', async () => {
    const h = harness({ autoFinish: true });
    for (let i = 0; i < 3; i++) {
      h.coalescer.trigger();
      await advance(50);
    }
    // last trigger at t=100, so the run is due at t=200
    await advance(QUIET - 51);
    expect(h.runs).toBe(0);
    await advance(1);
    expect(h.log).toEqual(['start 1@200', 'end 1']);
  });

  it('never waits more than maxDelayMs after the first trigger of a steady stream', async () => {
    const h = harness({ autoFinish: true });
    for (let t = 0; t < 2 * MAX; t += QUIET / 2) {
      h.coalescer.trigger();
      await advance(QUIET / 2);
    }
    await advance(QUIET);
    // triggers every 50ms never leave 100ms of quiet: runs fall on the max-delay deadlines
    expect(h.log.filter((l) => l.startsWith('start'))).toEqual([`start 1@${MAX}`, `start 2@${2 * MAX}`]);
  });

  it('starts a new max-delay window after each run', async () => {
    const h = harness({ autoFinish: true });
    h.coalescer.trigger();
    await advance(QUIET);
    expect(h.runs).toBe(1);
    await advance(MAX * 2);
    h.coalescer.trigger();
    await advance(QUIET - 1);
    expect(h.runs).toBe(1);
    await advance(1);
    expect(h.runs).toBe(2);
  });
});

describe('Coalescer runs in progress', () => {
  it('runs once more for any number of triggers during a run, never overlapping', async () => {
    const h = harness();
    h.coalescer.trigger();
    await advance(QUIET);
    expect(h.runs).toBe(1);
    for (let i = 0; i < 5; i++) h.coalescer.trigger();
    await advance(MAX * 3);
    expect(h.runs).toBe(1); // still running: nothing new starts
    await h.finish();
    await advance(QUIET);
    expect(h.runs).toBe(2);
    await h.finish();
    await advance(MAX * 3);
    expect(h.runs).toBe(2);
    expect(h.maxActive).toBe(1);
    expect(h.log.map((l) => l.replace(/@.*/, ''))).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('does not run again when nothing triggered during the run', async () => {
    const h = harness();
    h.coalescer.trigger();
    await advance(QUIET);
    await h.finish();
    await advance(MAX * 3);
    expect(h.runs).toBe(1);
  });

  it('counts the max delay from a trigger that arrived during a long run', async () => {
    const h = harness();
    h.coalescer.trigger();
    await advance(QUIET); // run 1 starts at t=100
    await advance(50);
    h.coalescer.trigger(); // t=150: deadline for the next run is t=450
    await advance(400); // run 1 is still going at t=550
    await h.finish();
    expect(h.runs).toBe(2);
    expect(h.log).toContain('start 2@550');
  });
});

describe('Coalescer flush', () => {
  it('runs at once and cancels the pending timer', async () => {
    const h = harness({ autoFinish: true });
    h.coalescer.trigger();
    await h.coalescer.flush();
    expect(h.log).toEqual(['start 1@0', 'end 1']);
    await advance(MAX * 3);
    expect(h.runs).toBe(1);
  });

  it('runs even when nothing was triggered', async () => {
    const h = harness({ autoFinish: true });
    await h.coalescer.flush();
    expect(h.runs).toBe(1);
  });

  it('waits for a run in progress, then runs once; the trigger seen during the run adds nothing more', async () => {
    const h = harness();
    h.coalescer.trigger();
    await advance(QUIET);
    h.coalescer.trigger(); // during run 1
    let flushed = false;
    const flushing = h.coalescer.flush().then(() => (flushed = true));
    await advance(0);
    expect(h.runs).toBe(1);
    await h.finish(); // run 1 ends; flush starts run 2
    expect(h.runs).toBe(2);
    await advance(MAX * 3); // run 2 still going: no timer may start a run beside it
    expect(h.maxActive).toBe(1);
    expect(h.runs).toBe(2);
    expect(flushed).toBe(false);
    await h.finish();
    await flushing;
    await advance(MAX * 3);
    expect(h.runs).toBe(2);
    expect(h.log.map((l) => l.replace(/@.*/, ''))).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('serializes concurrent flushes', async () => {
    const h = harness();
    h.coalescer.trigger();
    await advance(QUIET);
    const a = h.coalescer.flush();
    const b = h.coalescer.flush();
    await h.finish();
    await h.finish();
    await h.finish();
    await Promise.all([a, b]);
    expect(h.maxActive).toBe(1);
    expect(h.log.map((l) => l.replace(/@.*/, ''))).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  });
});

describe('Coalescer stop', () => {
  it('cancels a pending run and ignores later triggers', async () => {
    const h = harness({ autoFinish: true });
    h.coalescer.trigger();
    h.coalescer.stop();
    h.coalescer.trigger();
    await advance(MAX * 3);
    expect(h.runs).toBe(0);
  });

  it('lets a run in progress finish without scheduling the one it was asked for', async () => {
    const h = harness();
    h.coalescer.trigger();
    await advance(QUIET);
    h.coalescer.trigger();
    h.coalescer.stop();
    await h.finish();
    await advance(MAX * 3);
    expect(h.log.map((l) => l.replace(/@.*/, ''))).toEqual(['start 1', 'end 1']);
  });
});

describe('Coalescer with a leading edge', () => {
  it('runs a trigger after a quiet spell at once', async () => {
    const h = harness({ autoFinish: true, leading: true });
    h.coalescer.trigger();
    await advance(0);
    expect(h.log).toEqual(['start 1@0', 'end 1']);
  });

  it('coalesces the triggers that follow within quietMs, then is leading again after a quiet spell', async () => {
    const h = harness({ autoFinish: true, leading: true });
    h.coalescer.trigger();
    await advance(10);
    for (let i = 0; i < 3; i++) {
      h.coalescer.trigger();
      await advance(20);
    }
    // runs: 1 at t=0; the burst at t=10..50 is debounced: its last trigger at t=50, so due at t=150
    await advance(QUIET - 20 - 1);
    expect(h.runs).toBe(1);
    await advance(21);
    expect(h.log).toEqual(['start 1@0', 'end 1', 'start 2@150', 'end 2']);
    await advance(QUIET);
    h.coalescer.trigger();
    await advance(0);
    expect(h.runs).toBe(3);
  });

  it('still runs only once more for triggers during a run', async () => {
    const h = harness({ leading: true });
    h.coalescer.trigger();
    await advance(0);
    h.coalescer.trigger();
    h.coalescer.trigger();
    await h.finish();
    await advance(QUIET);
    expect(h.runs).toBe(2);
    expect(h.maxActive).toBe(1);
  });
});
