/**
 * Simulated proxies for the load generator: each one ADS stream that behaves like Envoy on CDS and
 * EDS (wildcard CDS, then EDS for the EDS service name of every cluster it holds, an ACK for every
 * response; SotW ACKs carry the whole name list, as Envoy's do). They record when they first held a
 * full config, and when they ACKed the response that carried a watched change.
 */
import type * as grpc from '@grpc/grpc-js';
import { messageType } from '../../src/protos/loader.ts';
import { now } from './ipc.ts';
import { TYPE_URLS } from '../../src/protos/type-urls.ts';
import {
  anyValue,
  clusterInfo,
  encodeDeltaRequest,
  encodeSotwRequest,
  loadAssignmentName,
  parseDeltaResponse,
  parseSotwResponse,
  repeatedStrings,
  type Span,
} from './wire.ts';

export const CDS = TYPE_URLS.cluster;
export const EDS = TYPE_URLS.endpoint;

/** A change the run waits for: an endpoint's new weight in a load assignment, or a new cluster and its load assignment. */
export type Watch = { id: number; kind: 'endpoint'; edsName: string; weight: number } | { id: number; kind: 'service'; cluster: string };

/** What one proxy did between arming a watch and converging (or the cold start). */
export interface Window {
  /** When the proxy ACKed the response that completed it (epoch ms), NaN while not done. */
  doneAt: number;
  /** Sizes of the responses it received in the window, and the bytes of requests it sent in reply to each (its ACK and any new subscription). */
  received: number[];
  replied: number[];
}

/** A cluster list as a SotW CDS response carried it, parsed once per version and shared by every proxy. */
interface CdsView {
  names: Set<string>;
  edsOf: Map<string, string>;
  edsNames: string[];
  /** `resource_names` of the EDS request that subscribes to `edsNames`. */
  namesBlock: Buffer;
}

/** State shared by every proxy of a load generator: parse caches, the active watch, the callbacks. */
export class Fleet {
  watch: Watch | undefined;
  private readonly cdsViews = new Map<string, CdsView>();
  private readonly deltaClusters = new Map<string, string | null>();
  private readonly weightChecks = new Map<string, boolean>();
  private readonly cla = messageType('envoy.config.endpoint.v3.ClusterLoadAssignment');

  constructor(
    readonly expectedClusters: number,
    readonly onFull: (p: SimProxy) => void,
    readonly onConverged: (p: SimProxy) => void,
  ) {}

  /** The SotW cluster view of a CDS response (by its version: the same content for every proxy). */
  cdsView(buf: Buffer, version: string, resources: Span[]): CdsView {
    let view = this.cdsViews.get(version);
    if (!view) {
      const names = new Set<string>();
      const edsOf = new Map<string, string>();
      for (const any of resources) {
        const c = clusterInfo(buf, anyValue(buf, any));
        names.add(c.name);
        if (c.edsName) edsOf.set(c.name, c.edsName);
      }
      const edsNames = [...edsOf.values()].sort();
      view = { names, edsOf, edsNames, namesBlock: repeatedStrings(3, edsNames) };
      this.cdsViews.set(version, view);
    }
    return view;
  }

  /** The EDS service name of a Delta cluster resource (by name and version), or null for a non-EDS cluster. */
  deltaCluster(buf: Buffer, name: string, version: string, any: Span): string | null {
    const key = `${name}\0${version}`;
    let eds = this.deltaClusters.get(key);
    if (eds === undefined) {
      eds = clusterInfo(buf, anyValue(buf, any)).edsName ?? null;
      this.deltaClusters.set(key, eds);
    }
    return eds;
  }

  /** True when the load assignment in `any` has an endpoint of `weight` (decoded once per distinct content). */
  hasWeight(buf: Buffer, any: Span, weight: number): boolean {
    const value = anyValue(buf, any);
    const key = `${weight}|${buf.toString('latin1', value.start, value.end)}`;
    let hit = this.weightChecks.get(key);
    if (hit === undefined) {
      const msg = this.cla.toObject(this.cla.decode(buf.subarray(value.start, value.end))) as {
        endpoints?: { lbEndpoints?: { loadBalancingWeight?: { value?: number } }[] }[];
      };
      hit = (msg.endpoints ?? []).some((l) => (l.lbEndpoints ?? []).some((e) => e.loadBalancingWeight?.value === weight));
      this.weightChecks.set(key, hit);
    }
    return hit;
  }
}

