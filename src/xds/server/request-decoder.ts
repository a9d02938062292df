/**
 * Decoding of SotW DiscoveryRequests that keeps `resource_names` as raw bytes. A SotW client repeats
 * its whole subscription in every ACK (a sidecar: a thousand EDS names), so comparing those bytes
 * with the previous request's spares decoding a thousand strings when nothing changed.
 */
import protobuf from 'protobufjs';
import type { DiscoveryRequest } from './protocol.ts';

/** Field 3 (`resource_names`) entries of a request: where they lie and how many there are. */
interface NamesSpan {
  start: number;
  end: number;
  count: number;
}

/** The span of the `resource_names` entries when they are contiguous (as every encoder writes them), else undefined. */
export function namesSpan(bytes: Uint8Array): NamesSpan | undefined {
  const reader = protobuf.Reader.create(bytes);
  let span: NamesSpan | undefined;
  let closed = false;
  while (reader.pos < reader.len) {
    const at = reader.pos;
    const tag = reader.uint32();
    if (tag >>> 3 === 3 && (tag & 7) === 2) {
      if (closed) return undefined; // names split by other fields: let the full decoder handle it
      reader.skip(reader.uint32());
      span = span ? { ...span, end: reader.pos, count: span.count + 1 } : { start: at, end: reader.pos, count: 1 };
    } else {
      if (span) closed = true;
      reader.skipType(tag & 7);
    }
  }
  return span;
}

/** Decodes a DiscoveryRequest; `resourceNames` is decoded on first use and `namesKey` holds its raw bytes. */
export function decodeSotwRequest(type: protobuf.Type, bytes: Uint8Array): DiscoveryRequest {
  const span = namesSpan(bytes);
  if (!span) return type.decode(bytes) as unknown as DiscoveryRequest;
  const rest = Buffer.concat([bytes.subarray(0, span.start), bytes.subarray(span.end)]);
  const request = type.decode(rest) as unknown as DiscoveryRequest;
  const raw = Buffer.from(bytes.subarray(span.start, span.end));
  let names: string[] | undefined;
  Object.defineProperty(request, 'resourceNames', {
    get: () => (names ??= decodeNames(raw)),
    enumerable: true,
  });
  request.namesKey = raw;
  request.nameCount = span.count;
  return request;
}

function decodeNames(raw: Uint8Array): string[] {
  const reader = protobuf.Reader.create(raw);
  const out: string[] = [];
  while (reader.pos < reader.len) {
    reader.uint32(); // tag of field 3
    out.push(reader.string());
  }
  return out;
}
