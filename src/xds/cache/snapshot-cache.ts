/**
 * The shared resource cache: the latest published resources per type, and the streams watching it.
 * A proxy's view is a set of references into this cache, never a copy.
 */
import type { Role } from '../../model/proxy.ts';
import { PUSH_ORDER, type TypeUrl } from '../../protos/type-urls.ts';
import { encoderKey, type CachedResource } from './resource.ts';
import { composeVersion, versionOf } from './version.ts';

export type TypeResources = ReadonlyMap<string, CachedResource>;

/** Per type, per resource name, the resource as the proxies with a variant key see it (by key). */
export type Variants = ReadonlyMap<TypeUrl, ReadonlyMap<string, ReadonlyMap<string, CachedResource>>>;

export interface Snapshot {
  /** Registry revision the snapshot was built from. */
  readonly revision: number;
  /** When the write of that revision committed: the start of convergence (commit → proxy ACK). */
  readonly committedAt?: Date;
  readonly resources: ReadonlyMap<TypeUrl, TypeResources>;
  /** Variants of some of `resources` (by locality, identity or TLS client kind): a proxy with the key sees it instead. */
  readonly variants?: Variants;
}

/** Names whose resource was added, changed or removed, per type. */
export type ChangedNames = Map<TypeUrl, Set<string>>;

export type Watcher = (snapshot: Snapshot, changed: ChangedNames) => void;

/** An empty snapshot: every type present, no resources. */
export function emptySnapshot(revision = 0): Snapshot {
  return { revision, resources: new Map(PUSH_ORDER.map((t) => [t, new Map()])) };
}

/** Holds the current snapshot and tells watchers what changed when a new one is published. */
export class SnapshotCache {
  private snapshot: Snapshot = emptySnapshot();
  private readonly watchers = new Set<Watcher>();
  private published = false;
  /** Per snapshot, each role's view of each type (see `visible`). */
  private views = new Map<TypeUrl, Map<string, readonly CachedResource[]>>();
  private owned = new Map<TypeUrl, Map<string, CachedResource[]>>();
  private typeVersions = new Map<TypeUrl, string>();
  private hidden = new Map<TypeUrl, Map<string, CachedResource[]>>();

  /** The current snapshot. */
  get current(): Snapshot {
    return this.snapshot;
  }

  /** True once a snapshot built from the registry has been published. */
  get ready(): boolean {
    return this.published;
  }

  /** Replaces the snapshot; watchers hear about it only when some resource changed. */
  publish(next: Snapshot): ChangedNames {
    const changed = diffSnapshots(this.snapshot, next);
    this.snapshot = next;
    // Views of types that did not change stay valid (same content), so a push of one endpoint does
    // not rebuild and re-hash every role's and service's cluster view.
    for (const typeUrl of changed.keys()) {
      this.views.delete(typeUrl);
      this.owned.delete(typeUrl);
      this.typeVersions.delete(typeUrl);
      this.hidden.delete(typeUrl);
    }
    this.published = true;
    if (changed.size > 0) for (const w of this.watchers) w(next, changed);
    return changed;
  }

  /** Registers a watcher; returns its removal. */
  watch(w: Watcher): () => void {
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }

  /**
   * The resources of one type that a role (of a service: `service` is `<namespace>/<name>`) may see,
   * sorted by name. The list is built once per snapshot and shared by every stream with the same
   * role and service (so is its version), and must not be modified. With `keys` (the proxy's variant
   * keys, see `variantKeys`), a resource with a variant for one of them that the proxy may see is that
   * variant, and variant-only resources (no role sees their base) join when one of their variants is
   * the proxy's; a proxy whose keys change nothing shares the list of its role and service.
   */
  visible(typeUrl: TypeUrl, role: Role, service?: string, keys: readonly string[] = []): readonly CachedResource[] {
    let views = this.views.get(typeUrl);
    if (!views) this.views.set(typeUrl, (views = new Map()));
    const base = this.roleView(views, typeUrl, role, service);
    const variants = this.snapshot.variants?.get(typeUrl);
    if (!variants || keys.length === 0) return base;
    return this.view(views, `${role}|${service ?? ''}|${keys.join('|')}`, () => {
      let swapped = false;
      const list = base.map((r) => {
        const v = pickVariant(variants.get(r.name), keys);
        if (v && maySee(v, role, service)) swapped = true;
        return v && maySee(v, role, service) ? v : r;
      });
      const own: CachedResource[] = [];
      const named = new Set<string>();
      const hidden = this.variantOnly(typeUrl);
      for (const key of keys) {
        for (const v of hidden.get(key) ?? []) {
          // The first key with a variant of a name decides, as in `get`.
          if (named.has(v.name)) continue;
          named.add(v.name);
          if (maySee(v, role, service)) own.push(v);
        }
      }
      if (own.length > 0) return mergeSorted(list, own.sort(byName));
      return swapped ? list : base;
    });
  }

  /** The variants of resources that no role sees but through a variant, by variant key, once per snapshot. */
  private variantOnly(typeUrl: TypeUrl): Map<string, CachedResource[]> {
    let byKey = this.hidden.get(typeUrl);
    if (!byKey) {
      byKey = new Map();
      for (const [name, variants] of this.snapshot.variants?.get(typeUrl) ?? []) {
        if (this.snapshot.resources.get(typeUrl)?.get(name)?.roles.size !== 0) continue;
        for (const [key, v] of variants) byKey.set(key, [...(byKey.get(key) ?? []), v]);
      }
      this.hidden.set(typeUrl, byKey);
    }
    return byKey;
  }

  private roleView(views: Map<string, readonly CachedResource[]>, typeUrl: TypeUrl, role: Role, service: string | undefined): readonly CachedResource[] {
    const shared = this.view(views, `${role}|`, () => this.filter(typeUrl, (r) => r.owner === undefined && r.roles.has(role)));
    const own = service ? this.ownedIndex(typeUrl).get(service)?.filter((r) => r.roles.has(role)) : undefined;
    // A service with nothing of its own sees the role's shared list: one list and one version for all of them.
    if (!own?.length) return shared;
    return this.view(views, `${role}|${service!}`, () => {
      // Merging two sorted lists keeps the order without sorting the whole view again.
      const mine = own.sort(byName);
      const list = mergeSorted(shared, mine);
      composeVersion(list, shared, mine);
      return list;
    });
  }

  private view(views: Map<string, readonly CachedResource[]>, key: string, build: () => readonly CachedResource[]) {
    let list = views.get(key);
    if (!list) views.set(key, (list = build()));
    return list;
  }

  private filter(typeUrl: TypeUrl, keep: (r: CachedResource) => boolean): CachedResource[] {
    const out: CachedResource[] = [];
    for (const r of this.snapshot.resources.get(typeUrl)?.values() ?? []) if (keep(r)) out.push(r);
    return out.sort(byName);
  }

  /** The resources of a type that belong to one service, by service; built once per change of the type. */
  private ownedIndex(typeUrl: TypeUrl): Map<string, CachedResource[]> {
    let index = this.owned.get(typeUrl);
    if (!index) {
      index = new Map();
      for (const r of this.snapshot.resources.get(typeUrl)?.values() ?? []) {
        if (r.owner !== undefined) index.set(r.owner, [...(index.get(r.owner) ?? []), r]);
      }
      this.owned.set(typeUrl, index);
    }
    return index;
  }

  /**
   * V1/V7: a content version of every resource of a type in the snapshot, computed once per snapshot.
   * Types whose responses carry only what changed (EDS, RDS, SDS) use it as their `version_info`, so
   * a push costs each stream the changed names, not a hash over everything it subscribes to.
   */
  typeVersion(typeUrl: TypeUrl): string {
    let v = this.typeVersions.get(typeUrl);
    if (v === undefined) {
      const variants = [...(this.snapshot.variants?.get(typeUrl)?.values() ?? [])].flatMap((m) => [...m.values()]);
      v = versionOf([...(this.snapshot.resources.get(typeUrl)?.values() ?? []), ...variants]);
      this.typeVersions.set(typeUrl, v);
    }
    return v;
  }