/** One simulated proxy on one ADS stream. */
export abstract class SimProxy {
  /** The cold start window, then one per armed watch. */
  cold: Window = { doneAt: NaN, received: [], replied: [] };
  current: Window | undefined;
  private watchId = -1;
  /** For a 'service' watch: when the new cluster was ACKed, and its EDS name. */
  private cdsAckedAt = NaN;
  private watchedEds: string | undefined;
  received = 0;
  receivedBytes = 0;

  constructor(
    readonly index: number,
    protected readonly fleet: Fleet,
    protected readonly call: grpc.ClientDuplexStream<Buffer, Buffer>,
    protected readonly node: Uint8Array,
  ) {
    call.on('data', (buf: Buffer) => this.onData(buf));
    call.on('error', () => {});
  }

  abstract readonly variant: 'sotw' | 'delta';
  abstract start(): void;
  protected abstract onResponse(buf: Buffer): void;

  /** Starts a new window for `watch`. */
  arm(watch: Watch): void {
    this.watchId = watch.id;
    this.current = { doneAt: NaN, received: [], replied: [] };
    this.cdsAckedAt = NaN;
    this.watchedEds = undefined;
  }

  private replyBytes = 0;

  private onData(buf: Buffer): void {
    this.received++;
    this.receivedBytes += buf.length;
    const window = this.windowOf();
    this.replyBytes = 0;
    this.onResponse(buf);
    window?.received.push(buf.length);
    window?.replied.push(this.replyBytes);
  }

  private windowOf(): Window | undefined {
    if (Number.isNaN(this.cold.doneAt)) return this.cold;
    return this.current && Number.isNaN(this.current.doneAt) ? this.current : undefined;
  }

  protected send(bytes: Buffer): void {
    this.replyBytes += bytes.length;
    this.call.write(bytes);
  }

  /** Called after the proxy ACKed a CDS response holding `clusters` (name → EDS name). */
  protected ackedClusters(has: (cluster: string) => string | null | undefined): void {
    const w = this.fleet.watch;
    if (w?.kind !== 'service' || w.id !== this.watchId || !this.pending()) return;
    const eds = has(w.cluster);
    if (eds === undefined) return;
    this.cdsAckedAt = now();
    if (eds === null) this.converge(this.cdsAckedAt);
    else this.watchedEds = eds;
  }

  /** Called after the proxy ACKed an EDS response; `contains(name)` gives the resource span of `name` in it. */
  protected ackedEndpoints(buf: Buffer, find: (name: string) => Span | undefined): void {
    const w = this.fleet.watch;
    if (!w || w.id !== this.watchId || !this.pending()) return;
    if (w.kind === 'endpoint') {
      const any = find(w.edsName);
      if (any && this.fleet.hasWeight(buf, any, w.weight)) this.converge(now());
    } else if (this.watchedEds !== undefined && find(this.watchedEds)) {
      this.converge(now());
    }
  }

  private pending(): boolean {
    return this.current !== undefined && Number.isNaN(this.current.doneAt);
  }

  private converge(at: number): void {
    this.current!.doneAt = at;
    this.fleet.onConverged(this);
  }

  /** Marks the cold start done once the proxy holds every cluster and the load assignment of each EDS cluster. */
  protected checkFull(clusterCount: number, edsNames: Iterable<string>, held: Set<string>, edsCount: number): void {
    if (!Number.isNaN(this.cold.doneAt) || clusterCount < this.fleet.expectedClusters || held.size < edsCount) return;
    for (const n of edsNames) if (!held.has(n)) return;
    this.cold.doneAt = now();
    this.fleet.onFull(this);
  }
}

