/**
 * The publish gate: encode every built resource, check it against Envoy's validation rules, check that
 * every name it references exists, and publish only what passes. A resource that fails keeps its
 * previous good version (or stays unpublished), and the reason is reported.
 */
import type { Plain } from '../envoy/common.ts';
import type { Issue } from '../lib/result.ts';
import { messageType } from '../protos/loader.ts';
import { messageNameOf, TYPE_URLS, type ResourceKind, type TypeUrl } from '../protos/type-urls.ts';
import { validateEncoded } from '../protos/validate.ts';
import type { CachedResource, ResourceEncoder } from './cache/resource.ts';
import type { Snapshot, Variants } from './cache/snapshot-cache.ts';
import type { BuiltResource, ResourceSet } from './resources/types.ts';

export interface GateIssue extends Issue {
  type: ResourceKind;
  name: string;
}

export interface GateResult {
  snapshot: Snapshot;
  issues: GateIssue[];
}

type Candidates = Map<TypeUrl, Map<string, { resource: CachedResource; plain: Plain }>>;

const KINDS = Object.keys(TYPE_URLS) as ResourceKind[];

/** Encodes, validates and cross-checks `built`; returns the snapshot to publish and what was held back. */
export function passGate(built: ResourceSet, encoder: ResourceEncoder, previous: Snapshot, revision: number): GateResult {
  const issues: GateIssue[] = [];
  const candidates: Candidates = new Map();
  for (const kind of KINDS) {
    const byName = new Map<string, { resource: CachedResource; plain: Plain }>();
    for (const b of built[kind]) {
      const encoded = encodeChecked(encoder, TYPE_URLS[kind], b, (path, message) => issues.push({ type: kind, name: b.name, path, message }));
      if (encoded) byName.set(b.name, { resource: encoded, plain: b.resource });
    }
    candidates.set(TYPE_URLS[kind], byName);
  }
  issues.push(...dropDangling(built, candidates, previous));
  const resources = new Map<TypeUrl, Map<string, CachedResource>>();
  for (const kind of KINDS) {
    const typeUrl = TYPE_URLS[kind];
    const out = new Map<string, CachedResource>();
    for (const b of built[kind]) {
      const keep = candidates.get(typeUrl)!.get(b.name)?.resource ?? previous.resources.get(typeUrl)?.get(b.name);
      if (keep) out.set(b.name, keep);
    }
    resources.set(typeUrl, out);
  }
  const variants = encodeVariants(built, encoder, resources, issues);
  return { snapshot: { revision, resources, ...(variants.size > 0 ? { variants } : {}) }, issues };
}

/**
 * Encodes the variants of published resources. A variant that fails is left out (its proxies get
 * the resource everyone else gets, if they may see it) and reported with its key.
 */
function encodeVariants(built: ResourceSet, encoder: ResourceEncoder, published: Map<TypeUrl, Map<string, CachedResource>>, issues: GateIssue[]): Variants {
  const variants = new Map<TypeUrl, Map<string, Map<string, CachedResource>>>();
  for (const kind of KINDS) {
    const typeUrl = TYPE_URLS[kind];
    const byName = new Map<string, Map<string, CachedResource>>();
    for (const b of built[kind]) {
      if (!b.variants?.length || !published.get(typeUrl)!.has(b.name)) continue;
      const byKey = new Map<string, CachedResource>();
      for (const v of b.variants) {
        const report = (path: string, message: string) => issues.push({ type: kind, name: b.name, path, message: `(variant ${v.key}) ${message}` });
        const encoded = encodeChecked(encoder, typeUrl, { ...b, resource: v.resource, roles: v.roles ?? b.roles, owner: v.owner ?? b.owner }, report, v.key);
        if (encoded) byKey.set(v.key, encoded);
      }
      if (byKey.size > 0) byName.set(b.name, byKey);
    }
    if (byName.size > 0) variants.set(typeUrl, byName);
  }
  return variants;
}

/**
 * Removes candidates that reference a name the snapshot will not hold, until none is left: a name is
 * held when it is still built and either its new version passes or its previous version is kept.
 * Repeats because a removal can strand another candidate (listener → route → cluster → endpoints).
 */
function dropDangling(built: ResourceSet, candidates: Candidates, previous: Snapshot): GateIssue[] {
  const builtNames = new Map(KINDS.map((k) => [TYPE_URLS[k] as TypeUrl, new Set(built[k].map((b) => b.name))]));
  const held = (type: TypeUrl, name: string): boolean =>
    candidates.get(type)?.has(name) === true || (builtNames.get(type)?.has(name) === true && previous.resources.get(type)?.has(name) === true);
  const issues: GateIssue[] = [];
  for (let removed = true; removed; ) {
    removed = false;
    for (const kind of KINDS) {
      for (const [name, c] of candidates.get(TYPE_URLS[kind])!) {
        const missing = referencesOf(c.plain).filter((r) => !held(r.type, r.name));
        if (missing.length === 0) continue;
        candidates.get(TYPE_URLS[kind])!.delete(name);
        removed = true;
        for (const r of missing) {
          issues.push({ type: kind, name, path: r.path, message: `references ${messageNameOf(r.type)} "${r.name}", which does not exist` });
        }
      }
    }
  }
  return issues;
}

