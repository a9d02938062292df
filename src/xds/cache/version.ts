/** Content versions of resource sets: the same resources give the same version on every replica and after restarts. */
import { contentHash } from '../../lib/hash.ts';
import type { CachedResource } from './resource.ts';

const versions = new WeakMap<readonly CachedResource[], string>();

/**
 * V1/V7: the version of a set of resources is a hash of their names and content versions, in name
 * order. Shared lists (a role's wildcard view of a snapshot) are hashed once, however many streams send them.
 */
export function versionOf(resources: readonly CachedResource[]): string {
  let v = versions.get(resources);
  if (v === undefined) {
    const parts = resources.map((r) => `${r.name}\0${r.version}`).sort();
    v = parts.length === 0 ? 'empty' : contentHash(parts.join('\n'));
    versions.set(resources, v);
  }
  return v;
}

/**
 * Records the version of `list` = `base` followed by `extra` (a service's own resources after its
 * role's shared view): derived from the base's version and the extras only, so a thousand services'
 * views cost a thousand small hashes, not a thousand sorts of the whole view.
 */
export function composeVersion(list: readonly CachedResource[], base: readonly CachedResource[], extra: readonly CachedResource[]): void {
  const parts = extra.map((r) => `${r.name}\0${r.version}`).sort();
  versions.set(list, contentHash(versionOf(base), '\n+', parts.join('\n')));
}
