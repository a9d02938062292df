/**
 * What the SotW and Delta streams share: admitting a request (type URL, node, limits), the proxy
 * identity, nonces, and how a stream reports to the rest of the server.
 */
import { proxyFromNode, serviceKey, variantKeys, type ProxyIdentity } from '../../model/proxy.ts';
import { structToPlain, type StructMsg } from '../../protos/struct.ts';
import { isServedTypeUrl, type TypeUrl } from '../../protos/type-urls.ts';
import type { CachedResource } from '../cache/resource.ts';
import type { ChangedNames, Snapshot, SnapshotCache } from '../cache/snapshot-cache.ts';
import { credentialRefusal, PERMISSION_DENIED, type StreamCredential } from './auth.ts';
import { hasEmptyTypeUrl, isWellFormedTypeUrl, MAX_RESOURCE_NAMES } from './protocol.ts';

/** Why a request got no answer. */
export type IgnoreReason = 'stale_nonce' | 'unsupported_type';

export type Variant = 'sotw' | 'delta';

/** What a stream tells the rest of the server (proxy status, metrics, logs). */
export interface StreamObserver {
  connected(streamId: string, proxy: ProxyIdentity): void;
  /**
   * A response was written: `resources` are the shared cache entries it carried (kept as references,
   * never copied), `removed` the names it deleted (Delta), `snapshot` the one it was built from.
   */
  sent(
    streamId: string,
    typeUrl: TypeUrl,
    version: string,
    nonce: string,
    resources: readonly CachedResource[],
    removed: readonly string[],
    snapshot: Snapshot,
  ): void;
  acked(streamId: string, typeUrl: TypeUrl, version: string, nonce: string): void;
  /** The client unsubscribed from `names`, so it no longer holds them (no response says so). */
  forgotten(streamId: string, typeUrl: TypeUrl, names: readonly string[]): void;
  nacked(streamId: string, typeUrl: TypeUrl, version: string, nonce: string, detail: string): void;
  ignored(streamId: string, reason: IgnoreReason, detail?: string): void;
}

export interface StreamDeps {
  streamId: string;
  cache: SnapshotCache;
  controlPlaneId: string;
  observer: StreamObserver;
  /** Queues a response; `build` assembles its bytes when the server's write budget allows (back-pressure). */
  write(build: () => Buffer): void;
  /** Ends the stream with a gRPC status; `code` is a grpc status number. */
  fail(code: number, message: string): void;
  /** Set for the per-type services (CDS, EDS, ...): requests may omit the type URL. */
  fixedType?: TypeUrl;
  /** What the stream was admitted with (read once when it opened); the node must claim its identity. Unset: no check. */
  credential?: StreamCredential;
}

/** The fields every xDS request has, whatever the variant (protobufjs camelCase). */
export interface RequestHead {
  typeUrl?: string;
  node?: { id?: string; cluster?: string; metadata?: unknown; locality?: { region?: string; zone?: string }; userAgentName?: string } | null;
}

const INVALID_ARGUMENT = 3;

/** Code-point order of resources by name. */
export const byName = (a: CachedResource, b: CachedResource) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

const indexes = new WeakMap<readonly CachedResource[], Map<string, CachedResource>>();

/** A by-name index of a list, built once per list: streams sharing a view share its index too. */
export function indexOf(list: readonly CachedResource[]): Map<string, CachedResource> {
  let index = indexes.get(list);
  if (!index) {
    index = new Map(list.map((r) => [r.name, r]));
    indexes.set(list, index);
  }
  return index;
}

/** The part of a stream that does not depend on the protocol variant. */
export abstract class StreamBase {
  protected proxy: ProxyIdentity | undefined;
  /** The proxy's variant keys (identity, TLS, localities): which variants of resources it gets. */
  private keys: readonly string[] = [];
  protected closed = false;
  private nonces = 0;

  constructor(protected readonly deps: StreamDeps) {}

  /** The identity the stream announced, once its first request arrived. */
  get identity(): ProxyIdentity | undefined {
    return this.proxy;
  }

  /** Pushes what changed in the cache. */
  abstract onSnapshot(changed: ChangedNames): void;

