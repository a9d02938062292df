/**
 * Encode once: every resource is protobuf-encoded once per content version, wrapped as an Any once,
 * and those bytes are shared by every stream that sends it.
 */
import protobuf from 'protobufjs';
import { contentHash } from '../../lib/hash.ts';
import type { Role } from '../../model/proxy.ts';
import { messageType } from '../../protos/loader.ts';
import { encodeMessage, messageNameOf, type TypeUrl } from '../../protos/type-urls.ts';

/** One encoded resource: what every stream shares. */
export interface CachedResource {
  readonly name: string;
  readonly typeUrl: TypeUrl;
  /** Content hash of `encoded`: the per-resource version. */
  readonly version: string;
  /** The resource message bytes. */
  readonly encoded: Uint8Array;
  /** `google.protobuf.Any { type_url, value }` bytes. */
  readonly any: Uint8Array;
  /** The Any as an entry of `DiscoveryResponse.resources` (tag, length, bytes): copied as is into SotW responses. */
  readonly sotwEntry: Uint8Array;
  /**
   * The head of an entry of `DeltaDiscoveryResponse.resources`: tag and length of a `Resource`, then
   * its name and version. `Resource.resource` (field 2, an Any) has the same bytes as `sotwEntry`,
   * so a Delta entry is `deltaHead` followed by `sotwEntry`, with no second copy of the resource.
   */
  readonly deltaHead: Uint8Array;
  readonly roles: ReadonlySet<Role>;
  /** Set when only proxies of one service may see it (`<namespace>/<name>`), e.g. a sidecar's inbound listener. */
  readonly owner?: string;
  /** For an EDS cluster, the EDS resource it loads (derived from the content, so covered by the version). */
  readonly edsName?: string;
}

/** Wraps encoded message bytes in an Any (field 1 type_url, field 2 value). */
export function encodeAny(typeUrl: string, value: Uint8Array): Uint8Array {
  return protobuf.Writer.create().uint32(10).string(typeUrl).uint32(18).bytes(value).finish();
}

/** Tag and length of a Delta `Resource` entry plus its name (3) and version (1) fields. */
function deltaHead(name: string, version: string, anyFieldLength: number): Uint8Array {
  const fields = protobuf.Writer.create().uint32(26).string(name).uint32(10).string(version).finish();
  const head = protobuf.Writer.create().uint32(18).uint32(fields.length + anyFieldLength).finish();
  const out = new Uint8Array(head.length + fields.length);
  out.set(head);
  out.set(fields, head.length);
  return out;
}

/**
 * Encodes plain resources, reusing the previous result when the plain input is identical, so a
 * rebuild that changes nothing costs a JSON comparison per resource instead of an encode and a hash.
 */
export class ResourceEncoder {
  private memo = new Map<string, { plain: object; key: string; resource: CachedResource }>();

  /** Encodes `plain` as `typeUrl`; throws when protobufjs cannot convert a field. */
  encode(
    typeUrl: TypeUrl,
    name: string,
    plain: Record<string, unknown>,
    roles: readonly Role[],
    extra: { owner?: string; edsName?: string; variant?: string } = {},
  ): CachedResource {
    const { owner, edsName, variant } = extra;
    const memoKey = encoderKey(typeUrl, name, variant);
    const hit = this.memo.get(memoKey);
    // The translators hand back the same plain object for an unchanged service: no need to compare content.
    if (hit && hit.plain === plain && sameRoles(hit.resource, roles, owner)) return hit.resource;
    const key = JSON.stringify(plain) + '|' + roles.join(',') + '|' + (owner ?? '');
    if (hit && hit.key === key) {
      hit.plain = plain;
      return hit.resource;
    }
    const message = encodeMessage(messageType(messageNameOf(typeUrl)), plain);
    const anyBytes = encodeAny(typeUrl, message);
    const sotwEntry = protobuf.Writer.create().uint32(18).bytes(anyBytes).finish();
    // One buffer holds it all: the Any and the message are views at the end of the entry.
    const any = sotwEntry.subarray(sotwEntry.length - anyBytes.length);
    const encoded = sotwEntry.subarray(sotwEntry.length - message.length);
    const version = contentHash(encoded);
    const resource: CachedResource = {
      name,
      typeUrl,
      version,
      encoded,
      any,
      sotwEntry,
      deltaHead: deltaHead(name, version, sotwEntry.length),
      roles: new Set(roles),
      ...(edsName ? { edsName } : {}),
      ...(owner ? { owner } : {}),
    };
    this.memo.set(memoKey, { plain, key, resource });
    return resource;
  }

  /** Forgets resources that are no longer built, so memory follows the registry. */
  retain(live: Set<string>): void {
    for (const k of this.memo.keys()) if (!live.has(k)) this.memo.delete(k);
  }
}

/** The encoder's key of a resource (and of one of its locality variants): what `retain` is given. */
export function encoderKey(typeUrl: TypeUrl, name: string, variant?: string): string {
  return typeUrl + '\0' + name + (variant === undefined ? '' : '\0' + variant);
}

function sameRoles(r: CachedResource, roles: readonly Role[], owner: string | undefined): boolean {
  return r.owner === owner && r.roles.size === roles.length && roles.every((role) => r.roles.has(role));
}
