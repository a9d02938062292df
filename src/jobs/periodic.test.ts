import { describe, expect, it } from 'vitest';
import { startPeriodicJob } from './periodic.ts';

describe('startPeriodicJob', () => {
  it('never runs twice at once: runOnce waits for the run in flight, then runs its own', async () => {
    let running = 0;
    let most = 0;
    let runs = 0;
    const job = startPeriodicJob(3_600_000, async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      return ++runs;
    }, () => {});
    const results = await Promise.all([job.runOnce(), job.runOnce(), job.runOnce()]);
    job.stop();
    expect(most).toBe(1);
    expect(results.sort()).toEqual([1, 2, 3]);
  });

  it('a run that throws is reported and counts as idle; the next run goes ahead', async () => {
    const errors: string[] = [];
    let calls = 0;
    const job = startPeriodicJob(3_600_000, async () => {
      if (++calls === 1) throw new Error('database down');
      return 5;
    }, (err) => errors.push(err.message), -1);
    expect(await job.runOnce()).toBe(-1);
    expect(await job.runOnce()).toBe(5);
    job.stop();
    expect(errors).toEqual(['database down']);
  });

  it('runs on its timer, skipping ticks while a run is in flight', async () => {
    let runs = 0;
    const job = startPeriodicJob(5, async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 40));
      return 0;
    }, () => {});
    await new Promise((r) => setTimeout(r, 100));
    job.stop();
    expect(runs).toBeGreaterThanOrEqual(1);
    expect(runs).toBeLessThanOrEqual(3);
  });
});
