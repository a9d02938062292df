/**
 * Where telemetry streams deliver. Access-log messages go, as raw bytes, to the ingestion worker
 * (ingest-worker.ts: decoding, records, rollup counting and COPY text on a thread of its own), and
 * come back as chunks of COPY rows, queued for the raw table (bounded: what does not fit is dropped
 * and counted); every few seconds the rollup cells the worker counted are merged into the database.
 * All database writes stay on this thread. Nothing here waits on the database or the worker: while
 * the queue is above a high-water mark, or the worker has too many bytes in hand, the streams stop
 * being read (the Envoys buffer and drop at their side), and past the capacity rows are dropped
 * here; a slow database never makes a slower xDS server.
 */
import { Worker } from 'node:worker_threads';
import type { Plain } from '../protos/type-urls.ts';
import type { AccessLogSink, TelemetryReceiver, TelemetrySource } from '../xds/server/telemetry-service.ts';
import type { BatcherCounts, Rejection } from './access-log-batcher.ts';
import type { RollupColumns } from '../registry/rollups.ts';
import { BatchQueue } from './batch-queue.ts';
import type { FromWorker, ToWorker, WorkerOptions } from './ingest-worker.ts';
import type { EdgeDelta } from './rollup.ts';

/** A chunk of COPY rows made by the worker. */
interface RowChunk {
  bytes: Uint8Array;
  rows: number;
}

export interface IngestOptions {
  /** Stores a batch of COPY rows (UTF-8 text in `ACCESS_LOG_COLUMNS` order, one row per line), given in parts. */
  writeRows(parts: Uint8Array[], rows: number): Promise<void>;
  /** Adds rollup deltas (statements' columns, made by the worker) to the stored rows, all or nothing. */
  writeRollups(batches: RollupColumns[]): Promise<void>;
  /** Takes a metrics-service message (cluster stats); optional. */
  metrics?(from: TelemetrySource, families: Plain[]): void;
  /** Told what the rollups written added to each edge, after each write (the Prometheus mesh metrics). */
  onRollups?(edges: readonly EdgeDelta[]): void;
  queueCapacity: number;
  batchSize?: number;
  /** Batches stored at once (2): one connection's insert rate is below what the ingestion can feed. */
  writers?: number;
  /**
   * Queue depth (share of the capacity) at which streams stop being read (0.1), and below which they
   * read again (0.05). Low, so that queued rows are few; the rest of the capacity takes what the
   * streams already had in flight when they were paused.
   */
  highWater?: number;
  lowWater?: number;
  /** Bytes of messages handed to the worker and not yet made into rows at which streams stop being read (8 MiB); they read again below half. */
  maxInFlightBytes?: number;
  /** Rollup cells the worker may hold at once, with those of failed writes (100,000). */
  maxRollupCells?: number;
  log?: { warn(obj: object, msg: string): void };
}

/** Cumulative counters of one replica's ingestion. */
export interface IngestStats extends BatcherCounts {
  /** Entries accepted into the raw queue, written, dropped because it was full, or because their batch failed. */
  accepted: number;
  written: number;
  droppedFull: number;
  droppedFailed: number;
  /** Entries waiting in the queue now. */
  queueDepth: number;
  /** Bytes of messages the worker has not made into rows yet. */
  inFlightBytes: number;
  /** Rollup writes that failed (the worker counts their cells again for the next). */
  rollupWriteFailures: number;
  /** Streams ended with an error status, by reason. */
  malformed: number;
  noNode: number;
  unauthenticated: number;
  metricsMessages: number;
  /** Times a stream stopped reading because the queue was above its high-water mark or the worker had too much in hand. */
  paused: number;
  /** Times a stream stopped reading while a config build ran (xDS goes first). */
  heldForXds: number;
  /** Times the worker died (it is started again with the next message, after a pause if it died young). */
  workerRestarts: number;
  /** Access-log messages lost: in the hand of a worker that died, or delivered while none could be started. */
  messagesLost: number;
}

const NO_COUNTS: BatcherCounts = { messages: 0, entries: 0, rejected: 0, rollupOverflow: 0 };
const WORKER_ENTRY = new URL('./ingest-worker.mjs', import.meta.url);
const WORKER_MODULE = new URL('./ingest-worker.ts', import.meta.url).href;

