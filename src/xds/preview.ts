/**
 * What a write would change in the served config, for `?dryRun=true`: the registry as the write
 * would leave it goes through the same build and publish gate as a real change, and is compared with
 * the snapshot being served. Nothing is published; a fresh encoder keeps the live one's memo intact.
 */
import type { MeshSettings } from '../model/mesh.ts';
import { SHORT_NAMES, type Plain } from '../protos/type-urls.ts';
import type { RegistrySnapshot } from '../registry/snapshot.ts';
import { ResourceEncoder } from './cache/resource.ts';
import type { Snapshot } from './cache/snapshot-cache.ts';
import { passGate, type GateIssue } from './publish-gate.ts';
import { buildResources } from './resources/index.ts';
import { NO_IDENTITIES, type MeshIdentities } from './identities.ts';
import { meshOf } from './mesh-input.ts';
import { shownResource } from './redact.ts';

export interface ResourceChange {
  /** Short type name: cds, eds, lds, rds, sds. */
  type: string;
  name: string;
  change: 'added' | 'modified' | 'removed';
  /**
   * Set for a variant of a resource, to its key: the proxies of one locality (`zone:<region>/<zone>`,
   * `region:<region>`), of one service (`service:<namespace>/<name>`) or with one kind of mTLS
   * (`tls:sds`, `tls:a29`) get it instead.
   */
  variant?: string;
  /** The resource as Envoy JSON (absent for a removal). */
  resource?: Plain;
}

export interface Preview {
  changes: ResourceChange[];
  /** Resources the publish gate would hold back. */
  issues: GateIssue[];
}

/** The resources that would be added, modified or removed if `registry` were served instead of `current`. */
export function previewChanges(registry: RegistrySnapshot, settings: MeshSettings, current: Snapshot, identities: MeshIdentities = NO_IDENTITIES): Preview {
  const { snapshot, issues } = passGate(buildResources(meshOf(registry), settings, identities), new ResourceEncoder(), current, registry.revision);
  const changes: ResourceChange[] = [];
  for (const [typeUrl, next] of snapshot.resources) {
    const type = SHORT_NAMES[typeUrl];
    const before = current.resources.get(typeUrl);
    for (const [name, r] of next) {
      const old = before?.get(name);
      if (old?.version === r.version) continue;
      changes.push({ type, name, change: old ? 'modified' : 'added', resource: shownResource(typeUrl, r.encoded) });
    }
    for (const name of before?.keys() ?? []) if (!next.has(name)) changes.push({ type, name, change: 'removed' });
  }
  changes.push(...variantChanges(current, snapshot));
  changes.sort((a, b) => cmp(a.type, b.type) || cmp(a.name, b.name) || cmp(a.variant ?? '', b.variant ?? ''));
  return { changes, issues };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Variants added, modified or removed between two snapshots. */
function variantChanges(current: Snapshot, next: Snapshot): ResourceChange[] {
  const out: ResourceChange[] = [];
  const types = new Set([...(current.variants?.keys() ?? []), ...(next.variants?.keys() ?? [])]);
  for (const typeUrl of types) {
    const type = SHORT_NAMES[typeUrl];
    const before = current.variants?.get(typeUrl);
    const after = next.variants?.get(typeUrl);
    for (const [name, byKey] of after ?? []) {
      for (const [variant, r] of byKey) {
        const old = before?.get(name)?.get(variant);
        if (old?.version === r.version) continue;
        out.push({ type, name, variant, change: old ? 'modified' : 'added', resource: shownResource(typeUrl, r.encoded) });
      }
    }
    for (const [name, byKey] of before ?? []) {
      for (const variant of byKey.keys()) if (!after?.get(name)?.has(variant)) out.push({ type, name, variant, change: 'removed' });
    }
  }
  return out;
}
