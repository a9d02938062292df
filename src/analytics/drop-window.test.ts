import { describe, expect, it } from 'vitest';
import { droppedOf, DropWindow } from './drop-window.ts';

const T0 = Date.parse('2025-03-01T12:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);
const MIN = 60_000;

/** A window fed with `samples`: [seconds, replica, dropped]. */
function windowOf(samples: [number, string, number][]): DropWindow {
  const w = new DropWindow();
  for (const [s, replica, n] of samples) w.record(at(s), new Map([[replica, n]]));
  return w;
}

describe('DropWindow', () => {
  it.each<[string, [number, string, number][], number, number, number]>([
    ['nothing sampled', [], 60, MIN, 0],
    ['one sample: no increase known yet', [[0, 'a', 40]], 60, MIN, 0],
    ['the increase since the last sample before the window', [[0, 'a', 10], [30, 'a', 15], [90, 'a', 25]], 90, MIN, 10],
    ['the whole history when the window covers it', [[0, 'a', 10], [30, 'a', 15], [90, 'a', 25]], 90, 10 * MIN, 15],
    ['summed over replicas', [[0, 'a', 10], [0, 'b', 0], [60, 'a', 12], [60, 'b', 7]], 60, MIN, 9],
    ['a counter that went down is a restart, counting from zero', [[0, 'a', 100], [30, 'a', 4], [60, 'a', 9]], 60, MIN, 9],
    ['samples after `now` are not counted', [[0, 'a', 0], [60, 'a', 5], [120, 'a', 50]], 60, MIN, 5],
  ])('%s', (_what, samples, nowS, windowMs, expected) => {
    expect(windowOf(samples).droppedWithin(windowMs, at(nowS))).toBe(expected);
  });

  it('prunes samples no window needs, keeping a baseline before the cut, and forgets silent replicas', () => {
    const w = windowOf([[0, 'a', 0], [60, 'a', 3], [120, 'a', 5], [180, 'a', 9], [0, 'gone', 1]]);
    w.prune(at(180), MIN);
    expect(w.replicas).toBe(1);
    expect(w.droppedWithin(MIN, at(180))).toBe(4);
    // Only the baseline at 120 s is left of the older samples: a longer window sees no further back.
    expect(w.droppedWithin(10 * MIN, at(180))).toBe(4);
  });
});

describe('droppedOf', () => {
  it('adds both reasons for dropping, ignoring what is not a count', () => {
    expect(droppedOf({ accepted: 100, written: 90, droppedFull: 7, droppedFailed: 3 })).toBe(10);
    expect(droppedOf({ droppedFull: 'x', droppedFailed: -1 })).toBe(0);
    expect(droppedOf({})).toBe(0);
  });
});