/** The receiver behind the telemetry services. */
export class TelemetryIngest implements TelemetryReceiver {
  private readonly queue: BatchQueue<RowChunk>;
  private readonly counts = { rollupWriteFailures: 0, malformed: 0, noNode: 0, unauthenticated: 0, metricsMessages: 0, paused: 0, heldForXds: 0, workerRestarts: 0, messagesLost: 0 };
  private writing: Promise<void> | undefined;
  private lastRejection = 0;
  private readonly highWater: number;
  private readonly lowWater: number;
  private readonly maxInFlight: number;
  /** Streams waiting for the queue and the worker to get below their low marks, or for the xDS build that holds reading to end. */
  private held: (() => void)[] = [];
  /** Holds taken by `holdReading` and not released yet. */
  private holds = 0;

  private worker: Worker | undefined;
  private closed = false;
  /** The open streams, by id: told to end when the worker finds a message undecodable; opened again in a new worker. */
  private readonly streams = new Map<number, { from: TelemetrySource; fail: (reason: string) => void }>();
  private nextId = 1;
  private nextRequest = 1;
  private readonly answers = new Map<number, (m: FromWorker | undefined) => void>();
  private inFlight = 0;
  private inFlightMessages = 0;
  /** Deaths in a row of workers that never made rows, and when the next may start (a worker that cannot start must not take a core restarting). */
  private failures = 0;
  private restartAt = 0;
  /** Bytes a row takes in a message, on average lately: what the bytes in the worker's hand will add to the queue. */
  private bytesPerRow = 256;
  /** The counters of the running worker, and those of workers that died before it. */
  private workerCounts = NO_COUNTS;
  private lostCounts = NO_COUNTS;

  constructor(private readonly opts: IngestOptions) {
    this.highWater = Math.max(1, Math.floor(opts.queueCapacity * (opts.highWater ?? 0.1)));
    this.lowWater = Math.floor(opts.queueCapacity * (opts.lowWater ?? 0.05));
    this.maxInFlight = opts.maxInFlightBytes ?? 8 * 1024 * 1024;
    this.queue = new BatchQueue<RowChunk>({
      capacity: opts.queueCapacity,
      batchSize: opts.batchSize ?? 2000,
      writers: opts.writers ?? 2,
      sizeOf: (c) => c.rows,
      cut: (c, n) => ({ bytes: c.bytes.subarray(0, endOfRow(c.bytes, n)), rows: n }),
      write: (batch) => opts.writeRows(batch.map((c) => c.bytes), batch.reduce((n, c) => n + c.rows, 0)),
      onWriteError: (err, size) => opts.log?.warn({ err: err.message, size }, 'access-log batch not stored; dropped'),
      onBatchDone: () => this.releaseIfShallow(),
    });
  }

  /** A new access-log stream: its messages go to the worker as they are; `fail` ends the stream when the worker cannot decode one. */
  accessLogStream(from: TelemetrySource, fail: (reason: string) => void): AccessLogSink {
    const id = this.nextId++;
    this.streams.set(id, { from, fail });
    this.post({ t: 'open', id, from });
    return {
      deliver: (bytes, resume) => {
        if (!this.streams.has(id) || this.closed) return false;
        const own = ownMemory(bytes);
        const size = own.byteLength; // 0 once transferred
        if (!this.post({ t: 'logs', id, bytes: own }, [own.buffer as ArrayBuffer])) {
          this.counts.messagesLost += 1;
          return false;
        }
        this.inFlight += size;
        this.inFlightMessages += 1;
        return this.holdStream(resume);
      },
      close: () => {
        if (this.streams.delete(id)) this.post({ t: 'close', id });
      },
    };
  }

  /**
   * Back-pressure: while the queue, with the rows the worker has in hand, is above its high-water
   * mark, or the worker has too many bytes in hand (and until both are below their low marks), a
   * stream that just delivered stops reading, so the Envoys buffer (and drop and count at their
   * side) instead of this process taking what it would drop. Returns true when the stream must
   * pause; `resume` is called once it may read again.
   */
  private holdStream(resume: () => void): boolean {
    const deep = this.deep();
    if (this.held.length === 0 && this.holds === 0 && !deep) return false;
    this.held.push(resume);
    if (this.holds > 0 && !deep) this.counts.heldForXds += 1;
    else this.counts.paused += 1;
    return true;
  }

