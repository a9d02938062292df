/**
 * One state-of-the-world xDS stream (ADS, or a per-type service when `fixedType` is set): tracks each
 * type's subscription, nonces and versions, answers requests, and pushes snapshot changes.
 */
import { PUSH_ORDER, TYPE_URLS, type TypeUrl } from '../../protos/type-urls.ts';
import type { CachedResource } from '../cache/resource.ts';
import type { ChangedNames } from '../cache/snapshot-cache.ts';
import {
  isFullStateType,
  isInitialRequest,
  isNack,
  isStaleNonce,
  isWildcardRequest,
  type DiscoveryRequest,
} from './protocol.ts';
import { encodeDiscoveryResponse, versionOf } from './response.ts';
import { byName, indexOf, StreamBase } from './stream-base.ts';

export type { IgnoreReason, StreamObserver, StreamDeps as SotwStreamDeps } from './stream-base.ts';

interface TypeState {
  wildcard: boolean;
  names: Set<string>;
  everNamed: boolean;
  nonce: string;
  version: string;
  /**
   * What the client holds from us, by name: references into the shared cache. For full-state types
   * it is the shared index of the list sent (see `indexOf`), so it is replaced, never modified.
   */
  held: Map<string, CachedResource>;
  /** V4: the version the client rejected; not re-sent until it changes. */
  rejectedVersion?: string;
  /** O2: EDS names to send again because their cluster changed. */
  forced: Set<string>;
  /** The raw `resource_names` of the last request: a request repeating them changes no subscription. */
  namesKey?: Buffer;
}

/** Handles the requests of one SotW stream and the pushes the cache asks for. */
export class SotwStream extends StreamBase {
  private readonly types = new Map<TypeUrl, TypeState>();

  /** Handles one DiscoveryRequest. */
  onRequest(req: DiscoveryRequest): void {
    const typeUrl = this.admit(req, req.nameCount ?? req.resourceNames?.length ?? 0, 'resource_names');
    if (typeUrl) this.handle(typeUrl, req);
  }

  private handle(typeUrl: TypeUrl, req: DiscoveryRequest): void {
    const state = this.state(typeUrl);
    if (isStaleNonce(req, state.nonce)) return this.deps.observer.ignored(this.deps.streamId, 'stale_nonce', req.responseNonce);
    const initial = isInitialRequest(req);
    if (initial) state.held = new Map(); // after a reconnect or a reset, assume the client holds nothing of ours
    else if (isNack(req)) {
      state.rejectedVersion = state.version;
      this.deps.observer.nacked(this.deps.streamId, typeUrl, state.version, state.nonce, req.errorDetail?.message ?? '');
    } else {
      this.deps.observer.acked(this.deps.streamId, typeUrl, req.versionInfo ?? '', state.nonce);
    }
    // An ACK that repeats the subscription byte for byte changes nothing: its names are not even decoded.
    const same = !initial && req.namesKey !== undefined && state.namesKey?.equals(req.namesKey) === true;
    const added = same ? new Set<string>() : this.subscribe(state, typeUrl, req.resourceNames ?? []);
    state.namesKey = req.namesKey;
    if (initial && this.clientIsCurrent(typeUrl, state, req.versionInfo)) return;
    if (!initial && added.size === 0 && state.forced.size === 0) {
      // Changes are pushed as they are published, so a request that adds nothing needs no answer
      // (V6), except a full-state subscription that shrank; for other types an ACK costs its name
      // list, not a new look at everything subscribed.
      if (isFullStateType(typeUrl)) this.respond(typeUrl, {});
      return;
    }
    this.respond(typeUrl, { always: true, added, names: initial ? undefined : added });
  }

  /**
   * V7: a client reconnecting (empty nonce) with the content version we would send already holds
   * exactly that state, so it is not sent again; we note what it holds and answer the next change.
   */
  private clientIsCurrent(typeUrl: TypeUrl, state: TypeState, clientVersion: string | undefined): boolean {
    if (!clientVersion) return false;
    const current = this.subscribed(typeUrl, state);
    if (this.versionFor(typeUrl, current) !== clientVersion) return false;
    state.held = isFullStateType(typeUrl) ? indexOf(current) : new Map(current.map((r) => [r.name, r]));
    state.version = clientVersion;
    // Proxy status shows what it holds as accepted, as if we had just sent it and it had ACKed.
    const held = `held@${this.deps.streamId}`;
    this.deps.observer.sent(this.deps.streamId, typeUrl, clientVersion, held, current, [], this.deps.cache.current);
    this.deps.observer.acked(this.deps.streamId, typeUrl, clientVersion, held);
    return true;
  }

  /** S1/S2: a SotW request carries the whole subscription; returns the names it adds (S3). */
  private subscribe(state: TypeState, typeUrl: TypeUrl, names: string[]): Set<string> {
    const wildcard = isWildcardRequest(typeUrl, names, state.everNamed);
    const next = new Set(names.filter((n) => n !== '*').map((n) => this.intern(typeUrl, n)));
    const added = new Set([...next].filter((n) => !state.names.has(n)));
    if (wildcard && !state.wildcard) for (const r of this.visible(typeUrl)) added.add(r.name);
    if (names.length > 0) state.everNamed = true;
    const dropped = wildcard ? [] : [...state.names].filter((n) => !next.has(n));
    if (dropped.length) {
      const gone = new Set(dropped);
      state.held = new Map([...state.held].filter(([n]) => !gone.has(n)));
      this.deps.observer.forgotten(this.deps.streamId, typeUrl, dropped);
    }
    state.wildcard = wildcard;
    state.names = next;
    return added;
  }

