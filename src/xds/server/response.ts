/** Writes DiscoveryResponse bytes around cached Any bytes: one encode per resource, many cheap writes. */
import protobuf from 'protobufjs';
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
  const head = protobuf.Writer.create().uint32(10).string(versionInfo).finish();
  const tail = protobuf.Writer.create().uint32(34).string(typeUrl).uint32(42).string(nonce).uint32(50).fork().uint32(10).string(controlPlane).ldelim().finish();
  // Protobuf fields may come in any order and repeated entries concatenate, so the cached entries are copied as they are.
  return Buffer.concat([head, ...resources.map((r) => r.sotwEntry), tail]);
}

/**
 * `envoy.service.discovery.v3.DeltaDiscoveryResponse`: system_version_info (1), resources (2,
 * Resource), type_url (4), nonce (5), removed_resources (6), control_plane (7).
 */
export function encodeDeltaDiscoveryResponse(
  systemVersion: string,
  typeUrl: string,
  resources: readonly CachedResource[],
  removed: readonly string[],
  nonce: string,
  controlPlane: string,
): Buffer {
  const head = protobuf.Writer.create().uint32(10).string(systemVersion).finish();
  const tail = protobuf.Writer.create().uint32(34).string(typeUrl).uint32(42).string(nonce);
  for (const name of removed) tail.uint32(50).string(name);
  tail.uint32(58).fork().uint32(10).string(controlPlane).ldelim();
  const chunks: Uint8Array[] = [head];
  for (const r of resources) chunks.push(r.deltaHead, r.sotwEntry);
  chunks.push(tail.finish());
  return Buffer.concat(chunks);
}

export { versionOf } from '../cache/version.ts';
