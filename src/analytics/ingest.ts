/**
 * Where telemetry streams deliver: access-log entries become records, queued for the raw table
 * (bounded: what does not fit is dropped and counted) and counted into minute rollups; a writer
 * merges the rollups into the database every few seconds. Nothing here waits on the database:
 * above a high-water mark of the queue the streams stop being read (`holdStream`), so the Envoys
 * buffer and drop at their side, and past the capacity entries are dropped here; a slow database
 * never makes a slower xDS server.
 */
import type { Plain } from '../protos/type-urls.ts';
import type { AccessLogsMessage } from '../protos/telemetry.ts';
import type { TelemetryReceiver, TelemetrySource } from '../xds/server/telemetry-service.ts';
import { httpRecordOf, tcpRecordOf, type AccessLogRecord } from './access-log.ts';
import { BatchQueue } from './batch-queue.ts';
import { RollupAccumulator, type RollupCell } from './rollup.ts';

export interface IngestOptions {
  /** Stores a batch of raw records. */
  writeRecords(batch: AccessLogRecord[]): Promise<void>;
  /** Merges rollup deltas into the stored rows. */
  writeRollups(cells: RollupCell[]): Promise<void>;
  /** Takes a metrics-service message (cluster stats); optional. */
  metrics?(from: TelemetrySource, families: Plain[]): void;
  /** Told of the rollup cells written, after each write (the Prometheus mesh metrics). */
  onRollups?(cells: readonly RollupCell[]): void;
  queueCapacity: number;
  batchSize?: number;
  /** Batches stored at once (2): one connection's insert rate is below what the ingestion can feed. */
  writers?: number;
  /**
   * Queue depth (share of the capacity) at which streams stop being read (0.1), and below which they
   * read again (0.05). Low, so that queued records are few and die young (a deep queue of long-lived
   * records made the garbage collector the largest cost); the rest of the capacity takes what the
   * streams already had in flight when they were paused.
   */
  highWater?: number;
  lowWater?: number;
  now?: () => Date;
  log?: { warn(obj: object, msg: string): void };
}

/** Cumulative counters of one replica's ingestion. */
export interface IngestStats {
  messages: number;
  entries: number;
  /** Entries refused as invalid (absurd time, missing fields). */
  rejected: number;
  /** Entries accepted into the raw queue, written, dropped because it was full, or because their batch failed. */
  accepted: number;
  written: number;
  droppedFull: number;
  droppedFailed: number;
  /** Entries waiting in the queue now. */
  queueDepth: number;
  /** Rollup keys not counted because the accumulator was full, and rollup writes that failed (retried). */
  rollupOverflow: number;
  rollupWriteFailures: number;
  /** Streams ended with an error status, by reason. */
  malformed: number;
  noNode: number;
  unauthenticated: number;
  metricsMessages: number;
  /** Times a stream stopped reading because the queue was above its high-water mark. */
  paused: number;
  /** Times a stream stopped reading while a config build ran (xDS goes first). */
  heldForXds: number;
}

/** The receiver behind the telemetry services. */
export class TelemetryIngest implements TelemetryReceiver {
  private readonly queue: BatchQueue<AccessLogRecord>;
  private rollups = new RollupAccumulator();
  private readonly counts = { messages: 0, entries: 0, rejected: 0, rollupWriteFailures: 0, malformed: 0, noNode: 0, unauthenticated: 0, metricsMessages: 0, paused: 0, heldForXds: 0 };
  private writing: Promise<void> | undefined;
  private lastRejection = 0;
  private readonly highWater: number;
  private readonly lowWater: number;
  /** Streams waiting for the queue to fall below its low-water mark, or for the xDS build that holds reading to end. */
  private held: (() => void)[] = [];
  /** Holds taken by `holdReading` and not released yet. */
  private holds = 0;

  constructor(private readonly opts: IngestOptions) {
    this.highWater = Math.max(1, Math.floor(opts.queueCapacity * (opts.highWater ?? 0.1)));
    this.lowWater = Math.floor(opts.queueCapacity * (opts.lowWater ?? 0.05));
    this.queue = new BatchQueue<AccessLogRecord>({
      capacity: opts.queueCapacity,
      batchSize: opts.batchSize ?? 2000,
      writers: opts.writers ?? 2,
      write: opts.writeRecords,
      onWriteError: (err, size) => opts.log?.warn({ err: err.message, size }, 'access-log batch not stored; dropped'),
      onBatchDone: (depth) => this.releaseBelow(depth),
    });
  }