  /**
   * T2/T3 and input limits: returns the type a request is about, or undefined when the stream was
   * failed (bad input) or the request is ignored (a well-formed type we do not serve).
   */
  protected admit(req: RequestHead, nameCount: number, namesField: string): TypeUrl | undefined {
    if (this.closed) return undefined;
    if (hasEmptyTypeUrl(req) && !this.deps.fixedType) return this.fail('type_url is required on the aggregated stream');
    const typeUrl = req.typeUrl || this.deps.fixedType!;
    if (this.deps.fixedType && typeUrl !== this.deps.fixedType) {
      return this.fail(`type_url ${typeUrl} is not served by this service (expected ${this.deps.fixedType})`);
    }
    if (!this.proxy && !this.identify(req)) return undefined;
    if (nameCount > MAX_RESOURCE_NAMES) {
      return this.fail(`${namesField} has ${nameCount} names, more than the limit of ${MAX_RESOURCE_NAMES}`);
    }
    if (!isServedTypeUrl(typeUrl)) {
      if (!isWellFormedTypeUrl(typeUrl)) return this.fail(`type_url "${typeUrl.slice(0, 200)}" is not a type URL`);
      this.deps.observer.ignored(this.deps.streamId, 'unsupported_type', typeUrl);
      return undefined;
    }
    return typeUrl;
  }

  private identify(req: RequestHead): boolean {
    if (!req.node) {
      this.fail('node is required in the first request of a stream');
      return false;
    }
    const parsed = proxyFromNode({ ...req.node, metadata: structToPlain(req.node.metadata as StructMsg) });
    if (!parsed.ok) {
      this.fail(parsed.issues.map((i) => `${i.path} ${i.message}`).join('; '));
      return false;
    }
    const refused = credentialRefusal(parsed.value, this.deps.credential);
    if (refused) {
      this.closed = true;
      this.deps.fail(PERMISSION_DENIED, refused);
      return false;
    }
    this.proxy = parsed.value;
    this.keys = variantKeys(parsed.value);
    this.deps.observer.connected(this.deps.streamId, parsed.value);
    return true;
  }

  /** T4: a fresh nonce, unique to this stream (stream ids are unique per process and restart). */
  protected nextNonce(): string {
    return `${(++this.nonces).toString(36)}@${this.deps.streamId}`;
  }

  /** The resources of a type the proxy may see (shared by proxies of its role and service, sorted by name). */
  protected visible(typeUrl: TypeUrl): readonly CachedResource[] {
    return this.deps.cache.visible(typeUrl, this.proxy!.role, serviceKey(this.proxy!), this.keys);
  }

  /** The resources a subscription covers, sorted by name; a wildcard-only one is the role's shared view. */
  protected subscribed(typeUrl: TypeUrl, state: { wildcard: boolean; names: Set<string> }): readonly CachedResource[] {
    const view = state.wildcard ? this.visible(typeUrl) : [];
    const seen = indexOf(view);
    const extra: CachedResource[] = [];
    for (const name of state.names) {
      if (seen.has(name)) continue;
      const r = this.lookup(typeUrl, name);
      if (r) extra.push(r); // S4: names that do not exist yet stay subscribed and are sent when they appear
    }
    return extra.length === 0 ? view : [...view, ...extra].sort(byName);
  }

  /**
   * The cache's own string for a subscribed name when the resource exists: thousands of proxies
   * subscribing to the same names then hold one copy of each instead of one per request decoded.
   */
  protected intern(typeUrl: TypeUrl, name: string): string {
    return this.deps.cache.current.resources.get(typeUrl)?.get(name)?.name ?? name;
  }

  /** One resource by name, if the proxy may see it. */
  protected lookup(typeUrl: TypeUrl, name: string): CachedResource | undefined {
    return this.deps.cache.get(typeUrl, name, this.proxy!.role, serviceKey(this.proxy!), this.keys);
  }

  protected fail(message: string): undefined {
    this.closed = true;
    this.deps.fail(INVALID_ARGUMENT, message);
    return undefined;
  }

  /** Stops pushes (the transport closed). */
  close(): void {
    this.closed = true;
  }
}
