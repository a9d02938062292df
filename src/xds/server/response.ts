/** Writes DiscoveryResponse bytes around cached Any bytes: one encode per resource, many cheap writes. */
import protobuf from 'protobufjs';
import { contentHash } from '../../lib/hash.ts';
import type { CachedResource } from '../cache/resource.ts';

/**
 * `envoy.service.discovery.v3.DiscoveryResponse`: version_info (1), resources (2, Any), type_url (4),
 * nonce (5), control_plane (6, ControlPlane.identifier = 1).
 */
export function encodeDiscoveryResponse(
  versionInfo: string,
  typeUrl: string,
  resources: readonly CachedResource[],
  nonce: string,
  controlPlane: string,
): Buffer {
  const w = protobuf.Writer.create();
  w.uint32(10).string(versionInfo);
  for (const r of resources) w.uint32(18).bytes(r.any);
  w.uint32(34).string(typeUrl);
  w.uint32(42).string(nonce);
  w.uint32(50).fork().uint32(10).string(controlPlane).ldelim();
  return Buffer.from(w.finish());
}

/** V1/V7: the version of a set of resources is a hash of their names and content versions, in name order. */
export function versionOf(resources: readonly CachedResource[]): string {
  const parts = resources.map((r) => `${r.name}\0${r.version}`).sort();
  return parts.length === 0 ? 'empty' : contentHash(parts.join('\n'));
}
