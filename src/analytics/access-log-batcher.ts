/**
 * The part of access-log ingestion that needs no database and no gRPC: a stream's raw messages
 * decoded, their entries made into records, counted into minute rollups and written as COPY text
 * rows for the raw table. It runs in the ingestion worker (ingest-worker.ts), on a thread and heap
 * of its own, so the event loop that serves xDS only moves bytes.
 */
import type { TelemetrySource } from '../xds/server/telemetry-service.ts';
import { issuesText } from '../lib/result.ts';
import { decodeAccessLogsForIngest } from '../protos/telemetry.ts';
import { accessLogCopyLine } from '../registry/access-logs.ts';
import { rollupColumns, type RollupColumns } from '../registry/rollups.ts';
import { httpRecordOf, tcpRecordOf } from './access-log.ts';
import { edgeDeltas, RollupAccumulator, type EdgeDelta, type RollupCell } from './rollup.ts';

/** An entry refused as invalid: the first field at fault. */
export interface Rejection {
  proxy: string;
  field: string;
  reason: string;
}

/** Counters of the batcher's work, cumulative. */
export interface BatcherCounts {
  messages: number;
  entries: number;
  /** Entries refused as invalid (absurd time, missing fields). */
  rejected: number;
  /** Rollup keys not counted because the accumulator was full. */
  rollupOverflow: number;
}

/** Rollup cells taken to be stored: the merge statements' columns, and what they add to each edge's mesh metrics. */
export interface RollupBatch {
  cells: number;
  columns: RollupColumns[];
  edges: EdgeDelta[];
}

export class AccessLogBatcher {
  /** The open streams' sources, by the id the ingestion gave them; a stream whose message could not be decoded is no longer here. */
  private readonly streams = new Map<number, TelemetrySource>();
  /** The COPY rows made since the last take, UTF-8, `used` bytes of `buffer`. */
  private buffer = new Uint8Array(MIN_BUFFER);
  private used = 0;
  private count = 0;
  private readonly counts = { messages: 0, entries: 0, rejected: 0 };
  private rejection: Rejection | undefined;
  readonly rollups: RollupAccumulator;
  /** The cells of the last take, until `rollupsStored` says how their write went. */
  private pending: RollupCell[] = [];

  constructor(maxRollupCells?: number) {
    this.rollups = new RollupAccumulator(maxRollupCells);
  }

  open(id: number, from: TelemetrySource): void {
    this.streams.set(id, from);
  }

  close(id: number): void {
    this.streams.delete(id);
  }

  /**
   * Takes one StreamAccessLogsMessage of stream `id`: its valid entries become rows and are counted
   * into the rollups, invalid ones are counted (the first kept for the log). Returns the reason when
   * the message cannot be decoded: the stream is closed and its later messages are ignored. A message
   * of a stream that is not open is ignored.
   */
  add(id: number, bytes: Uint8Array, now = new Date()): string | undefined {
    const from = this.streams.get(id);
    if (!from) return undefined;
    const message = decodeAccessLogsForIngest(bytes);
    if (!message.ok) {
      this.streams.delete(id);
      return issuesText(message.issues);
    }
    this.counts.messages += 1;
    const http = message.value.httpLogs?.logEntry ?? [];
    const tcp = message.value.tcpLogs?.logEntry ?? [];
    this.counts.entries += http.length + tcp.length;
    for (const [entries, recordOf] of [
      [http, httpRecordOf],
      [tcp, tcpRecordOf],
    ] as const) {
      for (const entry of entries) {
        const r = recordOf(entry, from, now);
        if (!r.ok) {
          this.counts.rejected += 1;
          this.rejection ??= { proxy: from.proxyId, field: r.issues[0]!.path, reason: r.issues[0]!.message };
          continue;
        }
        this.rollups.add(r.value);
        this.append(accessLogCopyLine(r.value));
        this.count += 1;
      }
    }
    return undefined;
  }

  /** Rows made since the last take. */
  get rows(): number {
    return this.count;
  }

  /**
   * The rows made since the last take as COPY text (UTF-8, one row per line), in a buffer no one
   * else holds (it can be transferred), or undefined when there are none.
   */
  takeRows(): { bytes: Uint8Array; rows: number } | undefined {
    if (this.count === 0) return undefined;
    const out = { bytes: this.buffer.subarray(0, this.used), rows: this.count };
    this.buffer = new Uint8Array(Math.max(MIN_BUFFER, Math.ceil(this.used * 1.25)));
    this.used = 0;
    this.count = 0;
    return out;
  }

  /**
   * Encodes a line straight into the buffer: 0.6 µs a row with making the line, against 2.6 µs for
   * adding lines to a string and encoding it whole (a scratch loop of 2,000 rows of ~250 bytes).
   */
  private append(line: string): void {
    const room = line.length * 3; // UTF-8 takes at most 3 bytes per UTF-16 unit
    if (this.buffer.length - this.used < room) {
      const bigger = new Uint8Array(Math.max(this.buffer.length * 2, this.used + room));
      bigger.set(this.buffer.subarray(0, this.used));
      this.buffer = bigger;
    }
    this.used += encoder.encodeInto(line, this.buffer.subarray(this.used)).written;
  }

  /**
   * The rollup cells counted since the last take, ready to store (the writing thread only passes
   * strings on). They are kept until `rollupsStored` tells how the write went; takes and answers
   * alternate.
   */
  takeRollups(): RollupBatch {
    const cells = this.rollups.take();
    this.pending = cells;
    return { cells: cells.length, columns: rollupColumns(cells), edges: edgeDeltas(cells) };
  }

  /** The last take's cells were stored, or not: then they are counted again with those collected since (within the accumulator's bound). */
  rollupsStored(stored: boolean): void {
    if (!stored) this.rollups.restore(this.pending);
    this.pending = [];
  }

  /** The first entry refused since the last take. */
  takeRejection(): Rejection | undefined {
    const r = this.rejection;
    this.rejection = undefined;
    return r;
  }

  get stats(): BatcherCounts {
    return { ...this.counts, rollupOverflow: this.rollups.overflow };
  }
}

const encoder = new TextEncoder();
/** Bytes a chunk's buffer starts with (a message of 100 Envoy entries makes ~25 KB of rows). */
const MIN_BUFFER = 64 * 1024;