/** A state-of-the-world ADS proxy. */
export class SotwProxy extends SimProxy {
  readonly variant = 'sotw';
  private clusters: CdsView | undefined;
  private subscribed: CdsView | undefined;
  private edsVersion = '';
  private edsNonce = '';
  private readonly edsHeld = new Set<string>();

  start(): void {
    this.send(encodeSotwRequest({ version: '', node: this.node, typeUrl: CDS, nonce: '' }));
  }

  protected onResponse(buf: Buffer): void {
    const r = parseSotwResponse(buf);
    if (r.typeUrl === CDS) {
      const view = this.fleet.cdsView(buf, r.version, r.resources);
      this.clusters = view;
      this.send(encodeSotwRequest({ version: r.version, typeUrl: CDS, nonce: r.nonce }));
      this.ackedClusters((c) => (view.names.has(c) ? (view.edsOf.get(c) ?? null) : undefined));
      if (this.subscribed?.namesBlock.equals(view.namesBlock) !== true) {
        this.subscribed = view;
        this.send(encodeSotwRequest({ version: this.edsVersion, names: view.namesBlock, typeUrl: EDS, nonce: this.edsNonce }));
      }
    } else if (r.typeUrl === EDS) {
      const spans = new Map<string, Span>();
      for (const any of r.resources) {
        const name = loadAssignmentName(buf, anyValue(buf, any));
        spans.set(name, any);
        this.edsHeld.add(name);
      }
      this.edsVersion = r.version;
      this.edsNonce = r.nonce;
      this.send(encodeSotwRequest({ version: r.version, names: this.subscribed?.namesBlock, typeUrl: EDS, nonce: r.nonce }));
      this.ackedEndpoints(buf, (n) => spans.get(n));
      if (this.clusters) this.checkFull(this.clusters.names.size, this.clusters.edsNames, this.edsHeld, this.clusters.edsNames.length);
    }
  }
}

/** An incremental (Delta) ADS proxy. */
export class DeltaProxy extends SimProxy {
  readonly variant = 'delta';
  /** Cluster name → EDS service name (null for a non-EDS cluster). */
  private readonly clusters = new Map<string, string | null>();
  private readonly subscribed = new Set<string>();
  private readonly edsHeld = new Set<string>();

  start(): void {
    this.send(encodeDeltaRequest({ node: this.node, typeUrl: CDS }));
  }

  protected onResponse(buf: Buffer): void {
    const r = parseDeltaResponse(buf);
    if (r.typeUrl === CDS) {
      for (const res of r.resources) this.clusters.set(res.name, this.fleet.deltaCluster(buf, res.name, res.version, res.any));
      for (const name of r.removed) this.clusters.delete(name);
      this.send(encodeDeltaRequest({ typeUrl: CDS, nonce: r.nonce }));
      this.ackedClusters((c) => (r.resources.some((x) => x.name === c) ? this.clusters.get(c) : undefined));
      this.resubscribe();
    } else if (r.typeUrl === EDS) {
      const spans = new Map<string, Span>();
      for (const res of r.resources) {
        spans.set(res.name, res.any);
        this.edsHeld.add(res.name);
      }
      for (const name of r.removed) this.edsHeld.delete(name);
      this.send(encodeDeltaRequest({ typeUrl: EDS, nonce: r.nonce }));
      this.ackedEndpoints(buf, (n) => spans.get(n));
      this.checkFull(this.clusters.size, this.subscribed, this.edsHeld, this.subscribed.size);
    }
  }

  /** Subscribes to the EDS names of new clusters and drops those of removed ones. */
  private resubscribe(): void {
    const wanted = new Set<string>();
    for (const eds of this.clusters.values()) if (eds) wanted.add(eds);
    const subscribe = [...wanted].filter((n) => !this.subscribed.has(n));
    const unsubscribe = [...this.subscribed].filter((n) => !wanted.has(n));
    if (subscribe.length === 0 && unsubscribe.length === 0) return;
    for (const n of subscribe) this.subscribed.add(n);
    for (const n of unsubscribe) this.subscribed.delete(n);
    this.send(encodeDeltaRequest({ typeUrl: EDS, subscribe, unsubscribe }));
  }
}