  /** The queue's depth with the rows the worker has in hand, estimated. */
  private depth(): number {
    return this.queue.stats.depth + this.inFlight / this.bytesPerRow;
  }

  private deep(): boolean {
    return this.depth() >= this.highWater || this.inFlight >= this.maxInFlight;
  }

  /**
   * xDS goes first: until the returned function is called, every stream that delivers is paused
   * (the server calls it around each config build, so reading the registry, building and pushing a
   * change do not share the event loop with receiving access logs; the proxies' HTTP/2 windows take
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
      // The held streams read again at once unless the queue or the worker is still above its mark
      // (then they wait for the low marks, as streams held for the queue do).
      this.release(!this.deep());
    };
    const timer = setTimeout(release, maxMs);
    timer.unref();
    return release;
  }

  /** Lets the held streams read again once the queue and the worker's bytes in hand are below their low marks. */
  private releaseIfShallow(): void {
    this.release(this.depth() <= this.lowWater && this.inFlight <= this.maxInFlight / 2);
  }

  private release(allowed: boolean): void {
    if (this.held.length === 0 || this.holds > 0 || !allowed) return;
    const held = this.held;
    this.held = [];
    for (const resume of held) resume();
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

  /** Waits until the worker has made rows of every message delivered so far, and they are queued (or dropped and counted). */
  async processed(): Promise<void> {
    if (this.worker) await this.request((req) => ({ t: 'sync', req }));
  }

  /** Waits until every message delivered so far is made into rows and the raw queue is empty: each is stored, or dropped and counted. */
  async flushEntries(): Promise<void> {
    await this.processed();
    await this.queue.flush();
  }

  /** Waits until the raw queue is empty and the rollups are written (tests, shutdown). */
  async flush(): Promise<void> {
    await this.flushEntries();
    while (this.writing) await this.writing;
    await this.flushRollups();
  }

  /** Stops the worker (after `flush`, at shutdown); what is delivered afterwards is ignored. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.answerAll();
    await worker?.terminate();
  }

  get stats(): IngestStats {
    const q = this.queue.stats;
    const w = this.workerCounts;
    const lost = this.lostCounts;
    return {
      ...this.counts,
      messages: lost.messages + w.messages,
      entries: lost.entries + w.entries,
      rejected: lost.rejected + w.rejected,
      rollupOverflow: lost.rollupOverflow + w.rollupOverflow,
      accepted: q.accepted,
      written: q.written,
      droppedFull: q.droppedFull,
      droppedFailed: q.droppedFailed,
      queueDepth: q.depth,
      inFlightBytes: this.inFlight,
    };
  }

  /**
   * Takes the worker's rollup cells, made into statements' columns, and writes them; the worker
   * keeps them until told how the write went, and counts them again when it failed. Cells in the
   * hand of a worker that dies are lost with it.
   */
  private async writeRollups(): Promise<void> {
    const worker = this.worker;
    const batch = worker && (await this.request((req) => ({ t: 'take-rollups', req })));
    if (batch?.t !== 'rollups' || batch.cells === 0) return;
    let stored = false;
    try {
      await this.opts.writeRollups(batch.columns);
      stored = true;
    } catch (err) {
      this.counts.rollupWriteFailures += 1;
      this.opts.log?.warn({ err: (err as Error).message, cells: batch.cells }, 'rollups not stored; kept for the next write');
    }
    if (this.worker === worker) this.post({ t: 'rollups-stored', stored });
    if (stored) this.opts.onRollups?.(batch.edges);
  }

  /**
   * Starts the worker on first use, and again after it died (with the streams still open); false
   * when the message was not posted: closed, or waiting to start a worker again after deaths.
   */
  private post(m: ToWorker, transfer: ArrayBuffer[] = []): boolean {
    if (this.closed) return false;
    if (!this.worker) {
      if (Date.now() < this.restartAt) return false;
      const options: WorkerOptions = { chunkRows: this.opts.batchSize ?? 2000, ...(this.opts.maxRollupCells ? { maxRollupCells: this.opts.maxRollupCells } : {}) };
      const worker = new Worker(WORKER_ENTRY, { workerData: { module: WORKER_MODULE, options } });
      worker.unref();
      worker.on('message', (out: FromWorker) => this.fromWorker(out));
      worker.on('error', (err) => this.lost(worker, err));
      worker.on('exit', (code) => this.lost(worker, new Error(`exited with code ${code}`)));
      this.worker = worker;
      for (const [id, s] of this.streams) if (m.t !== 'open' || m.id !== id) worker.postMessage({ t: 'open', id, from: s.from } satisfies ToWorker);
    }
    this.worker.postMessage(m, transfer);
    return true;
  }

  /** Asks the worker; undefined when there is none to ask, or it died before answering. */
  private request(message: (req: number) => ToWorker): Promise<FromWorker | undefined> {
    const req = this.nextRequest++;
    return new Promise((resolve) => {
      this.answers.set(req, resolve);
      if (this.post(message(req))) return;
      this.answers.delete(req);
      resolve(undefined);
    });
  }

  private fromWorker(m: FromWorker): void {
    if (m.t === 'synced' || m.t === 'rollups') {
      this.answers.get(m.req)?.(m);
      this.answers.delete(m.req);
    }
    if (m.t !== 'out') return;
    this.failures = 0;
    this.inFlight -= m.doneBytes;
    this.inFlightMessages -= m.doneMessages;
    if (m.rows && m.doneBytes > 0) this.bytesPerRow = 0.8 * this.bytesPerRow + 0.2 * (m.doneBytes / m.rows.rows);
    this.workerCounts = m.counts;
    if (m.rows) this.queue.push([m.rows]);
    for (const { id, reason } of m.failed) {
      const stream = this.streams.get(id);
      this.streams.delete(id);
      stream?.fail(reason);
    }
    if (m.rejection) this.logRejection(m.rejection);
    this.releaseIfShallow();
  }

  /**
   * The worker died: what it had in hand is lost (counted in messages); its counters are kept, and
   * the next message starts another: at once the first time, then, while each new one dies before
   * it answered, after 1, 2, 4 … 30 s (messages meanwhile are lost and counted).
   */
  private lost(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.counts.workerRestarts += 1;
    this.counts.messagesLost += this.inFlightMessages;
    this.inFlightMessages = 0;
    if (this.failures > 0) this.restartAt = Date.now() + Math.min(30_000, 1000 * 2 ** (this.failures - 1));
    this.failures += 1;
    const [a, b] = [this.lostCounts, this.workerCounts];
    this.lostCounts = { messages: a.messages + b.messages, entries: a.entries + b.entries, rejected: a.rejected + b.rejected, rollupOverflow: a.rollupOverflow + b.rollupOverflow };
    this.workerCounts = NO_COUNTS;
    this.inFlight = 0;
    this.answerAll();
    this.opts.log?.warn({ err: err.message, restartAt: new Date(Math.max(this.restartAt, Date.now())).toISOString() }, 'access-log worker stopped; another starts with the next message');
    this.releaseIfShallow();
  }

  private answerAll(): void {
    for (const answer of this.answers.values()) answer(undefined);
    this.answers.clear();
  }

  private logRejection(r: Rejection): void {
    const now = Date.now();
    if (now - this.lastRejection < 60_000) return;
    this.lastRejection = now;
    this.opts.log?.warn({ proxy: r.proxy, field: r.field, reason: r.reason }, 'access-log entry refused (further refusals this minute are only counted)');
  }
}

/**
 * The bytes in memory that can be transferred to the worker without a copy: grpc-js gives each
 * message larger than its 4 KiB pool threshold a buffer of its own (the message behind a 5-byte
 * frame header) and never touches it again. Smaller messages, or any view into memory shared
 * with others, are copied into a buffer of their own.
 */
function ownMemory(bytes: Uint8Array): Uint8Array {
  if (bytes.buffer instanceof ArrayBuffer && bytes.buffer.byteLength - bytes.byteLength <= FRAME_HEADER && bytes.byteLength > 4096) return bytes;
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}
const FRAME_HEADER = 5;

/** The offset just past the `n`th row of COPY text (a newline ends each row; COPY escapes those inside values). */
function endOfRow(bytes: Uint8Array, n: number): number {
  let at = -1;
  for (let i = 0; i < n; i++) at = bytes.indexOf(10, at + 1);
  return at + 1;
}
