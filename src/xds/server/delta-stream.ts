/**
 * One incremental (Delta) xDS stream: subscriptions change by subscribe/unsubscribe, resources are
 * sent only when the client does not hold their version, and deletions go in `removed_resources`.
 */
import { PUSH_ORDER, TYPE_URLS, type TypeUrl } from '../../protos/type-urls.ts';
import type { CachedResource } from '../cache/resource.ts';
import type { ChangedNames } from '../cache/snapshot-cache.ts';
import { isFullStateType, isNack, supportsWildcard, type DeltaDiscoveryRequest } from './protocol.ts';
import { encodeDeltaDiscoveryResponse } from './response.ts';
import { byName, indexOf, StreamBase } from './stream-base.ts';

interface TypeState {
  started: boolean;
  wildcard: boolean;
  names: Set<string>;
  /** Name → version the client holds: its `initial_resource_versions`, then what we sent and it did not reject. */
  held: Map<string, string>;
  /** V4: name → version the client rejected; not sent again until it changes. */
  rejected: Map<string, string>;
  /** Responses not yet ACKed or NACKed: nonce → what they carried (name → version) and their system version. */
  inflight: Map<string, { sent: Map<string, string>; version: string }>;
  /** Names to send even though the client holds their version (O2, S5). */
  forced: Set<string>;
  /** G2/S3: newly subscribed names to answer in `removed_resources` if they do not exist. */
  answerMissing: Set<string>;
}

/** Responses kept for ACK/NACK matching; a client never has more than a few in flight. */
const MAX_INFLIGHT = 32;

/** Handles the requests of one Delta stream and the pushes the cache asks for. */
export class DeltaStream extends StreamBase {
  private readonly types = new Map<TypeUrl, TypeState>();

  /** Handles one DeltaDiscoveryRequest. */
  onRequest(req: DeltaDiscoveryRequest): void {
    const subscribe = req.resourceNamesSubscribe ?? [];
    const unsubscribe = req.resourceNamesUnsubscribe ?? [];
    const initial = req.initialResourceVersions ?? {};
    const count = subscribe.length + unsubscribe.length + Object.keys(initial).length;
    const typeUrl = this.admit(req, count, 'resource_names_subscribe');
    if (!typeUrl) return;
    const state = this.state(typeUrl);
    if (req.responseNonce) this.settle(typeUrl, state, req);
    const first = !state.started;
    if (first) {
      state.started = true;
      // G3: a reconnecting client says what it holds; only what differs is sent.
      for (const [name, version] of Object.entries(initial)) state.held.set(name, version);
      // S2: the legacy wildcard, a first request that names nothing.
      if (supportsWildcard(typeUrl) && subscribe.length === 0) state.wildcard = true;
    }
    const wasWildcard = state.wildcard && !first;
    const touched = this.subscribe(typeUrl, state, subscribe);
    this.unsubscribe(typeUrl, state, unsubscribe);
    // A request that starts the type or turns the wildcard on looks at everything; others only at
    // the names they touch, so an ACK costs nothing more (changes are pushed as they are published).
    const full = first || (state.wildcard && !wasWildcard);
    if (!full && touched.size === 0 && state.forced.size === 0) return;
    // G4: the first request of a wildcard subscription is answered even when there is nothing to send.
    this.respond(typeUrl, { always: first && state.wildcard, names: full ? undefined : touched });
  }

  /** V2/V3: an ACK or NACK of one of our responses; a NACK's resources are not re-sent as they were (V4). */
  private settle(typeUrl: TypeUrl, state: TypeState, req: DeltaDiscoveryRequest): void {
    const nonce = req.responseNonce!;
    const response = state.inflight.get(nonce);
    if (!response) return this.deps.observer.ignored(this.deps.streamId, 'stale_nonce', nonce);
    state.inflight.delete(nonce);
    if (!isNack(req)) return this.deps.observer.acked(this.deps.streamId, typeUrl, response.version, nonce);
    for (const [name, version] of response.sent) {
      state.rejected.set(name, version);
      state.held.delete(name); // it kept whatever it had before; we no longer know which version
    }
    this.deps.observer.nacked(this.deps.streamId, typeUrl, response.version, nonce, req.errorDetail?.message ?? '');
  }

  /** S1/S2/S3: subscriptions are added; `*` turns the wildcard on. Returns the names added. */
  private subscribe(typeUrl: TypeUrl, state: TypeState, names: string[]): Set<string> {
    const added = new Set<string>();
    for (const name of names) {
      if (name === '*') {
        if (supportsWildcard(typeUrl)) state.wildcard = true;
        continue;
      }
      if (!state.names.has(name)) {
        state.answerMissing.add(name);
        added.add(name);
      }
      state.names.add(this.intern(typeUrl, name));
    }
    return added;
  }

  /** S5: unsubscribing an unknown name does nothing; a name still covered by the wildcard is sent again. */
  private unsubscribe(typeUrl: TypeUrl, state: TypeState, names: string[]): void {
    const forgotten: string[] = [];
    const forget = (name: string) => state.held.delete(name) && forgotten.push(name); // the client forgets it by itself
    for (const name of names) {
      if (name === '*') {
        state.wildcard = false;
        for (const held of [...state.held.keys()]) if (!state.names.has(held)) forget(held);
        continue;
      }
      if (!state.names.delete(name)) continue;
      state.answerMissing.delete(name);
      if (state.wildcard && this.lookup(typeUrl, name)) state.forced.add(name);
      else if (!state.wildcard) forget(name);
    }
    if (forgotten.length) this.deps.observer.forgotten(this.deps.streamId, typeUrl, forgotten);
  }

