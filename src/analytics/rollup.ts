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

/**
 * What a batch of cells adds to one edge's running totals (the Prometheus mesh metrics): plain
 * numbers, no histogram, so a batch crosses from the worker to the main thread cheaply.
 */
export interface EdgeDelta {
  reporter: RollupReporter;
  source: string;
  destination: string;
  /** Requests by status class: 2xx, 3xx, 4xx, 5xx, none. */
  requests: [number, number, number, number, number];
  bytesReceived: number;
  bytesSent: number;
  /** Sum and count of the measured durations. */
  durationMs: number;
  timed: number;
}

/** The edge cells of a batch as edge deltas. */
export function edgeDeltas(cells: readonly RollupCell[]): EdgeDelta[] {
  return cells
    .filter((c) => c.kind === 'edge')
    .map((c) => ({
      reporter: c.reporter,
      source: c.source,
      destination: c.destination,
      requests: [c.status2xx, c.status3xx, c.status4xx, c.status5xx, c.noStatus],
      bytesReceived: c.bytesReceived,
      bytesSent: c.bytesSent,
      durationMs: c.latency.sum,
      timed: c.latency.count,
    }));
}

/** The start of the bucket of `sizeMs` that holds `t`. */
export function bucketOf(t: Date | number, sizeMs: number): Date {
  const ms = typeof t === 'number' ? t : t.getTime();
  return new Date(Math.floor(ms / sizeMs) * sizeMs);
}

/**
 * One bucket's cells, nested so that counting a record builds no string id: destination →
 * reporting side → edges by caller and routes by name. A service's cell is not counted per
 * record: it is the sum of the service's edges (every request counts under exactly one edge of
 * its destination and side), made when the cells are taken. The destination and source strings
 * come from memoised lookups, so their hashes are computed once.
 */
interface SideCells {
  edge: Map<string, RollupCell>;
  route: Map<string, RollupCell>;
}
interface BucketCells {
  bucket: Date;
  byDestination: Map<string, { source?: SideCells; destination?: SideCells }>;
}

/** The class of a record's (effective) status: 0 when it has none, else 2 to 5 (the hundreds digit, 1xx counting as 2xx). */
function statusClass(r: AccessLogRecord): number {
  const s = effectiveStatus(r);
  return s === undefined ? 0 : s >= 500 ? 5 : s >= 400 ? 4 : s >= 300 ? 3 : 2;
}

/** Adds one record's request to counts, its status class already known. */
function countRecord(c: RollupCounts, r: AccessLogRecord, cls: number): void {
  c.requests += 1;
  if (cls === 2) c.status2xx += 1;
  else if (cls === 5) c.status5xx += 1;
  else if (cls === 4) c.status4xx += 1;
  else if (cls === 3) c.status3xx += 1;
  else c.noStatus += 1;
  c.bytesReceived += r.bytesReceived;
  c.bytesSent += r.bytesSent;
  if (r.durationMs !== undefined) c.latency.record(r.durationMs);
}

/**
 * Collects records into minute cells until the writer takes them. Bounded: at most `maxCells`
 * edge and route cells wait at once; a record that would open one more is left out of that
 * cell (and, for an edge, of its service's) and counted in `overflow`.
 */
export class RollupAccumulator {
  /** bucket ms → cells: the bucket's Date is made once per bucket, not per record. */
  private buckets = new Map<number, BucketCells>();
  private count = 0;
  private dropped = 0;

  constructor(private readonly maxCells = 100_000) {}

  /**
   * Counts a request to a service of the mesh (none without a destination) under its edge, and its
   * route when named, on the side of the proxy that logged it; its service counts it through the edge.
   */
  add(r: AccessLogRecord): void {
    const destination = r.destination;
    if (destination === undefined) return;
    const b = this.bucketCells(Math.floor(r.at.getTime() / MINUTE_MS) * MINUTE_MS);
    const reporter: RollupReporter = r.direction === 'outbound' ? 'source' : 'destination';
    const cells = this.sideCells(b, destination, reporter);
    const cls = statusClass(r);
    const source = r.source ?? '';
    this.countIn(cells.edge, source, r, cls, b.bucket, 'edge', reporter, source, destination, '');
    if (r.route !== undefined) this.countIn(cells.route, r.route, r, cls, b.bucket, 'route', reporter, '', destination, r.route);
  }

  /** The cells collected since the last take, each service's made from its edges (the writer merges them into the stored rows). */
  take(): RollupCell[] {
    const out: RollupCell[] = [];
    for (const { bucket, byDestination } of this.buckets.values()) {
      for (const [destination, sides] of byDestination) {
        for (const [reporter, cells] of [['source', sides.source], ['destination', sides.destination]] as const) {
          if (!cells) continue;
          if (cells.edge.size > 0) {
            const service: RollupCell = { bucket, kind: 'service', reporter, source: '', destination, route: '', ...emptyCounts() };
            for (const c of cells.edge.values()) {
              addCounts(service, c);
              out.push(c);
            }
            out.push(service);
          }
          for (const c of cells.route.values()) out.push(c);
        }
      }
    }
    this.buckets = new Map();
    this.count = 0;
    return out;
  }

  /**
   * Puts back cells a failed write took (merged with any collected since); beyond the bound they
   * are lost and counted. Service cells are skipped: they are made again from the edges.
   */
  restore(cells: readonly RollupCell[]): void {
    for (const c of cells) {
      if (c.kind === 'service') continue;
      const here = this.sideCells(this.bucketCells(c.bucket.getTime()), c.destination, c.reporter)[c.kind];
      const sub = c.kind === 'edge' ? c.source : c.route;
      const cell = here.get(sub);
      if (cell) addCounts(cell, c);
      else if (this.count < this.maxCells) {
        here.set(sub, c);
        this.count += 1;
      } else this.dropped += c.requests;
    }
  }

  /** Edge and route cells waiting now. */
  get size(): number {
    return this.count;
  }

  /** Record keys left uncounted because the accumulator was full. */
  get overflow(): number {
    return this.dropped;
  }

  private bucketCells(ms: number): BucketCells {
    let b = this.buckets.get(ms);
    if (!b) this.buckets.set(ms, (b = { bucket: new Date(ms), byDestination: new Map() }));
    return b;
  }

  private sideCells(b: BucketCells, destination: string, reporter: RollupReporter): SideCells {
    let sides = b.byDestination.get(destination);
    if (!sides) b.byDestination.set(destination, (sides = {}));
    return (sides[reporter] ??= { edge: new Map(), route: new Map() });
  }

  /** Counts `r` into the cell `sub` of a kind's map, opening it while there is room. */
  private countIn(cells: Map<string, RollupCell>, sub: string, r: AccessLogRecord, cls: number, bucket: Date, kind: RollupKind, reporter: RollupReporter, source: string, destination: string, route: string): void {
    let cell = cells.get(sub);
    if (!cell) {
      if (this.count >= this.maxCells) {
        this.dropped += 1;
        return;
      }
      cell = { bucket, kind, reporter, source, destination, route, ...emptyCounts() };
      cells.set(sub, cell);
      this.count += 1;
    }
    countRecord(cell, r, cls);
  }
}
