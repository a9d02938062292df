/**
 * Per-minute rollups of access-log records: request counts by status class, bytes and a latency
 * histogram per service, route and edge (caller → service), keyed also by the reporting side
 * (the caller's proxy or the destination's), so one request logged by both proxies is never
 * counted twice in one series. Pure: the ingestion adds records and takes the deltas to store.
 */
import type { RollupKind, RollupReporter } from '../registry/schema.ts';
import { effectiveStatus, type AccessLogRecord } from './access-log.ts';
import { LatencyHistogram } from './histogram.ts';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/** What one rollup row counts, apart from its time bucket. */
export interface RollupKey {
  kind: RollupKind;
  reporter: RollupReporter;
  /** Caller (`ns/name`), '' when unknown or not part of the key. */
  source: string;
  destination: string;
  route: string;
}

/** The counts of one key in one bucket. */
export interface RollupCounts {
  requests: number;
  status2xx: number;
  status3xx: number;
  status4xx: number;
  status5xx: number;
  noStatus: number;
  bytesReceived: number;
  bytesSent: number;
  latency: LatencyHistogram;
}

export interface RollupCell extends RollupKey, RollupCounts {
  bucket: Date;
}

/** An empty cell's counts. */
export function emptyCounts(): RollupCounts {
  return { requests: 0, status2xx: 0, status3xx: 0, status4xx: 0, status5xx: 0, noStatus: 0, bytesReceived: 0, bytesSent: 0, latency: new LatencyHistogram() };
}

/** Adds `b` into `a` (histograms merged exactly); returns `a`. */
export function addCounts<T extends RollupCounts>(a: T, b: RollupCounts): T {
  a.requests += b.requests;
  a.status2xx += b.status2xx;
  a.status3xx += b.status3xx;
  a.status4xx += b.status4xx;
  a.status5xx += b.status5xx;
  a.noStatus += b.noStatus;
  a.bytesReceived += b.bytesReceived;
  a.bytesSent += b.bytesSent;
  a.latency.merge(b.latency);
  return a;
}

/** The keys a record counts under: its destination service, its route, and its edge. None without a destination. */
export function keysOf(r: AccessLogRecord): RollupKey[] {
  if (r.destination === undefined) return [];
  const reporter: RollupReporter = r.direction === 'outbound' ? 'source' : 'destination';
  const keys: RollupKey[] = [
    { kind: 'service', reporter, source: '', destination: r.destination, route: '' },
    { kind: 'edge', reporter, source: r.source ?? '', destination: r.destination, route: '' },
  ];
  if (r.route !== undefined) keys.push({ kind: 'route', reporter, source: '', destination: r.destination, route: r.route });
  return keys;
}

/** The start of the bucket of `sizeMs` that holds `t`. */
export function bucketOf(t: Date | number, sizeMs: number): Date {
  const ms = typeof t === 'number' ? t : t.getTime();
  return new Date(Math.floor(ms / sizeMs) * sizeMs);
}

const cellId = (bucket: number, k: RollupKey) => `${bucket}\u0000${k.kind}\u0000${k.reporter}\u0000${k.source}\u0000${k.destination}\u0000${k.route}`;

/** Adds one record's request to counts. */
function countRecord(c: RollupCounts, r: AccessLogRecord): void {
  c.requests += 1;
  const s = effectiveStatus(r);
  if (s === undefined) c.noStatus += 1;
  else if (s >= 500) c.status5xx += 1;
  else if (s >= 400) c.status4xx += 1;
  else if (s >= 300) c.status3xx += 1;
  else c.status2xx += 1;
  c.bytesReceived += r.bytesReceived;
  c.bytesSent += r.bytesSent;
  if (r.durationMs !== undefined) c.latency.record(r.durationMs);
}

/**
 * Collects records into minute cells until the writer takes them. Bounded: at most `maxCells`
 * cells wait at once; records that would open one more are counted in `overflow`, not kept.
 */
export class RollupAccumulator {
  private cells = new Map<string, RollupCell>();
  private dropped = 0;

  constructor(private readonly maxCells = 100_000) {}

  /** Counts a record under each of its keys. */
  add(r: AccessLogRecord): void {
    const bucket = bucketOf(r.at, MINUTE_MS);
    for (const key of keysOf(r)) {
      const id = cellId(bucket.getTime(), key);
      let cell = this.cells.get(id);
      if (!cell) {
        if (this.cells.size >= this.maxCells) {
          this.dropped += 1;
          continue;
        }
        cell = { bucket, ...key, ...emptyCounts() };
        this.cells.set(id, cell);
      }
      countRecord(cell, r);
    }
  }

  /** The cells collected since the last take (the writer merges them into the stored rows). */
  take(): RollupCell[] {
    const out = [...this.cells.values()];
    this.cells = new Map();
    return out;
  }

  /** Puts back cells a failed write took (merged with any collected since); beyond the bound they are lost and counted. */
  restore(cells: readonly RollupCell[]): void {
    for (const c of cells) {
      const id = cellId(c.bucket.getTime(), c);
      const here = this.cells.get(id);
      if (here) addCounts(here, c);
      else if (this.cells.size < this.maxCells) this.cells.set(id, c);
      else this.dropped += c.requests;
    }
  }

  /** Cells waiting now. */
  get size(): number {
    return this.cells.size;
  }

  /** Record keys left uncounted because the accumulator was full. */
  get overflow(): number {
    return this.dropped;
  }
}
