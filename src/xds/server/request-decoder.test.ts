import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { messageType } from '../../protos/loader.ts';
import { decodeSotwRequest, namesSpan } from './request-decoder.ts';

const type = messageType('envoy.service.discovery.v3.DiscoveryRequest');
const encode = (m: object) => type.encode(type.fromObject(m)).finish();
const request = {
  versionInfo: 'v1',
  typeUrl: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  resourceNames: ['a~1', 'b~2', 'c~3'],
  responseNonce: '7@x',
};

describe('decodeSotwRequest', () => {
  it('decodes like protobufjs, with the names decoded on demand and their raw bytes kept', () => {
    const bytes = encode(request);
    const decoded = decodeSotwRequest(type, bytes);
    expect(decoded.nameCount).toBe(3);
    expect(decoded.versionInfo).toBe('v1');
    expect(decoded.responseNonce).toBe('7@x');
    expect(decoded.resourceNames).toEqual(['a~1', 'b~2', 'c~3']);
    expect(decoded.namesKey?.equals(decodeSotwRequest(type, encode({ ...request, responseNonce: '8@x' })).namesKey!)).toBe(true);
    expect(decoded.namesKey?.equals(decodeSotwRequest(type, encode({ ...request, resourceNames: ['a~1'] })).namesKey!)).toBe(false);
  });

  it('has no names key for a request without names', () => {
    const decoded = decodeSotwRequest(type, encode({ ...request, resourceNames: [] }));
    expect(decoded.namesKey).toBeUndefined();
    expect(decoded.resourceNames).toEqual([]);
  });

  it('falls back to the full decoder when names are interleaved with other fields', () => {
    const w = protobuf.Writer.create();
    w.uint32(26).string('a').uint32(34).string('type.googleapis.com/x').uint32(26).string('b');
    const bytes = w.finish();
    expect(namesSpan(bytes)).toBeUndefined();
    const decoded = decodeSotwRequest(type, bytes);
    expect(decoded.resourceNames).toEqual(['a', 'b']);
    expect(decoded.namesKey).toBeUndefined();
  });

  it('throws on bytes that are not a message, so the stream ends with INVALID_ARGUMENT', () => {
    expect(() => decodeSotwRequest(type, new Uint8Array([0xff, 0xff, 0xff]))).toThrow();
  });
});
