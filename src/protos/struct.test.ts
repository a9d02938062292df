import { describe, expect, it } from 'vitest';
import { messageType } from './loader.ts';
import { plainToStruct, structToPlain, type StructMsg } from './struct.ts';

const CASES: [string, Record<string, unknown>][] = [
  ['empty', {}],
  ['strings, including empty', { role: 'gateway', empty: '' }],
  ['numbers, including zero, negative and fractional', { zero: 0, n: 42, neg: -7, frac: 0.25, big: 2 ** 53 - 1 }],
  ['booleans', { yes: true, no: false }],
  ['null', { nothing: null }],
  ['lists, mixed, empty and nested', { list: [1, 'two', true, null, [], [3, [4]], { k: 'v' }] }],
  ['nested objects', { a: { b: { c: { d: 'deep', e: 0, f: false } }, empty: {} } }],
  ['keys that look special', { '': 'blank key', 'a.b': 1, constructor: 'x', 'role ': 'y' }],
];

describe('plainToStruct / structToPlain', () => {
  it.each(CASES)('%s: round trip as plain objects', (_name, plain) => {
    expect(structToPlain(plainToStruct(plain))).toEqual(plain);
  });

  it('builds the Struct message shape', () => {
    expect(plainToStruct({ s: 'x', n: 1, b: false, z: null, l: ['y'], o: { k: true } })).toEqual({
      fields: {
        s: { stringValue: 'x' },
        n: { numberValue: 1 },
        b: { boolValue: false },
        z: { nullValue: 0 },
        l: { listValue: { values: [{ stringValue: 'y' }] } },
        o: { structValue: { fields: { k: { boolValue: true } } } },
      },
    });
  });

  it('turns undefined into null', () => {
    expect(structToPlain(plainToStruct({ u: undefined }))).toEqual({ u: null });
  });

  it.each([null, undefined, {}, { fields: {} }])('reads %j as an empty object', (s) => {
    expect(structToPlain(s as StructMsg | null | undefined)).toEqual({});
  });

  it('reads a value with no kind set as null', () => {
    expect(structToPlain({ fields: { k: {} } })).toEqual({ k: null });
  });
});

describe('through protobufjs encode/decode', () => {
  const Struct = messageType('google.protobuf.Struct');
  const Node = messageType('envoy.config.core.v3.Node');

  it.each(CASES)('%s: google.protobuf.Struct', (_name, plain) => {
    const bytes = Struct.encode(Struct.fromObject(plainToStruct(plain))).finish();
    const decoded = Struct.decode(bytes) as unknown as StructMsg;
    expect(structToPlain(decoded)).toEqual(plain);
  });

  it('envoy.config.core.v3.Node metadata survives the wire', () => {
    const metadata = { role: 'sidecar', service: 'cart', namespace: 'shop', replicas: 3, canary: false, tags: ['a', 'b'], extra: { ports: [80, 443], owner: null } };
    const node = Node.fromObject({ id: 'sidecar~10.0.0.1~cart', cluster: 'cart', metadata: plainToStruct(metadata) });
    const decoded = Node.decode(Node.encode(node).finish()) as unknown as { id: string; metadata: StructMsg };
    expect(decoded.id).toBe('sidecar~10.0.0.1~cart');
    expect(structToPlain(decoded.metadata)).toEqual(metadata);
  });

  it('reads the plain-object form of a decoded Struct too (toObject, with oneof names)', () => {
    const plain = { s: 'x', n: 0, b: false, z: null, l: [1, []], o: { k: '' } };
    const decoded = Struct.decode(Struct.encode(Struct.fromObject(plainToStruct(plain))).finish());
    for (const options of [{}, { defaults: true, oneofs: true }, { enums: String, defaults: true }]) {
      const object = Struct.toObject(decoded, options) as StructMsg;
      expect(structToPlain(object)).toEqual(plain);
    }
  });
});