  /** Pushes what changed in the cache, in push order (O1), then drops stale full-state resources last. */
  onSnapshot(changed: ChangedNames): void {
    if (this.closed || !this.proxy) return;
    for (const typeUrl of PUSH_ORDER) {
      const state = this.types.get(typeUrl);
      if (state && (changed.has(typeUrl) || state.forced.size > 0)) this.respond(typeUrl, { keepRemoved: true, names: changed.get(typeUrl) ?? [] });
    }
    // Listeners go before clusters: a cluster is dropped only once nothing routes to it.
    for (const typeUrl of [TYPE_URLS.listener, TYPE_URLS.cluster] as const) {
      if (this.types.has(typeUrl)) this.respond(typeUrl, {});
    }
  }

  /**
   * Answers for one type. Full-state types (LDS, CDS) always carry the whole subscription (G1). The
   * others carry what changed: with `names`, only those names (and forced ones) are looked at, so a
   * push or a new subscription costs what it touches, not everything subscribed.
   */
  private respond(typeUrl: TypeUrl, opts: { always?: boolean; added?: Set<string>; keepRemoved?: boolean; names?: Iterable<string> }): void {
    const state = this.state(typeUrl);
    const fullState = isFullStateType(typeUrl);
    let current: readonly CachedResource[];
    let toSend: readonly CachedResource[];
    if (fullState) {
      current = this.subscribed(typeUrl, state);
      if (opts.keepRemoved) current = this.keepRemoved(state, current);
      toSend = current;
    } else if (opts.names) {
      current = toSend = this.changedFor(typeUrl, state, opts.names, opts.added);
    } else {
      current = this.subscribed(typeUrl, state);
      toSend = current.filter((r) => state.held.get(r.name)?.version !== r.version || opts.added?.has(r.name) || state.forced.has(r.name));
    }
    const version = this.versionFor(typeUrl, current);
    if (!opts.always) {
      const unchanged = fullState ? version === state.version : toSend.length === 0;
      if (unchanged || version === state.rejectedVersion) return;
    } else if (!fullState && toSend.length === 0 && opts.names) return;
    if (typeUrl === TYPE_URLS.cluster) this.forceEndpointsOfChanged(state, toSend);
    const nonce = this.nextNonce();
    if (fullState) state.held = indexOf(current);
    else for (const r of toSend) state.held.set(r.name, r);
    state.nonce = nonce;
    state.version = version;
    state.forced.clear();
    this.deps.write(() => encodeDiscoveryResponse(version, typeUrl, toSend, nonce, this.deps.controlPlaneId));
    this.deps.observer.sent(this.deps.streamId, typeUrl, version, nonce, toSend, [], this.deps.cache.current);
  }

  /** O1 "make before break": a removed cluster or listener stays until the rest of the push is out. */
  private keepRemoved(state: TypeState, current: readonly CachedResource[]): readonly CachedResource[] {
    const present = indexOf(current);
    const kept = [...state.held.values()].filter((r) => !present.has(r.name) && this.wants(state, r.name));
    return kept.length ? [...current, ...kept].sort(byName) : current;
  }

  /** The resources among `names` (and forced ones) that the client wants and does not hold as they are now. */
  private changedFor(typeUrl: TypeUrl, state: TypeState, names: Iterable<string>, added?: Set<string>): CachedResource[] {
    const out: CachedResource[] = [];
    for (const name of new Set([...names, ...state.forced])) {
      if (!this.wants(state, name)) continue;
      const r = this.lookup(typeUrl, name);
      if (!r) state.held.delete(name); // gone: the client drops it with its cluster or listener
      else if (state.held.get(name)?.version !== r.version || added?.has(name) || state.forced.has(name)) out.push(r);
    }
    return out.sort(byName);
  }

  /** `version_info`: of the whole subscription for full-state types, of the type's snapshot otherwise (V1). */
  private versionFor(typeUrl: TypeUrl, current: readonly CachedResource[]): string {
    return isFullStateType(typeUrl) ? versionOf(current) : this.deps.cache.typeVersion(typeUrl);
  }

  /** O2: clusters that are new or changed in this CDS response get their EDS resource again. */
  private forceEndpointsOfChanged(clusters: TypeState, toSend: readonly CachedResource[]): void {
    const eds = this.types.get(TYPE_URLS.endpoint);
    if (!eds) return;
    for (const c of toSend) {
      if (c.edsName && clusters.held.get(c.name)?.version !== c.version && this.wants(eds, c.edsName)) eds.forced.add(c.edsName);
    }
  }

  private wants(state: TypeState, name: string): boolean {
    return state.wildcard || state.names.has(name);
  }

  private state(typeUrl: TypeUrl): TypeState {
    let s = this.types.get(typeUrl);
    if (!s) {
      s = { wildcard: false, names: new Set(), everNamed: false, nonce: '', version: '', held: new Map(), forced: new Set() };
      this.types.set(typeUrl, s);
    }
    return s;
  }
}
