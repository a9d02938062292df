/**
 * Checks that a plain Envoy object is what Envoy would accept: every key is a field of the message
 * (protobufjs silently drops unknown keys and unknown enum names), every `@type` resolves, and the
 * encoded bytes pass the PGV rules of Envoy's protos with zero issues.
 */
import protobuf from 'protobufjs';
import { expect } from 'vitest';
import type { Plain } from '../../src/envoy/common.ts';
import { envoyRoot, messageType } from '../../src/protos/loader.ts';
import { encodeMessage, messageNameOf } from '../../src/protos/type-urls.ts';
import { validateEncoded } from '../../src/protos/validate.ts';

/** Encodes `plain` as `messageName` (a top-level `@type` must name it), expects it complete and valid; returns the bytes. */
export function expectValidEnvoy(messageName: string, plain: Plain): Uint8Array {
  const { '@type': typeUrl, ...fields } = plain;
  if (typeUrl !== undefined) expect(messageNameOf(String(typeUrl)), 'top-level @type').toBe(messageName);
  const type = messageType(messageName);
  expect(unknownFields(type, fields), `fields unknown to ${messageName}`).toEqual([]);
  const bytes = encodeMessage(type, fields);
  expect(validateEncoded(type, bytes), `PGV issues of ${messageName}`).toEqual([]);
  return bytes;
}

/** Paths in `plain` that `type` has no field (or enum value) for, following nested `@type` Anys. */
export function unknownFields(type: protobuf.Type, plain: Plain, path = ''): string[] {
  if (type.fullName === '.google.protobuf.Any') return unknownInAny(plain, path);
  const out: string[] = [];
  for (const [key, value] of Object.entries(plain)) {
    const at = path ? `${path}.${key}` : key;
    const field = type.fields[key];
    if (!field) {
      out.push(at);
      continue;
    }
    field.resolve();
    const items: [string, unknown][] = field.map
      ? Object.entries(value as Plain).map(([k, v]) => [`${at}[${JSON.stringify(k)}]`, v])
      : field.repeated
        ? (value as unknown[]).map((v, i) => [`${at}[${i}]`, v])
        : [[at, value]];
    for (const [p, v] of items) out.push(...unknownInValue(field.resolvedType, v, p));
  }
  return out;
}

function unknownInValue(t: protobuf.ReflectionObject | null, value: unknown, path: string): string[] {
  if (t instanceof protobuf.Enum) return typeof value === 'string' && !(value in t.values) ? [`${path} (enum value ${value})`] : [];
  if (t instanceof protobuf.Type && value && typeof value === 'object') return unknownFields(t, value as Plain, path);
  return [];
}

function unknownInAny(plain: Plain, path: string): string[] {
  const { '@type': url, ...fields } = plain;
  if (typeof url !== 'string') return [`${path} (Any without @type)`];
  const inner = envoyRoot().lookup(messageNameOf(url));
  if (!(inner instanceof protobuf.Type)) return [`${path} (unknown @type ${url})`];
  return unknownFields(inner, fields, `${path}<${messageNameOf(url)}>`);
}
