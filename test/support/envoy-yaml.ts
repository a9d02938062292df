/**
 * Envoy YAML (proto3 JSON mapping: snake_case names, "5s" durations, bare wrapper scalars, Structs as
 * plain objects, Anys with `@type`) → the plain object protobufjs `fromObject` expects (camelCase
 * names, since the Root is loaded with keepCase false). Walks the message type alongside the value,
 * so a key protobufjs would silently drop (a typo, an unknown enum name, an unresolvable `@type`)
 * is an issue with its field path instead.
 */
import protobuf from 'protobufjs';
import { issue, type Issue, type Result } from '../../src/lib/result.ts';
import { plainToStruct } from '../../src/protos/struct.ts';
import type { Plain } from '../../src/protos/type-urls.ts';

type Converter = (value: unknown, path: string, out: Issue[], type: protobuf.Type) => unknown;

const WKT = '.google.protobuf.';
const WRAPPERS = ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map((n) => `${WKT}${n}Value`);
const I32: [bigint, bigint] = [-(2n ** 31n), 2n ** 31n - 1n];
const U32: [bigint, bigint] = [0n, 2n ** 32n - 1n];
const I64: [bigint, bigint] = [-(2n ** 63n), 2n ** 63n - 1n];
const U64: [bigint, bigint] = [0n, 2n ** 64n - 1n];
/** The range of each protobuf integer kind. */
const INT_RANGES: Record<string, [bigint, bigint]> = {
  int32: I32, sint32: I32, sfixed32: I32, uint32: U32, fixed32: U32,
  int64: I64, sint64: I64, sfixed64: I64, uint64: U64, fixed64: U64,
};
const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;

const DEPRECATED = 'is deprecated in the Envoy API';

/**
 * Converts an Envoy YAML/JSON value of message `type` into protobufjs' plain shape, or the issues that
 * stop it. Fields and enum values marked `deprecated` are issues too unless `allowDeprecated`: Envoy
 * rejects some of them outright and warns on the rest.
 */
export function envoyYamlToPlain(type: protobuf.Type, value: unknown, opts: { allowDeprecated?: boolean } = {}): Result<Plain> {
  let out: Issue[] = [];
  const plain = convertMessage(type, value, '', out);
  if (opts.allowDeprecated) out = out.filter((i) => i.message !== DEPRECATED);
  return out.length ? { ok: false, issues: out } : { ok: true, value: plain as Plain };
}

/** The well-known types whose JSON form is not an object of their fields (proto3 JSON mapping). */
const SPECIAL: Record<string, Converter> = {
  [`${WKT}Duration`]: (v, path, out) => secondsAndNanos(v, DURATION, path, out, parseDuration),
  [`${WKT}Timestamp`]: (v, path, out) => secondsAndNanos(v, TIMESTAMP, path, out, parseTimestamp),
  [`${WKT}Struct`]: (v, path, out) => (isObject(v) ? namedNulls(plainToStruct(v)) : void out.push(issue(path, 'must be an object (Struct)'))),
  [`${WKT}Value`]: (v) => namedNulls(plainToStruct({ v }).fields?.v),
  [`${WKT}ListValue`]: (v, path, out) =>
    Array.isArray(v) ? namedNulls(plainToStruct({ v }).fields?.v?.listValue) : void out.push(issue(path, 'must be a list')),
  [`${WKT}FieldMask`]: (v, path, out) =>
    typeof v === 'string' ? { paths: v.split(',').filter(Boolean).map(snake) } : void out.push(issue(path, 'must be a string (FieldMask)')),
  [`${WKT}Empty`]: (v, path, out) => (isObject(v) && Object.keys(v).length === 0 ? {} : void out.push(issue(path, 'must be {} (Empty)'))),
  [`${WKT}Any`]: convertAny,
  ...Object.fromEntries(WRAPPERS.map((name) => [name, convertWrapper])),
};