  /**
   * Back-pressure: while the queue is above its high-water mark (and until it falls below the low
   * one), a stream that just delivered stops reading, so the Envoys buffer (and drop and count at
   * their side) instead of this process decoding what it would drop, with the event loop that also
   * serves xDS. Returns true when the stream must pause; `resume` is called once it may read again.
   */
  holdStream(resume: () => void): boolean {
    const deep = this.queue.stats.depth >= this.highWater;
    if (this.held.length === 0 && this.holds === 0 && !deep) return false;
    this.held.push(resume);
    if (this.holds > 0 && !deep) this.counts.heldForXds += 1;
    else this.counts.paused += 1;
    return true;
  }

  /**
   * xDS goes first: until the returned function is called, every stream that delivers is paused
   * (the server calls it around each config build, so reading the registry, building and pushing a
   * change do not share the event loop with decoding access logs; the proxies' HTTP/2 windows take
   * what they send meanwhile). A hold ends by itself after `maxMs` (250), so a build waiting long
   * on an unwell database does not stop ingestion for as long.
   */
  holdReading(maxMs = 250): () => void {
    this.holds += 1;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      this.holds -= 1;
      // The held streams read again at once unless the queue is still above its high-water mark
      // (then they wait for its low-water mark, as streams held for the queue do).
      this.release(this.queue.stats.depth < this.highWater);
    };
    const timer = setTimeout(release, maxMs);
    timer.unref();
    return release;
  }

  /** Lets the held streams read again once the writer has brought the queue below its low-water mark. */
  private releaseBelow(depth: number): void {
    this.release(depth <= this.lowWater);
  }

  private release(queueAllows: boolean): void {
    if (this.held.length === 0 || this.holds > 0 || !queueAllows) return;
    const held = this.held;
    this.held = [];
    for (const resume of held) resume();
  }

  /** Turns a message's entries into records; invalid ones are counted (and logged at most once a minute). */
  accessLogs(from: TelemetrySource, message: AccessLogsMessage): void {
    this.counts.messages += 1;
    const now = this.opts.now?.() ?? new Date();
    const http = message.httpLogs?.logEntry ?? [];
    const tcp = message.tcpLogs?.logEntry ?? [];
    const records: AccessLogRecord[] = [];
    for (const [entries, recordOf] of [
      [http, httpRecordOf],
      [tcp, tcpRecordOf],
    ] as const) {
      for (const entry of entries) {
        const r = recordOf(entry, from, now);
        if (r.ok) records.push(r.value);
        else this.reject(from, r.issues[0]!);
      }
    }
    this.counts.entries += http.length + tcp.length;
    for (const r of records) this.rollups.add(r);
    this.queue.push(records);
  }

  metrics(from: TelemetrySource, families: Plain[]): void {
    this.counts.metricsMessages += 1;
    this.opts.metrics?.(from, families);
  }

  refused(reason: 'malformed' | 'no-node' | 'unauthenticated'): void {
    this.counts[reason === 'no-node' ? 'noNode' : reason] += 1;
  }

  /** Writes the rollup deltas collected so far (the server calls it every few seconds); a failed write keeps them for the next. */
  flushRollups(): Promise<void> {
    return (this.writing ??= this.writeRollups().finally(() => (this.writing = undefined)));
  }

  /** Waits until the raw queue is empty: every entry accepted so far is stored (or dropped as failed). */
  flushEntries(): Promise<void> {
    return this.queue.flush();
  }

  /** Waits until the raw queue is empty and the rollups are written (tests, shutdown). */
  async flush(): Promise<void> {
    await this.flushEntries();
    while (this.writing) await this.writing;
    await this.flushRollups();
  }

  get stats(): IngestStats {
    const q = this.queue.stats;
    return {
      ...this.counts,
      accepted: q.accepted,
      written: q.written,
      droppedFull: q.droppedFull,
      droppedFailed: q.droppedFailed,
      queueDepth: q.depth,
      rollupOverflow: this.rollups.overflow,
    };
  }

  private async writeRollups(): Promise<void> {
    const cells = this.rollups.take();
    if (cells.length === 0) return;
    try {
      await this.opts.writeRollups(cells);
      this.opts.onRollups?.(cells);
    } catch (err) {
      this.counts.rollupWriteFailures += 1;
      this.rollups.restore(cells);
      this.opts.log?.warn({ err: (err as Error).message, cells: cells.length }, 'rollups not stored; kept for the next write');
    }
  }

  private reject(from: TelemetrySource, first: { path: string; message: string }): void {
    this.counts.rejected += 1;
    const now = Date.now();
    if (now - this.lastRejection < 60_000) return;
    this.lastRejection = now;
    this.opts.log?.warn({ proxy: from.proxyId, field: first.path, reason: first.message }, 'access-log entry refused (further refusals this minute are only counted)');
  }
}
