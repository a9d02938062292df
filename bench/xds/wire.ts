/**
 * Just enough of the protobuf wire format for the load generator: the envelope of SotW and Delta
 * discovery responses (resources are left as byte ranges, so 2,000 simulated proxies do not pay for
 * 2,000 full decodes of the same 1,000 clusters), the few resource fields a proxy needs (a cluster's
 * EDS service name, a load assignment's cluster name), and DiscoveryRequest / DeltaDiscoveryRequest
 * encoding with a cached `resource_names` block.
 */

/** The ADS methods' paths on the wire. */
export const SOTW_ADS = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
export const DELTA_ADS = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';

/** A byte range of a buffer. */
export interface Span {
  start: number;
  end: number;
}

/** Reads a varint at `pos`; returns [value, next position]. Values above 2^53 lose precision (never used here). */
export function varint(buf: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let mul = 1;
  for (;;) {
    const b = buf[pos++]!;
    value += (b & 0x7f) * mul;
    if (b < 0x80) return [value, pos];
    mul *= 128;
  }
}

/** Calls `field(number, wireType, start, end)` for each field in `[start, end)`; for wire type 2, start/end delimit the payload. */
export function eachField(buf: Uint8Array, start: number, end: number, field: (no: number, wire: number, s: number, e: number) => void): void {
  let pos = start;
  while (pos < end) {
    const [key, p] = varint(buf, pos);
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      const [, q] = varint(buf, p);
      field(no, wire, p, q);
      pos = q;
    } else if (wire === 2) {
      const [len, q] = varint(buf, p);
      field(no, wire, q, q + len);
      pos = q + len;
    } else if (wire === 1) {
      field(no, wire, p, p + 8);
      pos = p + 8;
    } else if (wire === 5) {
      field(no, wire, p, p + 4);
      pos = p + 4;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
}

const text = (buf: Buffer, s: number, e: number) => buf.toString('latin1', s, e);

export interface SotwResponse {
  version: string;
  typeUrl: string;
  nonce: string;
  /** The `Any` of each resource. */
  resources: Span[];
}

/** DiscoveryResponse: version_info (1), resources (2), type_url (4), nonce (5). */
export function parseSotwResponse(buf: Buffer): SotwResponse {
  const out: SotwResponse = { version: '', typeUrl: '', nonce: '', resources: [] };
  eachField(buf, 0, buf.length, (no, _w, s, e) => {
    if (no === 1) out.version = text(buf, s, e);
    else if (no === 2) out.resources.push({ start: s, end: e });
    else if (no === 4) out.typeUrl = text(buf, s, e);
    else if (no === 5) out.nonce = text(buf, s, e);
  });
  return out;
}

export interface DeltaResource {
  name: string;
  version: string;
  /** The `Any` of the resource. */
  any: Span;
}

export interface DeltaResponse {
  systemVersion: string;
  typeUrl: string;
  nonce: string;
  resources: DeltaResource[];
  removed: string[];
}

/** DeltaDiscoveryResponse: system_version_info (1), resources (2: Resource name 3, version 1, resource 2), type_url (4), nonce (5), removed_resources (6). */
export function parseDeltaResponse(buf: Buffer): DeltaResponse {
  const out: DeltaResponse = { systemVersion: '', typeUrl: '', nonce: '', resources: [], removed: [] };
  eachField(buf, 0, buf.length, (no, _w, s, e) => {
    if (no === 1) out.systemVersion = text(buf, s, e);
    else if (no === 2) {
      const r: DeltaResource = { name: '', version: '', any: { start: 0, end: 0 } };
      eachField(buf, s, e, (n, _w2, a, b) => {
        if (n === 3) r.name = text(buf, a, b);
        else if (n === 1) r.version = text(buf, a, b);
        else if (n === 2) r.any = { start: a, end: b };
      });
      out.resources.push(r);
    } else if (no === 4) out.typeUrl = text(buf, s, e);
    else if (no === 5) out.nonce = text(buf, s, e);
    else if (no === 6) out.removed.push(text(buf, s, e));
  });
  return out;
}

/** The message bytes inside an `Any` (field 2). */
export function anyValue(buf: Buffer, any: Span): Span {
  let value: Span = { start: any.end, end: any.end };
  eachField(buf, any.start, any.end, (no, _w, s, e) => {
    if (no === 2) value = { start: s, end: e };
  });
  return value;
}

/** A cluster's name (1) and, for an EDS cluster, `eds_cluster_config` (3) → `service_name` (2). */
export function clusterInfo(buf: Buffer, msg: Span): { name: string; edsName?: string } {
  let name = '';
  let edsName: string | undefined;
  eachField(buf, msg.start, msg.end, (no, _w, s, e) => {
    if (no === 1) name = text(buf, s, e);
    else if (no === 3) {
      eachField(buf, s, e, (n, _w2, a, b) => {
        if (n === 2) edsName = text(buf, a, b);
      });
    }
  });
  return edsName === undefined ? { name } : { name, edsName };
}

/** A ClusterLoadAssignment's `cluster_name` (1), which is its EDS resource name. */
export function loadAssignmentName(buf: Buffer, msg: Span): string {
  let name = '';
  eachField(buf, msg.start, msg.end, (no, _w, s, e) => {
    if (no === 1 && name === '') name = text(buf, s, e);
  });
  return name;
}

// ---- encoding ----

function varintBytes(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** One length-delimited field (tag, length, bytes). */
export function lenField(no: number, payload: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([...varintBytes(no * 8 + 2), ...varintBytes(payload.length)]), payload]);
}

const str = (no: number, s: string): Buffer => lenField(no, Buffer.from(s, 'latin1'));

/** A block of repeated string fields, built once and reused by every request that carries the same list. */
export function repeatedStrings(no: number, names: readonly string[]): Buffer {
  return Buffer.concat(names.map((n) => str(no, n)));
}

/** DiscoveryRequest: version_info (1), node (2), resource_names (3, pre-encoded), type_url (4), response_nonce (5). */
export function encodeSotwRequest(r: { version: string; node?: Uint8Array; names?: Buffer; typeUrl: string; nonce: string }): Buffer {
  const parts: Buffer[] = [];
  if (r.version) parts.push(str(1, r.version));
  if (r.node) parts.push(lenField(2, r.node));
  if (r.names) parts.push(r.names);
  parts.push(str(4, r.typeUrl));
  if (r.nonce) parts.push(str(5, r.nonce));
  return Buffer.concat(parts);
}

/** DeltaDiscoveryRequest: node (1), type_url (2), resource_names_subscribe (3), resource_names_unsubscribe (4), response_nonce (6). */
export function encodeDeltaRequest(r: { node?: Uint8Array; typeUrl: string; subscribe?: readonly string[]; unsubscribe?: readonly string[]; nonce?: string }): Buffer {
  const parts: Buffer[] = [];
  if (r.node) parts.push(lenField(1, r.node));
  parts.push(str(2, r.typeUrl));
  if (r.subscribe?.length) parts.push(repeatedStrings(3, r.subscribe));
  if (r.unsubscribe?.length) parts.push(repeatedStrings(4, r.unsubscribe));
  if (r.nonce) parts.push(str(6, r.nonce));
  return Buffer.concat(parts);
}
