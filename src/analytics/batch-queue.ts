/**
 * The bounded queue between telemetry streams and the database: streams push entries without ever
 * waiting, one writer drains them in batches. When the queue is full, the entries that do not fit
 * are dropped and counted, never silently; a batch the writer fails to store is dropped and counted
 * too (the stream that sent it is long gone), and the writer goes on with the next.
 *
 * An item may hold several entries (`sizeOf`: a chunk of COPY rows); capacity, batches and the
 * counters are in entries, and a chunk that only partly fits is cut (`cut`) or else dropped whole.
 */

export interface BatchQueueOptions<T> {
  /** Most entries waiting at once; beyond it pushes are dropped. */
  capacity: number;
  /** Most entries handed to one `write`. */
  batchSize: number;
  /** Batches written at once (1): two let a second database connection work while the first waits on its commit. */
  writers?: number;
  /** Stores one batch (a multi-row insert or COPY). */
  write(batch: T[]): Promise<void>;
  /** Told of a failed batch (for the log); the batch counts as dropped. */
  onWriteError?(err: Error, size: number): void;
  /** Told after each batch, stored or not, with the depth left (back-pressure: when to let streams read again). */
  onBatchDone?(depth: number): void;
  /** Entries an item holds (1). */
  sizeOf?(item: T): number;
  /** The first `n` entries of an item (less than its size), for a chunk that only partly fits. */
  cut?(item: T, n: number): T;
}

export interface BatchQueueStats {
  /** Entries waiting now. */
  depth: number;
  accepted: number;
  written: number;
  /** Dropped because the queue was full. */
  droppedFull: number;
  /** Dropped because their batch failed to store. */
  droppedFailed: number;
}

export class BatchQueue<T> {
  private items: T[] = [];
  /** Entries in `items`. */
  private depth = 0;
  /** The writers running now; each takes batches until the queue is empty. */
  private readonly writing = new Set<Promise<void>>();
  private readonly counts = { accepted: 0, written: 0, droppedFull: 0, droppedFailed: 0 };

  constructor(private readonly opts: BatchQueueOptions<T>) {
    if (!(opts.capacity >= 1 && opts.batchSize >= 1)) throw new RangeError('capacity and batchSize must be at least 1');
  }

  /** Queues what fits and starts the writer; returns how many entries were accepted (the rest were dropped). */
  push(items: readonly T[]): number {
    const sizeOf = this.opts.sizeOf ?? (() => 1);
    let taken = 0;
    let offered = 0;
    for (const item of items) {
      const size = sizeOf(item);
      offered += size;
      const room = this.opts.capacity - this.depth;
      if (size <= room) this.add(item, size);
      else if (room > 0 && this.opts.cut) this.add(this.opts.cut(item, room), room);
      else continue;
      taken += Math.min(size, room);
    }
    this.counts.accepted += taken;
    this.counts.droppedFull += offered - taken;
    // A second writer only once there is more than one batch to write.
    if (taken > 0 && this.writing.size < (this.opts.writers ?? 1) && this.depth > this.writing.size * this.opts.batchSize) this.startWriter();
    return taken;
  }

  private add(item: T, size: number): void {
    this.items.push(item);
    this.depth += size;
  }

  /** Resolves once everything queued so far was written (or dropped on failure). */
  async flush(): Promise<void> {
    while (this.writing.size > 0) await Promise.all(this.writing);
  }

  get stats(): BatchQueueStats {
    return { depth: this.depth, ...this.counts };
  }

  private startWriter(): void {
    const writer: Promise<void> = this.drain().finally(() => this.writing.delete(writer));
    this.writing.add(writer);
  }

  private async drain(): Promise<void> {
    while (this.items.length > 0) {
      const [batch, size] = this.takeBatch();
      try {
        await this.opts.write(batch);
        this.counts.written += size;
      } catch (err) {
        this.counts.droppedFailed += size;
        this.opts.onWriteError?.(err as Error, size);
      }
      this.opts.onBatchDone?.(this.depth);
    }
  }

  /** Items from the head up to `batchSize` entries (at least one item, which may hold more). */
  private takeBatch(): [T[], number] {
    const sizeOf = this.opts.sizeOf ?? (() => 1);
    let n = 0;
    let size = 0;
    while (n < this.items.length) {
      const next = sizeOf(this.items[n]!);
      if (n > 0 && size + next > this.opts.batchSize) break;
      size += next;
      n += 1;
    }
    this.depth -= size;
    return [this.items.splice(0, n), size];
  }
}
