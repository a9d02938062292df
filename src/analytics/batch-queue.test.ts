import { describe, expect, it } from 'vitest';
import { BatchQueue } from './batch-queue.ts';

/** A writer that holds each batch until released, recording what it got. */
function gatedWriter() {
  const batches: number[][] = [];
  let release: (() => void) | undefined;
  return {
    batches,
    write: (batch: number[]) =>
      new Promise<void>((resolve) => {
        batches.push(batch);
        release = resolve;
      }),
    release: () => release?.(),
  };
}

describe('BatchQueue', () => {
  it('hands entries to the writer in batches of at most batchSize, in order, one batch at a time', async () => {
    const seen: number[][] = [];
    let inFlight = 0;
    let most = 0;
    const q = new BatchQueue<number>({
      capacity: 100,
      batchSize: 3,
      write: async (b) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 1));
        seen.push(b);
        inFlight--;
      },
    });
    q.push([1, 2, 3, 4]);
    q.push([5, 6, 7]);
    await q.flush();
    expect(seen.flat()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(seen.every((b) => b.length <= 3)).toBe(true);
    expect(most).toBe(1);
    expect(q.stats).toEqual({ depth: 0, accepted: 7, written: 7, droppedFull: 0, droppedFailed: 0 });
  });

  it('with two writers, writes a second batch while the first waits, and only when there is one', async () => {
    const batches: number[][] = [];
    const waiting: (() => void)[] = [];
    const write = (b: number[]) => new Promise<void>((resolve) => (batches.push(b), waiting.push(resolve)));
    const q = new BatchQueue<number>({ capacity: 100, batchSize: 2, writers: 2, write });
    q.push([1, 2]);
    q.push([3, 4]);
    // One batch waiting in the queue: the first writer takes it after its own.
    expect(batches).toEqual([[1, 2]]);
    q.push([5]);
    expect(batches).toEqual([[1, 2], [3, 4]]);
    expect(q.stats.depth).toBe(1);
    const done = q.flush();
    while (waiting.length > 0) {
      waiting.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    await done;
    expect(batches.flat().sort()).toEqual([1, 2, 3, 4, 5]);
    expect(q.stats).toMatchObject({ depth: 0, written: 5 });
  });

  it('never makes a pusher wait: what does not fit is dropped and counted', async () => {
    const w = gatedWriter();
    const q = new BatchQueue<number>({ capacity: 5, batchSize: 2, write: w.write });
    expect(q.push([1, 2, 3])).toBe(3); // the first batch (1, 2) goes to the writer at once
    expect(q.push([4, 5, 6, 7, 8])).toBe(4);
    expect(q.stats).toMatchObject({ depth: 5, accepted: 7, droppedFull: 1 });
    expect(q.push([9])).toBe(0);
    expect(q.stats.droppedFull).toBe(2);
    for (let i = 0; i < 4; i++) {
      w.release();
      await new Promise((r) => setTimeout(r, 0));
    }
    await q.flush();
    expect(w.batches.flat()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(q.stats).toEqual({ depth: 0, accepted: 7, written: 7, droppedFull: 2, droppedFailed: 0 });
  });

  it('counts a batch that fails to store as dropped, reports it, and goes on with the next', async () => {
    const errors: string[] = [];
    let calls = 0;
    const q = new BatchQueue<number>({
      capacity: 10,
      batchSize: 2,
      write: async () => {
        if (++calls === 1) throw new Error('connection reset');
      },
      onWriteError: (err, size) => errors.push(`${err.message} (${size})`),
    });
    q.push([1, 2, 3]);
    await q.flush();
    expect(errors).toEqual(['connection reset (2)']);
    expect(q.stats).toEqual({ depth: 0, accepted: 3, written: 1, droppedFailed: 2, droppedFull: 0 });
  });

  it('counts items holding several entries by their size, batches them whole, and cuts one that only partly fits', async () => {
    const w = gatedWriter();
    const chunk = (first: number, n: number) => Array.from({ length: n }, (_, i) => first + i);
    const q = new BatchQueue<number[]>({ capacity: 10, batchSize: 4, sizeOf: (c) => c.length, cut: (c, n) => c.slice(0, n), write: (b) => w.write(b.flat()) });
    expect(q.push([chunk(1, 3)])).toBe(3); // to the writer at once
    expect(q.push([chunk(4, 3), chunk(7, 3), chunk(10, 5)])).toBe(10); // 3 + 3 fit, 4 of the 5 are cut in
    expect(q.stats).toMatchObject({ depth: 10, accepted: 13, droppedFull: 1 });
    expect(q.push([chunk(20, 1)])).toBe(0);
    for (let i = 0; i < 4; i++) {
      w.release();
      await new Promise((r) => setTimeout(r, 0));
    }
    await q.flush();
    // A batch stops before an item that would pass batchSize, but always takes one.
    expect(w.batches).toEqual([[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12, 13]]);
    expect(q.stats).toEqual({ depth: 0, accepted: 13, written: 13, droppedFull: 2, droppedFailed: 0 });
  });

  it('drops an item that only partly fits whole when it cannot be cut', async () => {
    const w = gatedWriter();
    const q = new BatchQueue<number[]>({ capacity: 4, batchSize: 100, sizeOf: (c) => c.length, write: (b) => w.write(b.flat()) });
    expect(q.push([[1, 2], [3, 4, 5]])).toBe(2);
    expect(q.stats).toMatchObject({ accepted: 2, droppedFull: 3 });
    w.release();
    await q.flush();
    expect(w.batches).toEqual([[1, 2]]);
  });

  it('refuses a capacity or batch size below one', () => {
    expect(() => new BatchQueue({ capacity: 0, batchSize: 1, write: async () => {} })).toThrow(RangeError);
    expect(() => new BatchQueue({ capacity: 1, batchSize: 0, write: async () => {} })).toThrow(RangeError);
  });
});
