/**
 * The ingestion worker: a thread of its own that turns access-log messages into COPY rows and
 * rollup cells (AccessLogBatcher), so decoding, the records and their garbage stay off the event
 * loop that serves xDS. The main thread (ingest.ts) posts raw messages in; rows come back as
 * transferred buffers, with the bytes taken, the counters and any stream whose message was
 * undecodable. Posted messages are handled in order, so an answer to `take-rollups` or `sync`
 * covers every message posted before it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { TelemetrySource } from '../xds/server/telemetry-service.ts';
import type { HistogramJSON } from './histogram.ts';
import { AccessLogBatcher, type BatcherCounts, type Rejection } from './access-log-batcher.ts';
import type { RollupCell } from './rollup.ts';

export type ToWorker =
  | { t: 'open'; id: number; from: TelemetrySource }
  | { t: 'close'; id: number }
  | { t: 'logs'; id: number; bytes: Uint8Array }
  | { t: 'take-rollups'; req: number }
  | { t: 'sync'; req: number };

/** A rollup cell with its histogram in stored form (a class instance does not cross threads). */
export type PostedCell = Omit<RollupCell, 'latency'> & { latency: HistogramJSON };

export type FromWorker =
  | {
      t: 'out';
      /** COPY rows made, if any. */
      rows?: { bytes: Uint8Array; rows: number };
      /** Posted messages, and their bytes, handled since the last `out`. */
      doneMessages: number;
      doneBytes: number;
      counts: BatcherCounts;
      /** Streams whose message could not be decoded, with the reason. */
      failed: { id: number; reason: string }[];
      rejection?: Rejection;
    }
  /** The cells taken, in slices: each a message of its own, so the main thread reads them in short turns; `last` ends the answer. */
  | { t: 'rollups'; req: number; cells: PostedCell[]; last: boolean }
  | { t: 'synced'; req: number };

/** Options the main thread starts the worker with. */
export interface WorkerOptions {
  /** Rows after which a chunk is sent without waiting for the end of the turn. */
  chunkRows: number;
  maxRollupCells?: number;
}

/** Rollup cells a message carries: a few thousand at once took the main thread ~50 ms to read. */
const ROLLUP_SLICE = 200;

const port = parentPort!;
const opts = workerData.options as WorkerOptions;
const batcher = new AccessLogBatcher(opts.maxRollupCells);
let doneMessages = 0;
let doneBytes = 0;
let failed: { id: number; reason: string }[] = [];
let scheduled = false;

/** Sends what was made: at the end of a turn (the messages that came together go out as one chunk), or at once when the chunk is full. */
function send(): void {
  scheduled = false;
  const rows = batcher.takeRows();
  const out: FromWorker = { t: 'out', doneMessages, doneBytes, counts: batcher.stats, failed, ...(rows ? { rows } : {}) };
  const rejection = batcher.takeRejection();
  if (rejection) out.rejection = rejection;
  doneMessages = 0;
  doneBytes = 0;
  failed = [];
  port.postMessage(out, rows ? [rows.bytes.buffer as ArrayBuffer] : []);
}

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'open':
      return batcher.open(m.id, m.from);
    case 'close':
      return batcher.close(m.id);
    case 'logs': {
      // As a Buffer (a view, no copy): protobufjs then reads strings with Node's native UTF-8 decoder, not its own JavaScript one.
      const reason = batcher.add(m.id, Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength));
      if (reason !== undefined) failed.push({ id: m.id, reason });
      doneMessages += 1;
      doneBytes += m.bytes.byteLength;
      if (batcher.rows >= opts.chunkRows) send();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(send);
      }
      return;
    }
    case 'take-rollups': {
      const cells = batcher.rollups.take();
      for (let i = 0; i === 0 || i < cells.length; i += ROLLUP_SLICE) {
        const slice = cells.slice(i, i + ROLLUP_SLICE).map((c) => ({ ...c, latency: c.latency.toJSON() }));
        port.postMessage({ t: 'rollups', req: m.req, cells: slice, last: i + ROLLUP_SLICE >= cells.length } satisfies FromWorker);
      }
      return;
    }
    case 'sync':
      send();
      return port.postMessage({ t: 'synced', req: m.req } satisfies FromWorker);
  }
});