  /** Pushes what changed, in push order (O1); removals of clusters and listeners go last, listeners first. */
  onSnapshot(changed: ChangedNames): void {
    if (this.closed || !this.proxy) return;
    for (const typeUrl of PUSH_ORDER) {
      const state = this.types.get(typeUrl);
      const names = changed.get(typeUrl) ?? [];
      if (state && (changed.has(typeUrl) || state.forced.size > 0)) this.respond(typeUrl, { deferRemovals: isFullStateType(typeUrl), names });
    }
    for (const typeUrl of [TYPE_URLS.listener, TYPE_URLS.cluster] as const) {
      const names = changed.get(typeUrl);
      if (names && this.types.has(typeUrl)) this.respond(typeUrl, { names });
    }
  }

  /**
   * Sends what the client lacks: with `names`, only those names (and forced or newly subscribed ones)
   * are looked at, so a push costs each stream what changed; without, the whole subscription.
   */
  private respond(typeUrl: TypeUrl, opts: { always?: boolean; deferRemovals?: boolean; names?: Iterable<string> }): void {
    const state = this.state(typeUrl);
    const { toSend, removed } = opts.names ? this.diffNames(typeUrl, state, opts.names, !opts.deferRemovals) : this.diffAll(typeUrl, state, !opts.deferRemovals);
    if (!opts.always && toSend.length === 0 && removed.length === 0) return;
    if (typeUrl === TYPE_URLS.cluster) this.forceEndpointsOfChanged(state, toSend);
    const nonce = this.nextNonce();
    const version = this.deps.cache.typeVersion(typeUrl);
    const sent = new Map(toSend.map((r) => [r.name, r.version]));
    for (const [name, v] of sent) state.held.set(name, v);
    for (const name of removed) state.held.delete(name);
    state.forced.clear();
    if (!opts.deferRemovals) state.answerMissing.clear();
    state.inflight.set(nonce, { sent, version });
    if (state.inflight.size > MAX_INFLIGHT) state.inflight.delete(state.inflight.keys().next().value!);
    this.deps.write(() => encodeDeltaDiscoveryResponse(version, typeUrl, toSend, removed, nonce, this.deps.controlPlaneId));
    this.deps.observer.sent(this.deps.streamId, typeUrl, version, nonce, toSend, removed, this.deps.cache.current);
  }

  /** Whether the client should get `r` now: forced, or a version it neither holds nor rejected (V4). */
  private lacks(state: TypeState, r: CachedResource): boolean {
    return state.forced.has(r.name) || (state.held.get(r.name) !== r.version && state.rejected.get(r.name) !== r.version);
  }

  /** Everything the subscription covers against what the client holds; G2 removals if asked. */
  private diffAll(typeUrl: TypeUrl, state: TypeState, withRemovals: boolean) {
    const desired = this.subscribed(typeUrl, state);
    const index = indexOf(desired);
    const removed = new Set<string>();
    if (withRemovals) {
      for (const name of state.held.keys()) if (!index.has(name)) removed.add(name);
      for (const name of state.answerMissing) if (!index.has(name)) removed.add(name);
    }
    return { toSend: desired.filter((r) => this.lacks(state, r)), removed: [...removed].sort() };
  }

  /** Only `names` (and forced and newly subscribed ones): what to send and, if asked, what is gone (G2). */
  private diffNames(typeUrl: TypeUrl, state: TypeState, names: Iterable<string>, withRemovals: boolean) {
    const toSend: CachedResource[] = [];
    const removed: string[] = [];
    for (const name of new Set([...names, ...state.forced, ...state.answerMissing])) {
      const r = state.wildcard || state.names.has(name) ? this.lookup(typeUrl, name) : undefined;
      if (r) {
        if (this.lacks(state, r)) toSend.push(r);
      } else if (withRemovals && (state.held.has(name) || state.answerMissing.has(name))) removed.push(name);
    }
    return { toSend: toSend.sort(byName), removed: removed.sort() };
  }

  /** O2: clusters new or changed in this response get their EDS resource again. */
  private forceEndpointsOfChanged(clusters: TypeState, toSend: readonly CachedResource[]): void {
    const eds = this.types.get(TYPE_URLS.endpoint);
    if (!eds) return;
    for (const c of toSend) {
      if (c.edsName && clusters.held.get(c.name) !== c.version && eds.names.has(c.edsName)) eds.forced.add(c.edsName);
    }
  }

  private state(typeUrl: TypeUrl): TypeState {
    let s = this.types.get(typeUrl);
    if (!s) {
      s = {
        started: false,
        wildcard: false,
        names: new Set(),
        held: new Map(),
        rejected: new Map(),
        inflight: new Map(),
        forced: new Set(),
        answerMissing: new Set(),
      };
      this.types.set(typeUrl, s);
    }
    return s;
  }
}