function convertMessage(type: protobuf.Type, value: unknown, path: string, out: Issue[]): unknown {
  const special = SPECIAL[type.fullName];
  if (special) return special(value, path, out, type);
  if (!isObject(value)) return void out.push(issue(path, `must be an object (${type.fullName.slice(1)})`));
  const result: Plain = {};
  const oneofs = new Map<string, string>();
  for (const [key, v] of Object.entries(value)) {
    const p = join(path, key);
    const field = fieldFor(type, key);
    if (!field) {
      out.push(issue(p, `is not a field of ${type.fullName.slice(1)}`));
      continue;
    }
    if (v === null) continue; // proto3 JSON: null means "default", i.e. not set
    if (field.options?.deprecated === true) out.push(issue(p, DEPRECATED));
    if (field.partOf) {
      const other = oneofs.get(field.partOf.name);
      if (other !== undefined) out.push(issue(p, `is in oneof ${snake(field.partOf.name)} with ${other}: set only one`));
      oneofs.set(field.partOf.name, key);
    }
    result[field.name] = convertField(field, v, p, out);
  }
  return result;
}

/** YAML may name a field in snake_case (the proto name) or lowerCamel (its JSON name); protobufjs keys fields by the latter. */
function fieldFor(type: protobuf.Type, key: string): protobuf.Field | undefined {
  const name = [protobuf.util.camelCase(key), key].find((n) => Object.hasOwn(type.fields, n));
  return name === undefined ? undefined : type.fields[name];
}

function convertField(field: protobuf.Field, value: unknown, path: string, out: Issue[]): unknown {
  field.resolve();
  if (field.map) {
    // Map keys are data (cluster names, extension names, metadata keys): never re-cased.
    if (!isObject(value)) return void out.push(issue(path, 'must be an object (map)'));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convertSingle(field, v, `${path}[${JSON.stringify(k)}]`, out)]));
  }
  if (field.repeated) {
    if (!Array.isArray(value)) return void out.push(issue(path, 'must be a list'));
    return value.map((v, i) => convertSingle(field, v, `${path}[${i}]`, out));
  }
  return convertSingle(field, value, path, out);
}

function convertSingle(field: protobuf.Field, value: unknown, path: string, out: Issue[]): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return convertMessage(t, value, path, out);
  if (t instanceof protobuf.Enum) return convertEnum(t, value, path, out);
  return convertScalar(field.type, value, path, out);
}

/** protobufjs' fromObject skips an enum name it does not know; here it is an issue. */
function convertEnum(e: protobuf.Enum, value: unknown, path: string, out: Issue[]): unknown {
  if (typeof value === 'string' && Object.hasOwn(e.values, value)) {
    if (e.valuesOptions?.[value]?.deprecated === true) out.push(issue(path, DEPRECATED));
    return value;
  }
  // By name when known: decoding gives names back, and the round-trip comparison needs the same form.
  if (typeof value === 'number' && Number.isInteger(value)) return e.valuesById[value] ?? value;
  out.push(issue(path, `must be one of ${Object.keys(e.values).join(', ')} (${e.name}), got ${JSON.stringify(value)}`));
  return undefined;
}

/** Checks a scalar's JSON type, because protobufjs would coerce a mistyped value (e.g. "abc" → 0) without a word. */
function convertScalar(kind: string, value: unknown, path: string, out: Issue[]): unknown {
  const bad = (what: string) => void out.push(issue(path, `must be ${what}, got ${JSON.stringify(value)}`));
  if (kind === 'string') return typeof value === 'string' ? value : bad('a string');
  if (kind === 'bool') return typeof value === 'boolean' ? value : bad('true or false');
  if (kind === 'bytes') return typeof value === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(value) ? value : bad('base64 text');
  if (kind === 'double' || kind === 'float') {
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    return typeof n === 'number' && !Number.isNaN(n) ? n : bad('a number');
  }
  const text = typeof value === 'number' || typeof value === 'string' ? String(value).trim() : '';
  if (!/^-?\d+$/.test(text)) return bad('an integer');
  const range = INT_RANGES[kind];
  if (!range) return bad(`a ${kind}, which this converter does not know`);
  const [lo, hi] = range;
  const n = BigInt(text);
  if (n < lo || n > hi) return bad(`an integer from ${lo} to ${hi} (${kind})`);
  return hi > U32[1] ? text : Number(n); // 64-bit values stay text, so no digit is lost on the way to protobufjs
}

/** Wrapper types (UInt32Value, BoolValue, ...) appear in JSON as their bare scalar. */
function convertWrapper(value: unknown, path: string, out: Issue[], type: protobuf.Type): unknown {
  const inner = type.fields.value;
  if (!inner) return undefined;
  const v = isObject(value) && Object.keys(value).length === 1 && 'value' in value ? value.value : value; // tolerate {value: x}
  return { value: convertScalar(inner.type, v, path, out) };
}

