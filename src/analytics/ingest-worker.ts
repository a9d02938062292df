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
import { AccessLogBatcher, type BatcherCounts, type Rejection, type RollupBatch } from './access-log-batcher.ts';

export type ToWorker =
  | { t: 'open'; id: number; from: TelemetrySource }
  | { t: 'close'; id: number }
  | { t: 'logs'; id: number; bytes: Uint8Array }
  | { t: 'take-rollups'; req: number }
  /** How the write of the rollups last taken went: not stored, they are counted again. */
  | { t: 'rollups-stored'; stored: boolean }
  | { t: 'sync'; req: number };

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
  /** The rollup cells taken, as statements' columns (strings) and edge deltas (numbers): cheap to read for the main thread. */
  | ({ t: 'rollups'; req: number } & RollupBatch)
  | { t: 'synced'; req: number };

/** Options the main thread starts the worker with. */
export interface WorkerOptions {
  /** Rows after which a chunk is sent without waiting for the end of the turn. */
  chunkRows: number;
  maxRollupCells?: number;
}

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
    case 'take-rollups':
      return port.postMessage({ t: 'rollups', req: m.req, ...batcher.takeRollups() } satisfies FromWorker);
    case 'rollups-stored':
      return batcher.rollupsStored(m.stored);
    case 'sync':
      send();
      return port.postMessage({ t: 'synced', req: m.req } satisfies FromWorker);
  }
});

