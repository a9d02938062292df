/**
 * Per-service translation remembered by object identity. `buildMesh` hands back the very same
 * Service object when a service did not change, so its resources are not translated again, and the
 * encoder then recognises the same plain objects without comparing their content.
 */
import type { MeshSettings, Service } from '../../model/mesh.ts';

const results = new WeakMap<Service, Map<string, { settings: MeshSettings | undefined; value: unknown }>>();

/** `build()` for this service, or what it returned last time for the same service object and settings. */
export function perService<T>(kind: string, svc: Service, settings: MeshSettings | undefined, build: () => T): T {
  let byKind = results.get(svc);
  if (!byKind) results.set(svc, (byKind = new Map()));
  const hit = byKind.get(kind);
  if (hit && hit.settings === settings) return hit.value as T;
  const value = build();
  byKind.set(kind, { settings, value });
  return value;
}

const groups = new WeakMap<Service, Map<string, { members: readonly Service[]; settings: MeshSettings | undefined; value: unknown }>>();

/** `build()` for a group of services (e.g. those on one port), reused while the group has the very same members. */
export function perGroup<T>(kind: string, members: readonly Service[], settings: MeshSettings | undefined, build: () => T): T {
  const first = members[0];
  if (!first) return build();
  let byKind = groups.get(first);
  if (!byKind) groups.set(first, (byKind = new Map()));
  const hit = byKind.get(kind);
  if (hit && hit.settings === settings && hit.members.length === members.length && hit.members.every((m, i) => m === members[i])) {
    return hit.value as T;
  }
  const value = build();
  byKind.set(kind, { members: [...members], settings, value });
  return value;
}