  /** One resource by name if the proxy may see it: the variant of the first of its `keys` that has one it may see, else the resource. */
  get(typeUrl: TypeUrl, name: string, role: Role, service?: string, keys: readonly string[] = []): CachedResource | undefined {
    const r = this.snapshot.resources.get(typeUrl)?.get(name);
    if (!r) return undefined;
    const v = keys.length > 0 ? pickVariant(this.snapshot.variants?.get(typeUrl)?.get(name), keys) : undefined;
    if (v && maySee(v, role, service)) return v;
    return maySee(r, role, service) ? r : undefined;
  }
}

/** Per type, the names whose version or visibility differs between two snapshots. */
export function diffSnapshots(prev: Snapshot, next: Snapshot): ChangedNames {
  const changed: ChangedNames = new Map();
  for (const typeUrl of PUSH_ORDER) {
    const a = prev.resources.get(typeUrl) ?? new Map();
    const b = next.resources.get(typeUrl) ?? new Map();
    const names = new Set<string>();
    for (const [name, r] of b) if (!sameResource(a.get(name), r)) names.add(name);
    for (const name of a.keys()) if (!b.has(name)) names.add(name);
    // A changed, new or dropped variant changes the resource for the proxies it is for.
    const va = prev.variants?.get(typeUrl);
    const vb = next.variants?.get(typeUrl);
    for (const name of new Set([...(va?.keys() ?? []), ...(vb?.keys() ?? [])])) {
      if (!sameVariants(va?.get(name), vb?.get(name))) names.add(name);
    }
    if (names.size > 0) changed.set(typeUrl, names);
  }
  return changed;
}

const byName = (a: CachedResource, b: CachedResource) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Merges two lists sorted by name into one (linear). */
function mergeSorted(a: readonly CachedResource[], b: readonly CachedResource[]): CachedResource[] {
  const out: CachedResource[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) out.push(j >= b.length || (i < a.length && byName(a[i]!, b[j]!) <= 0) ? a[i++]! : b[j++]!);
  return out;
}

/** The variant of the first key that has one. */
function pickVariant(byKey: ReadonlyMap<string, CachedResource> | undefined, keys: readonly string[]): CachedResource | undefined {
  if (!byKey) return undefined;
  for (const key of keys) {
    const v = byKey.get(key);
    if (v) return v;
  }
  return undefined;
}

function sameVariants(a: ReadonlyMap<string, CachedResource> | undefined, b: ReadonlyMap<string, CachedResource> | undefined): boolean {
  if ((a?.size ?? 0) !== (b?.size ?? 0)) return false;
  for (const [key, r] of a ?? []) if (b?.get(key)?.version !== r.version) return false;
  return true;
}

/** The encoder keys of everything a snapshot holds, variants included (what the encoder keeps memos of). */
export function encoderKeys(snapshot: Snapshot): Set<string> {
  const keys = new Set<string>();
  for (const [typeUrl, byName] of snapshot.resources) for (const name of byName.keys()) keys.add(encoderKey(typeUrl, name));
  for (const [typeUrl, byName] of snapshot.variants ?? []) {
    for (const [name, byKey] of byName) for (const key of byKey.keys()) keys.add(encoderKey(typeUrl, name, key));
  }
  return keys;
}

/** Per-proxy views: the resource is for the proxy's role, and for its service if it has an owner. */
function maySee(r: CachedResource, role: Role, service: string | undefined): boolean {
  return r.roles.has(role) && (r.owner === undefined || r.owner === service);
}

function sameResource(a: CachedResource | undefined, b: CachedResource): boolean {
  if (a === b) return true;
  if (!a || a.version !== b.version || a.owner !== b.owner || a.roles.size !== b.roles.size) return false;
  for (const role of a.roles) if (!b.roles.has(role)) return false;
  return true;
}
