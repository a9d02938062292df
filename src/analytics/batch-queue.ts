/**
 * The bounded queue between telemetry streams and the database: streams push entries without ever
 * waiting, one writer drains them in batches. When the queue is full, the entries that do not fit
 * are dropped and counted, never silently; a batch the writer fails to store is dropped and counted
 * too (the stream that sent it is long gone), and the writer goes on with the next.
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
  /** The writers running now; each takes batches until the queue is empty. */
  private readonly writing = new Set<Promise<void>>();
  private readonly counts = { accepted: 0, written: 0, droppedFull: 0, droppedFailed: 0 };

  constructor(private readonly opts: BatchQueueOptions<T>) {
    if (!(opts.capacity >= 1 && opts.batchSize >= 1)) throw new RangeError('capacity and batchSize must be at least 1');
  }

  /** Queues what fits and starts the writer; returns how many entries were accepted (the rest were dropped). */
  push(entries: readonly T[]): number {
    const room = Math.max(0, this.opts.capacity - this.items.length);
    const taken = Math.min(room, entries.length);
    for (let i = 0; i < taken; i++) this.items.push(entries[i]!);
    this.counts.accepted += taken;
    this.counts.droppedFull += entries.length - taken;
    // A second writer only once there is more than one batch to write.
    if (taken > 0 && this.writing.size < (this.opts.writers ?? 1) && this.items.length > this.writing.size * this.opts.batchSize) this.startWriter();
    return taken;
  }

  /** Resolves once everything queued so far was written (or dropped on failure). */
  async flush(): Promise<void> {
    while (this.writing.size > 0) await Promise.all(this.writing);
  }

  get stats(): BatchQueueStats {
    return { depth: this.items.length, ...this.counts };
  }

  private startWriter(): void {
    const writer: Promise<void> = this.drain().finally(() => this.writing.delete(writer));
    this.writing.add(writer);
  }

  private async drain(): Promise<void> {
    while (this.items.length > 0) {
      const batch = this.items.splice(0, this.opts.batchSize);
      try {
        await this.opts.write(batch);
        this.counts.written += batch.length;
      } catch (err) {
        this.counts.droppedFailed += batch.length;
        this.opts.onWriteError?.(err as Error, batch.length);
      }
      this.opts.onBatchDone?.(this.items.length);
    }
  }
}
