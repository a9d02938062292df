/**
 * What a write would change in the served config, for `?dryRun=true`: the registry as the write
 * would leave it goes through the same build and publish gate as a real change, and is compared with
 * the snapshot being served. Nothing is published; a fresh encoder keeps the live one's memo intact.
 */
import { buildMesh, type MeshSettings } from '../model/mesh.ts';
import { messageType } from '../protos/loader.ts';
import { decodeToPlain, messageNameOf, SHORT_NAMES, type Plain } from '../protos/type-urls.ts';
import { routeSpecOf } from '../registry/routes.ts';
import type { RegistrySnapshot } from '../registry/snapshot.ts';
import { ResourceEncoder } from './cache/resource.ts';
import type { Snapshot } from './cache/snapshot-cache.ts';
import { passGate, type GateIssue } from './publish-gate.ts';
import { buildResources } from './resources/index.ts';

export interface ResourceChange {
  /** Short type name: cds, eds, lds, rds, sds. */
  type: string;
  name: string;
  change: 'added' | 'modified' | 'removed';
  /** Set for the variant of a resource that proxies in one locality get (locality failover). */
  locality?: string;
  /** The resource as Envoy JSON (absent for a removal). */
  resource?: Plain;
}

export interface Preview {
  changes: ResourceChange[];
  /** Resources the publish gate would hold back. */
  issues: GateIssue[];
}

/** The resources that would be added, modified or removed if `registry` were served instead of `current`. */
export function previewChanges(registry: RegistrySnapshot, settings: MeshSettings, current: Snapshot): Preview {
  const mesh = buildMesh(registry.revision, registry.services, registry.endpoints, undefined, registry.routes.map(routeSpecOf));
  const { snapshot, issues } = passGate(buildResources(mesh, settings), new ResourceEncoder(), current, registry.revision);
  const changes: ResourceChange[] = [];
  for (const [typeUrl, next] of snapshot.resources) {
    const type = SHORT_NAMES[typeUrl];
    const before = current.resources.get(typeUrl);
    for (const [name, r] of next) {
      const old = before?.get(name);
      if (old?.version === r.version) continue;
      changes.push({ type, name, change: old ? 'modified' : 'added', resource: decodeToPlain(messageType(messageNameOf(typeUrl)), r.encoded) });
    }
    for (const name of before?.keys() ?? []) if (!next.has(name)) changes.push({ type, name, change: 'removed' });
  }
  changes.push(...variantChanges(current, snapshot));
  changes.sort((a, b) => cmp(a.type, b.type) || cmp(a.name, b.name) || cmp(a.locality ?? '', b.locality ?? ''));
  return { changes, issues };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Locality variants added, modified or removed between two snapshots. */
function variantChanges(current: Snapshot, next: Snapshot): ResourceChange[] {
  const out: ResourceChange[] = [];
  const types = new Set([...(current.variants?.keys() ?? []), ...(next.variants?.keys() ?? [])]);
  for (const typeUrl of types) {
    const type = SHORT_NAMES[typeUrl];
    const before = current.variants?.get(typeUrl);
    const after = next.variants?.get(typeUrl);
    for (const [name, byLocality] of after ?? []) {
      for (const [locality, r] of byLocality) {
        const old = before?.get(name)?.get(locality);
        if (old?.version === r.version) continue;
        out.push({ type, name, locality, change: old ? 'modified' : 'added', resource: decodeToPlain(messageType(messageNameOf(typeUrl)), r.encoded) });
      }
    }
    for (const [name, byLocality] of before ?? []) {
      for (const locality of byLocality.keys()) if (!after?.get(name)?.has(locality)) out.push({ type, name, locality, change: 'removed' });
    }
  }
  return out;
}