/** `{"@type": url, ...fields}`; a well-known inner type with a special JSON form carries it in `value`. */
function convertAny(value: unknown, path: string, out: Issue[], anyType: protobuf.Type): unknown {
  if (!isObject(value)) return void out.push(issue(path, 'must be an object (Any)'));
  const { '@type': url, ...rest } = value;
  if (typeof url !== 'string' || url === '') {
    if (Object.keys(rest).length) out.push(issue(join(path, '@type'), 'is required when an Any has fields'));
    return {};
  }
  // protobufjs turns an Any whose @type it cannot resolve into an empty Any, dropping every field.
  const inner = anyType.root.lookup(url.slice(url.lastIndexOf('/') + 1));
  if (!(inner instanceof protobuf.Type)) return void out.push(issue(join(path, '@type'), `names no known message type: ${url}`));
  const special = SPECIAL[inner.fullName];
  const converted = special ? special(rest.value, join(path, 'value'), out, inner) : convertMessage(inner, rest, path, out);
  return { '@type': url, ...(converted as object) };
}

type Parsed = { seconds: number; nanos: number } | undefined;

function secondsAndNanos(value: unknown, re: RegExp, path: string, out: Issue[], parse: (m: RegExpExecArray) => Parsed): unknown {
  const m = typeof value === 'string' ? re.exec(value) : null;
  const parsed = m ? parse(m) : undefined;
  if (!parsed) return void out.push(issue(path, `must be ${re === DURATION ? 'a duration such as "5s" or "0.250s"' : 'an RFC 3339 time'}, got ${JSON.stringify(value)}`));
  return parsed;
}

function parseDuration(m: RegExpExecArray): Parsed {
  const sign = m[1] ? -1 : 1;
  const seconds = Number(m[2]);
  if (seconds > 315_576_000_000) return undefined; // the range google.protobuf.Duration allows
  return { seconds: sign * seconds || 0, nanos: sign * Number((m[3] ?? '').padEnd(9, '0')) || 0 };
}

function parseTimestamp(m: RegExpExecArray): Parsed {
  const ms = Date.parse(`${m[1]}${m[3]}`);
  return Number.isNaN(ms) ? undefined : { seconds: Math.floor(ms / 1000), nanos: Number((m[2] ?? '').padEnd(9, '0')) };
}

/**
 * Compares what was sent to `fromObject` with what came back from `decodeToPlain`: every value that
 * was set must come back equal. A difference means protobufjs dropped or changed something on the way.
 */
export function lostInRoundTrip(sent: unknown, decoded: unknown, path = ''): Issue[] {
  if (isObject(sent)) {
    if (!isObject(decoded)) return [issue(path, `was an object, came back as ${JSON.stringify(decoded)}`)];
    return Object.entries(sent).flatMap(([k, v]) => lostInRoundTrip(v, decoded[k], join(path, k)));
  }
  if (Array.isArray(sent)) {
    if (sent.length === 0) return [];
    if (!Array.isArray(decoded) || decoded.length !== sent.length) return [issue(path, `had ${sent.length} item(s), came back as ${JSON.stringify(decoded)}`)];
    return sent.flatMap((v, i) => lostInRoundTrip(v, decoded[i], `${path}[${i}]`));
  }
  // proto3 does not put scalar defaults on the wire, so they come back absent.
  if (decoded === undefined && (sent === 0 || sent === '' || sent === false || sent === '0')) return [];
  return sameScalar(sent, decoded) ? [] : [issue(path, `was ${JSON.stringify(sent)}, came back as ${JSON.stringify(decoded)}`)];
}

function sameScalar(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a)); // float32 fields round
  return a !== undefined && b !== undefined && String(a) === String(b); // 64-bit integers come back as strings
}

/** plainToStruct writes a JSON null as `nullValue: 0`; decoding gives the enum's name back, so use the name. */
function namedNulls<T>(v: T): T {
  if (Array.isArray(v)) return v.map(namedNulls) as T;
  if (!isObject(v)) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'nullValue' && x === 0 ? 'NULL_VALUE' : namedNulls(x)])) as T;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** FieldMask paths are lowerCamel in JSON and snake_case in the message. */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
