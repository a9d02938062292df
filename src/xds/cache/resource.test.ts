import { describe, expect, it } from 'vitest';
import { contentHash } from '../../lib/hash.ts';
import { messageType } from '../../protos/loader.ts';
import { decodeToPlain, TYPE_URLS } from '../../protos/type-urls.ts';
import { encodeAny, ResourceEncoder } from './resource.ts';

const CLA_URL = TYPE_URLS.endpoint;
const claOf = (name: string, port = 8080) => ({
  clusterName: name,
  endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '10.0.0.1', portValue: port } } } }] }],
});
const ALL = ['grpc', 'gateway', 'sidecar'] as const;

describe('ResourceEncoder', () => {
  it('encodes once: the same content again gives the very same object, even from a fresh copy', () => {
    const encoder = new ResourceEncoder();
    const a = encoder.encode(CLA_URL, 'a', claOf('a'), ALL);
    expect(encoder.encode(CLA_URL, 'a', claOf('a'), ALL)).toBe(a);
    expect(encoder.encode(CLA_URL, 'a', structuredClone(claOf('a')), [...ALL])).toBe(a);
  });

  it('gives changed content a new object and a new version', () => {
    const encoder = new ResourceEncoder();
    const before = encoder.encode(CLA_URL, 'a', claOf('a', 8080), ALL);
    const after = encoder.encode(CLA_URL, 'a', claOf('a', 9090), ALL);
    expect(after).not.toBe(before);
    expect(after.version).not.toBe(before.version);
    // and going back gives the first version again: versions are content, not counters
    expect(encoder.encode(CLA_URL, 'a', claOf('a', 8080), ALL).version).toBe(before.version);
  });

  it('versions by content hash of the encoded bytes, the same across encoder instances', () => {
    const one = new ResourceEncoder().encode(CLA_URL, 'a', claOf('a'), ALL);
    const two = new ResourceEncoder().encode(CLA_URL, 'a', claOf('a'), ['grpc']);
    expect(one.version).toBe(two.version);
    expect(one.version).toBe(contentHash(one.encoded));
    expect(one.version).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('keeps the version when only the key order of the input differs', () => {
    const encoder = new ResourceEncoder();
    const { clusterName, endpoints } = claOf('a');
    const a = encoder.encode(CLA_URL, 'a', { clusterName, endpoints }, ALL);
    const b = encoder.encode(CLA_URL, 'a', { endpoints, clusterName }, ALL);
    expect(b.version).toBe(a.version);
  });

  it('carries the roles; new roles make a new object with the same version', () => {
    const encoder = new ResourceEncoder();
    const all = encoder.encode(CLA_URL, 'a', claOf('a'), ALL);
    const grpc = encoder.encode(CLA_URL, 'a', claOf('a'), ['grpc']);
    expect([...all.roles]).toEqual(['grpc', 'gateway', 'sidecar']);
    expect([...grpc.roles]).toEqual(['grpc']);
    expect(grpc).not.toBe(all);
    expect(grpc.version).toBe(all.version);
  });

  it('keeps separate entries per type and name', () => {
    const encoder = new ResourceEncoder();
    const a = encoder.encode(CLA_URL, 'a', claOf('x'), ALL);
    const b = encoder.encode(CLA_URL, 'b', claOf('x'), ALL);
    expect([a.name, b.name]).toEqual(['a', 'b']);
    expect(b).not.toBe(a);
    expect(encoder.encode(CLA_URL, 'a', claOf('x'), ALL)).toBe(a);
  });

  it('encodes the message bytes of the resource type, and wraps them in an Any', () => {
    const r = new ResourceEncoder().encode(CLA_URL, 'a', claOf('a'), ALL);
    expect(r.typeUrl).toBe(CLA_URL);
    const type = messageType('envoy.config.endpoint.v3.ClusterLoadAssignment');
    expect(decodeToPlain(type, r.encoded)).toEqual(claOf('a'));
    // protobufjs defines google.protobuf.Any itself, with the proto field names
    const any = messageType('google.protobuf.Any').decode(r.any) as unknown as { type_url: string; value: Uint8Array };
    expect(any.type_url).toBe('type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment');
    expect(Buffer.from(any.value).equals(Buffer.from(r.encoded))).toBe(true);
  });

  it('throws on content protobufjs cannot convert', () => {
    expect(() => new ResourceEncoder().encode(CLA_URL, 'a', { clusterName: 'a', endpoints: 'none' }, ALL)).toThrow(/endpoints/);
  });

  it('retain() forgets names no longer built and keeps the live ones', () => {
    const encoder = new ResourceEncoder();
    const a = encoder.encode(CLA_URL, 'a', claOf('a'), ALL);
    const b = encoder.encode(CLA_URL, 'b', claOf('b'), ALL);
    encoder.retain(new Set([`${CLA_URL}\0a`]));
    expect(encoder.encode(CLA_URL, 'a', claOf('a'), ALL)).toBe(a);
    const again = encoder.encode(CLA_URL, 'b', claOf('b'), ALL);
    expect(again).not.toBe(b); // encoded anew...
    expect(again.version).toBe(b.version); // ...to the same bytes
  });

  it('retain() keys by type as well as name', () => {
    const encoder = new ResourceEncoder();
    const a = encoder.encode(CLA_URL, 'a', claOf('a'), ALL);
    encoder.retain(new Set([`${TYPE_URLS.cluster}\0a`]));
    expect(encoder.encode(CLA_URL, 'a', claOf('a'), ALL)).not.toBe(a);
  });
});

describe('encodeAny', () => {
  const cases: { name: string; typeUrl: string; value: Uint8Array }[] = [
    { name: 'empty value', typeUrl: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', value: new Uint8Array() },
    { name: 'some bytes', typeUrl: 'type.googleapis.com/x.Y', value: new Uint8Array([10, 1, 97, 0, 255]) },
    { name: 'a value longer than 127 bytes (multi-byte length)', typeUrl: 'type.googleapis.com/x.Y', value: new Uint8Array(300).fill(7) },
  ];
  it.each(cases)('equals protobufjs’ own Any encoding: $name', ({ typeUrl, value }) => {
    const Any = messageType('google.protobuf.Any');
    const want = Any.encode(Any.create({ type_url: typeUrl, value })).finish();
    expect(Buffer.from(encodeAny(typeUrl, value)).equals(Buffer.from(want))).toBe(true);
  });
});