const validated = new WeakSet<CachedResource>();
const referenceMemo = new WeakMap<object, ReturnType<typeof references>>();

/** `references()` of a plain object, found once per object (unchanged services hand back the same ones). */
function referencesOf(plain: Plain): ReturnType<typeof references> {
  let refs = referenceMemo.get(plain);
  if (!refs) referenceMemo.set(plain, (refs = references(plain)));
  return refs;
}

function encodeChecked(
  encoder: ResourceEncoder,
  typeUrl: TypeUrl,
  b: BuiltResource,
  report: (path: string, message: string) => void,
  variant?: string,
): CachedResource | undefined {
  let resource: CachedResource;
  try {
    resource = encoder.encode(typeUrl, b.name, b.resource, b.roles, { owner: b.owner, edsName: b.edsName, variant });
  } catch (err) {
    report('', `cannot be encoded: ${(err as Error).message}`);
    return undefined;
  }
  if (validated.has(resource)) return resource;
  const problems = validateEncoded(messageType(messageNameOf(typeUrl)), resource.encoded);
  // Route configurations travel over RDS or inline in listeners; clusters and the rest hold none.
  if (typeUrl === TYPE_URLS.route || typeUrl === TYPE_URLS.listener) problems.push(...repeatedDomains(b.resource));
  for (const p of problems) report(p.path, p.message);
  if (problems.length > 0) return undefined;
  validated.add(resource);
  return resource;
}

/**
 * A rule Envoy enforces outside the `validate` annotations: within one route configuration (over RDS
 * or inline in a listener), no domain may appear in two virtual hosts or twice in one. Envoy NACKs
 * the whole configuration otherwise.
 */
export function repeatedDomains(plain: unknown, path = ''): { path: string; message: string }[] {
  if (!plain || typeof plain !== 'object') return [];
  if (Array.isArray(plain)) return plain.flatMap((v, i) => repeatedDomains(v, `${path}[${i}]`));
  const obj = plain as Record<string, unknown>;
  const at = (k: string) => (path ? `${path}.${k}` : k);
  const out: { path: string; message: string }[] = [];
  if (Array.isArray(obj.virtualHosts)) {
    const seen = new Map<string, string>();
    (obj.virtualHosts as { domains?: unknown[] }[]).forEach((vh, i) =>
      (vh.domains ?? []).forEach((d, j) => {
        const where = at(`virtualHosts[${i}].domains[${j}]`);
        const first = seen.get(String(d).toLowerCase());
        if (first) out.push({ path: where, message: `repeats the domain "${String(d)}" of ${first}` });
        else seen.set(String(d).toLowerCase(), where);
      }),
    );
  }
  for (const [k, v] of Object.entries(obj)) if (k !== 'virtualHosts' && typeof v === 'object') out.push(...repeatedDomains(v, at(k)));
  return out;
}

/** Names a resource points at, found by the fields Envoy resolves: EDS service names, RDS names, route clusters. */
export function references(plain: unknown, out: { type: TypeUrl; name: string; path: string }[] = [], path = ''): typeof out {
  if (Array.isArray(plain)) plain.forEach((v, i) => references(v, out, `${path}[${i}]`));
  else if (plain && typeof plain === 'object') {
    const obj = plain as Record<string, unknown>;
    const at = (k: string) => (path ? `${path}.${k}` : k);
    const ref = (type: TypeUrl, key: string) => {
      if (typeof obj[key] === 'string') out.push({ type, name: obj[key] as string, path: at(key) });
    };
    if (path.endsWith('edsClusterConfig')) ref(TYPE_URLS.endpoint, 'serviceName');
    if (path.endsWith('rds')) ref(TYPE_URLS.route, 'routeConfigName');
    if (path.endsWith('.route') || /requestMirrorPolicies\[\d+\]$/.test(path)) ref(TYPE_URLS.cluster, 'cluster');
    if (/weightedClusters\.clusters\[\d+\]$/.test(path)) ref(TYPE_URLS.cluster, 'name');
    if (typeof obj['@type'] === 'string' && obj['@type'].endsWith('.TcpProxy')) ref(TYPE_URLS.cluster, 'cluster');
    for (const [k, v] of Object.entries(obj)) if (typeof v === 'object') references(v, out, at(k));
  }
  return out;
}
