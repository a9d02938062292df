/**
 * protoc-gen-validate (PGV) rules, checked at run time: reads the `(validate.*)` annotations that
 * protobufjs keeps in `parsedOptions` and applies them to decoded messages, so the control plane can
 * refuse a resource Envoy would NACK. Semantics follow PGV's Go templates (proto3: scalar rules see
 * default values; unset oneof members and unset message fields only answer to `required`).
 */
import net from 'node:net';
import protobuf from 'protobufjs';
import { issue, type Issue } from '../lib/result.ts';
import { envoyRoot } from './loader.ts';

/** A `(validate.rules)` value as parsed from .proto text: its shape is only known at run time. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Rule = Record<string, any>;
type Msg = Record<string, unknown>;
type Num = number | bigint;

interface FieldPlan { field: protobuf.Field; name: string; rules: Rule | undefined }
interface OneofPlan { name: string; members: protobuf.Field[]; names: string }
interface TypePlan { skip: boolean; fields: FieldPlan[]; oneofs: OneofPlan[] }

const WKT = '.google.protobuf.';
const WRAPPERS = new Set(['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map((n) => `${WKT}${n}Value`));
const INT_KINDS = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64']);

/** Checks a decoded message against the PGV rules of its type (recursing into sub-messages, repeated, maps and google.protobuf.Any by type URL); returns every violation with a field path. */
export function validateMessage(type: protobuf.Type, message: protobuf.Message | object): Issue[] {
  let msg: Msg;
  try {
    // Plain objects go through fromObject so enum names, string longs and `@type` Anys look decoded.
    msg = (message instanceof protobuf.Message ? message : type.fromObject(message as Msg)) as unknown as Msg;
  } catch (e) {
    return [issue('', `cannot convert to ${type.fullName.slice(1)}: ${errorText(e)}`)];
  }
  const out: Issue[] = [];
  checkMessage(type, msg, '', out);
  return out;
}

/** Decodes bytes of `type` and validates them. */
export function validateEncoded(type: protobuf.Type, bytes: Uint8Array): Issue[] {
  let msg: protobuf.Message;
  try {
    msg = type.decode(bytes);
  } catch (e) {
    return [issue('', `cannot decode ${type.fullName.slice(1)}: ${errorText(e)}`)];
  }
  return validateMessage(type, msg);
}

// ---------- per-type plans (options are read once per type) ----------

const plans = new WeakMap<protobuf.Type, TypePlan>();

function planFor(type: protobuf.Type): TypePlan {
  let plan = plans.get(type);
  if (plan) return plan;
  const opts = type.options ?? {};
  const fields: FieldPlan[] = [];
  for (const field of type.fieldsArray) {
    field.resolve();
    const rules = rulesOf(field);
    // Scalars without rules can never fail; message fields are kept because we recurse into them.
    if (rules || field.resolvedType instanceof protobuf.Type) fields.push({ field, name: snake(field.name), rules });
  }
  const oneofs = type.oneofsArray
    .filter((o) => o.options?.['(validate.required)'] === true)
    .map((o) => ({ name: snake(o.name), members: o.fieldsArray, names: o.oneof.map(snake).join(', ') }));
  plan = { skip: opts['(validate.disabled)'] === true || opts['(validate.ignored)'] === true, fields, oneofs };
  plans.set(type, plan);
  return plan;
}

/** protobufjs folds all `(validate.rules).x = ...` of a field into one entry; assign() covers odd cases. */
function rulesOf(field: protobuf.Field): Rule | undefined {
  const found = ((field.parsedOptions ?? []) as Rule[]).flatMap((o) => (o['(validate.rules)'] ? [o['(validate.rules)'] as Rule] : []));
  return found.length > 1 ? Object.assign({}, ...found) : found[0];
}

/** protobufjs camel-cases names (keepCase: false); Envoy's proto names are lower snake_case, so this inverts it. */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

// ---------- walking messages ----------

function checkMessage(type: protobuf.Type, msg: Msg, path: string, out: Issue[]): void {
  const plan = planFor(type);
  if (plan.skip) return;
  for (const o of plan.oneofs) {
    if (!o.members.some((f) => isSet(msg, f))) out.push(issue(join(path, o.name), `exactly one of [${o.names}] is required`));
  }
  for (const fp of plan.fields) checkField(fp, msg, join(path, fp.name), out);
}

function checkField({ field, rules }: FieldPlan, msg: Msg, path: string, out: Issue[]): void {
  const raw = msg[field.name];
  if (field.map) return checkMap(field, rules?.map, (raw ?? {}) as Msg, path, out);
  if (field.repeated) return checkRepeated(field, rules?.repeated, (raw ?? []) as unknown[], path, out);
  const set = isSet(msg, field);
  if (field.partOf && !set) return; // an unset oneof member (or proto3 `optional`) has nothing to validate
  checkValue(field, rules, set ? raw : field.typeDefault, set, path, out);
}

/** Decoded messages keep defaults on the prototype, so oneof members count only as own properties. */
function isSet(msg: Msg, field: protobuf.Field): boolean {
  return msg[field.name] != null && (!field.partOf || Object.hasOwn(msg, field.name));
}

function checkValue(field: protobuf.Field, rules: Rule | undefined, value: unknown, present: boolean, path: string, out: Issue[]): void {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return checkSubMessage(t, rules, present ? (value as Msg) : undefined, path, out);
  if (!rules) return;
  if (t instanceof protobuf.Enum) {
    if (rules.enum && !(rules.enum.ignore_empty && isDefault(value))) checkEnum(rules.enum, t, value, path, out);
    return;
  }
  checkScalar(rules, value, path, out);
}

function checkSubMessage(t: protobuf.Type, rules: Rule | undefined, msg: Msg | undefined, path: string, out: Issue[]): void {
  if (!msg) {
    if (rules?.message?.required || rules?.duration?.required || rules?.timestamp?.required || rules?.any?.required) {
      out.push(issue(path, 'is required'));
    }
    return;
  }
  if (rules?.message?.skip) return;
  const name = t.fullName;
  if (name === `${WKT}Any`) return checkAny(rules?.any, msg, path, out);
  if (name === `${WKT}Duration` && rules?.duration) return checkNumber(rules.duration, timeNanos(msg) ?? 0n, timeNanos, fmtDuration, path, out);
  // lt_now, gt_now and within depend on the clock; they are deliberately not supported.
  if (name === `${WKT}Timestamp` && rules?.timestamp) return checkNumber(rules.timestamp, timeNanos(msg) ?? 0n, timeNanos, fmtTimestamp, path, out);
  // Rules on a wrapper field (e.g. uint32 on UInt32Value) apply to its `value` once the wrapper is set.
  if (WRAPPERS.has(name) && rules) return checkScalar(rules, msg.value ?? t.fields.value?.typeDefault, `${path}.value`, out);
  checkMessage(t, msg, path, out);
}

function checkRepeated(field: protobuf.Field, r: Rule | undefined, list: unknown[], path: string, out: Issue[]): void {
  if (r && !(r.ignore_empty && list.length === 0)) {
    if (r.min_items !== undefined && list.length < Number(r.min_items)) out.push(issue(path, `must contain at least ${r.min_items} item(s)`));
    if (r.max_items !== undefined && list.length > Number(r.max_items)) out.push(issue(path, `must contain at most ${r.max_items} item(s)`));
    if (r.unique) {
      const seen = new Set<string>();
      list.forEach((v, i) => {
        const k = uniqueKey(v);
        if (seen.has(k)) out.push(issue(`${path}[${i}]`, 'repeated value must contain unique items'));
        seen.add(k);
      });
    }
  }
  const items = r?.items as Rule | undefined;
  if (!items && !(field.resolvedType instanceof protobuf.Type)) return;
  list.forEach((v, i) => checkValue(field, items, v, v != null, `${path}[${i}]`, out));
}

function checkMap(field: protobuf.Field, r: Rule | undefined, map: Msg, path: string, out: Issue[]): void {
  const keys = Object.keys(map);
  if (r && !(r.ignore_empty && keys.length === 0)) {
    if (r.min_pairs !== undefined && keys.length < Number(r.min_pairs)) out.push(issue(path, `must contain at least ${r.min_pairs} pair(s)`));
    if (r.max_pairs !== undefined && keys.length > Number(r.max_pairs)) out.push(issue(path, `must contain at most ${r.max_pairs} pair(s)`));
  }
  if (!r?.keys && !r?.values && !r?.no_sparse && !(field.resolvedType instanceof protobuf.Type)) return;
  const keyType = (field as unknown as protobuf.MapField).keyType;
  for (const k of keys) {
    const p = `${path}[${keyType === 'string' ? JSON.stringify(k) : k}]`;
    const v = map[k];
    if (r?.no_sparse && v == null) out.push(issue(p, 'value must not be null'));
    if (r?.keys) {
      const keyIssues: Issue[] = [];
      checkScalar(r.keys, mapKey(k, keyType), p, keyIssues);
      for (const i of keyIssues) out.push(issue(i.path, `key ${i.message}`));
    }
    checkValue(field, r?.values, v, v != null, p, out);
  }
}

/** protobufjs stores 64-bit map keys as 8-char hashes and bool keys as strings. */
function mapKey(k: string, keyType: string): unknown {
  if (keyType === 'bool') return k === 'true';
  if (keyType === 'string' || /^-?\d+$/.test(k)) return k;
  const unsigned = keyType === 'uint64' || keyType === 'fixed64';
  return protobuf.util.LongBits.fromHash(k).toLong(unsigned).toString();
}

function checkAny(r: Rule | undefined, any: Msg, path: string, out: Issue[]): void {
  const url = String(any.type_url ?? any.typeUrl ?? '');
  if (r?.in !== undefined && !list(r.in).includes(url)) out.push(issue(path, `type URL must be one of [${list(r.in).join(', ')}]`));
  if (r?.not_in !== undefined && list(r.not_in).includes(url)) out.push(issue(path, `type URL must not be one of [${list(r.not_in).join(', ')}]`));
  const found = url ? envoyRoot().lookup(url.slice(url.lastIndexOf('/') + 1)) : null;
  // The control plane must only emit types it knows, so an unresolvable Any is itself an issue.
  if (!(found instanceof protobuf.Type)) return void out.push(issue(path, `unknown type ${url || '""'}`));
  let inner: protobuf.Message;
  try {
    inner = found.decode(toBytes(any.value ?? new Uint8Array()));
  } catch (e) {
    return void out.push(issue(path, `cannot decode ${url}: ${errorText(e)}`));
  }
  checkMessage(found, inner as unknown as Msg, `${path}<${found.fullName.slice(1)}>`, out);
}

// ---------- scalar rules ----------

function checkScalar(rules: Rule, value: unknown, path: string, out: Issue[]): void {
  for (const [kind, r] of Object.entries(rules) as [string, Rule][]) {
    if (!isPlainObject(r) || (r.ignore_empty && isDefault(value))) continue;
    if (kind === 'string') checkString(r, String(value ?? ''), path, out);
    else if (kind === 'bytes') checkBytes(r, toBytes(value ?? new Uint8Array()), path, out);
    else if (kind === 'bool' && r.const !== undefined && Boolean(value) !== r.const) out.push(issue(path, `must equal ${r.const}`));
    else if (kind === 'double') checkNumber(r, Number(value), Number, String, path, out);
    else if (kind === 'float') checkNumber(r, Math.fround(Number(value)), (x) => Math.fround(Number(x)), String, path, out); // float32 bounds
    else if (INT_KINDS.has(kind)) {
      const v = toBig(value);
      if (v === undefined) out.push(issue(path, 'must be an integer'));
      else checkNumber(r, v, toBig, String, path, out);
    } // message/repeated/map/any/duration/timestamp are handled by their callers; unknown kinds are ignored
  }
}

/** const, lt/lte/gt/gte (with PGV's exclusive range when the upper bound is below the lower), in, not_in. */
function checkNumber(r: Rule, v: Num, conv: (x: unknown) => Num | undefined, fmt: (x: Num) => string, path: string, out: Issue[]): void {
  const get = (k: string): Num | undefined => (r[k] === undefined ? undefined : conv(r[k]));
  const add = (m: string): void => void out.push(issue(path, m));
  const c = get('const');
  if (c !== undefined && v !== c) add(`must equal ${fmt(c)}`);
  const lt = get('lt'), lte = get('lte'), gt = get('gt'), gte = get('gte');
  const hi = lt ?? lte, lo = gt ?? gte;
  const underHi = hi !== undefined && (lt !== undefined ? v < hi : v <= hi);
  const overLo = lo !== undefined && (gt !== undefined ? v > lo : v >= lo);
  const [open, close] = [gt !== undefined ? '(' : '[', lt !== undefined ? ')' : ']'];
  if (hi !== undefined && lo !== undefined) {
    if (hi > lo && !(underHi && overLo)) add(`must be inside range ${open}${fmt(lo)}, ${fmt(hi)}${close}`);
    // PGV: an upper bound at or below the lower one means the value must lie outside [hi, lo].
    if (hi <= lo && !(underHi || overLo)) add(`must be outside range ${close === ')' ? '[' : '('}${fmt(hi)}, ${fmt(lo)}${open === '(' ? ']' : ')'}`);
  } else if (hi !== undefined && !underHi) add(`must be ${lt !== undefined ? '<' : '<='} ${fmt(hi)}`);
  else if (lo !== undefined && !overLo) add(`must be ${gt !== undefined ? '>' : '>='} ${fmt(lo)}`);
  const show = (xs: (Num | undefined)[]): string => xs.map((x) => (x === undefined ? '?' : fmt(x))).join(', ');
  const inList = r.in === undefined ? undefined : list(r.in).map(conv);
  if (inList && !inList.includes(v)) add(`must be in list [${show(inList)}]`);
  const notIn = r.not_in === undefined ? undefined : list(r.not_in).map(conv);
  if (notIn?.includes(v)) add(`must not be in list [${show(notIn)}]`);
}

function checkEnum(r: Rule, e: protobuf.Enum, value: unknown, path: string, out: Issue[]): void {
  const num = (x: unknown): number => (typeof x === 'string' ? (e.values[x] ?? NaN) : Number(x));
  const v = num(value);
  if (r.const !== undefined && v !== num(r.const)) out.push(issue(path, `must equal ${r.const}`));
  if (r.defined_only && e.valuesById[v] === undefined) out.push(issue(path, 'value must be one of the defined enum values'));
  if (r.in !== undefined && !list(r.in).map(num).includes(v)) out.push(issue(path, `must be in list [${list(r.in).join(', ')}]`));
  if (r.not_in !== undefined && list(r.not_in).map(num).includes(v)) out.push(issue(path, `must not be in list [${list(r.not_in).join(', ')}]`));
}

// PGV's header-name regex has `+-.` as a range (it also admits ','); kept as PGV compiles it.
const HEADER_NAME = /^:?[0-9a-zA-Z!#$%&'*+-.^_|~`]+$/;
const HEADER_VALUE = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
const HEADER_LOOSE = /^[^\u0000\u000A\u000D]*$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const WELL_KNOWN: Record<string, [(s: string) => boolean, string]> = {
  email: [isEmail, 'must be a valid email address'],
  hostname: [isHostname, 'must be a valid hostname'],
  ip: [(s) => net.isIP(s) !== 0 && !s.includes('%'), 'must be a valid IP address'],
  ipv4: [(s) => net.isIPv4(s), 'must be a valid IPv4 address'],
  ipv6: [(s) => net.isIPv6(s) && !s.includes('%'), 'must be a valid IPv6 address'],
  uri: [(s) => /^[A-Za-z][A-Za-z0-9+.-]*:/.test(s) && isUriRef(s), 'must be a valid absolute URI'],
  uri_ref: [isUriRef, 'must be a valid URI reference'],
  address: [(s) => isHostname(s) || net.isIP(s) !== 0, 'must be a valid hostname or IP address'],
  uuid: [(s) => UUID.test(s), 'must be a valid UUID'],
};

function checkString(r: Rule, s: string, path: string, out: Issue[]): void {
  const add = (m: string): void => void out.push(issue(path, m));
  if (r.const !== undefined && s !== r.const) add(`must equal ${JSON.stringify(r.const)}`);
  if (r.len !== undefined || r.min_len !== undefined || r.max_len !== undefined) {
    const n = [...s].length; // PGV counts characters (code points), not UTF-16 units
    if (r.len !== undefined && n !== Number(r.len)) add(`length must be ${r.len}`);
    if (r.min_len !== undefined && n < Number(r.min_len)) add(`length must be at least ${r.min_len}`);
    if (r.max_len !== undefined && n > Number(r.max_len)) add(`length must be at most ${r.max_len}`);
  }
  if (r.len_bytes !== undefined || r.min_bytes !== undefined || r.max_bytes !== undefined) {
    const n = Buffer.byteLength(s, 'utf8');
    if (r.len_bytes !== undefined && n !== Number(r.len_bytes)) add(`length must be ${r.len_bytes} bytes`);
    if (r.min_bytes !== undefined && n < Number(r.min_bytes)) add(`length must be at least ${r.min_bytes} bytes`);
    if (r.max_bytes !== undefined && n > Number(r.max_bytes)) add(`length must be at most ${r.max_bytes} bytes`);
  }
  if (r.pattern !== undefined) checkPattern(String(r.pattern), s, add);
  if (r.prefix !== undefined && !s.startsWith(r.prefix)) add(`must start with ${JSON.stringify(r.prefix)}`);
  if (r.suffix !== undefined && !s.endsWith(r.suffix)) add(`must end with ${JSON.stringify(r.suffix)}`);
  if (r.contains !== undefined && !s.includes(r.contains)) add(`must contain ${JSON.stringify(r.contains)}`);
  if (r.not_contains !== undefined && s.includes(r.not_contains)) add(`must not contain ${JSON.stringify(r.not_contains)}`);
  if (r.in !== undefined && !list(r.in).includes(s)) add(`must be one of ${JSON.stringify(list(r.in))}`);
  if (r.not_in !== undefined && list(r.not_in).includes(s)) add(`must not be one of ${JSON.stringify(list(r.not_in))}`);
  for (const [k, [ok, message]] of Object.entries(WELL_KNOWN)) if (r[k] === true && !ok(s)) add(message);
  const known = r.well_known_regex;
  const loose = r.strict === false;
  if (known === 'HTTP_HEADER_NAME' || known === 1) {
    if (!(loose ? HEADER_LOOSE : HEADER_NAME).test(s)) add('must be a valid HTTP header name');
  } else if ((known === 'HTTP_HEADER_VALUE' || known === 2) && !(loose ? HEADER_LOOSE : HEADER_VALUE).test(s)) {
    add('must be a valid HTTP header value');
  }
}

function checkBytes(r: Rule, b: Buffer, path: string, out: Issue[]): void {
  const add = (m: string): void => void out.push(issue(path, m));
  const oneOf = (xs: unknown): boolean => list(xs).some((x) => b.equals(toBytes(x)));
  if (r.const !== undefined && !b.equals(toBytes(r.const))) add('must equal the const value');
  if (r.len !== undefined && b.length !== Number(r.len)) add(`length must be ${r.len} bytes`);
  if (r.min_len !== undefined && b.length < Number(r.min_len)) add(`length must be at least ${r.min_len} bytes`);
  if (r.max_len !== undefined && b.length > Number(r.max_len)) add(`length must be at most ${r.max_len} bytes`);
  if (r.pattern !== undefined) checkPattern(String(r.pattern), b.toString('utf8'), add);
  if (r.prefix !== undefined && !b.subarray(0, toBytes(r.prefix).length).equals(toBytes(r.prefix))) add('must start with the prefix bytes');
  if (r.suffix !== undefined && !b.subarray(Math.max(0, b.length - toBytes(r.suffix).length)).equals(toBytes(r.suffix))) add('must end with the suffix bytes');
  if (r.contains !== undefined && b.indexOf(toBytes(r.contains)) < 0) add('must contain the given bytes');
  if (r.in !== undefined && !oneOf(r.in)) add('must be one of the allowed values');
  if (r.not_in !== undefined && oneOf(r.not_in)) add('must not be one of the disallowed values');
  if (r.ip === true && b.length !== 4 && b.length !== 16) add('must be a valid IP address (4 or 16 bytes)');
  if (r.ipv4 === true && b.length !== 4) add('must be a valid IPv4 address (4 bytes)');
  if (r.ipv6 === true && b.length !== 16) add('must be a valid IPv6 address (16 bytes)');
}

// ---------- RE2 patterns ----------

const regexCache = new Map<string, RegExp | string>();
const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z', alpha: 'A-Za-z', ascii: '\\x00-\\x7F', blank: '\\t ', cntrl: '\\x00-\\x1F\\x7F', digit: '0-9',
  graph: '!-~', lower: 'a-z', print: ' -~', punct: '!-\\/:-@\\[-`{-~', space: '\\t\\n\\v\\f\\r ', upper: 'A-Z',
  word: '0-9A-Za-z_', xdigit: '0-9A-Fa-f',
};

function checkPattern(pattern: string, s: string, add: (m: string) => void): void {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    try {
      re = re2ToJs(pattern);
    } catch (e) {
      re = errorText(e);
    }
    regexCache.set(pattern, re);
  }
  if (typeof re === 'string') add(`pattern ${JSON.stringify(pattern)} cannot be compiled: ${re}`);
  else if (!re.test(s)) add(`must match pattern ${JSON.stringify(pattern)}`);
}

/** Rewrites the RE2 syntax JS lacks (or rejects under the `u` flag); whatever else differs makes RegExp throw. */
function re2ToJs(src: string): RegExp {
  let flags = 'u', out = '', i = 0, inClass = false;
  const lead = /^\(\?([ims]+)\)/.exec(src); // RE2 inline flags at the start become JS flags
  if (lead?.[1]) [flags, i] = [flags + [...new Set(lead[1])].join(''), lead[0].length];
  while (i < src.length) {
    const c = src[i] ?? '', n = src[i + 1] ?? '', rest = src.slice(i);
    let m: RegExpExecArray | null;
    if (c === '\\') {
      if (n === 'Q') { // \Q...\E quotes a literal
        const end = src.indexOf('\\E', i + 2);
        out += src.slice(i + 2, end < 0 ? undefined : end).replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
        i = end < 0 ? src.length : end + 2;
        continue;
      }
      if ((m = /^\\x\{([0-9A-Fa-f]+)\}/.exec(rest))) [out, i] = [`${out}\\u{${m[1]}}`, i + m[0].length];
      else if ((n === 'p' || n === 'P') && src[i + 2] !== '{') [out, i] = [`${out}\\${n}{${src[i + 2] ?? ''}}`, i + 3];
      else {
        if (n === 'A') out += '(?<![\\s\\S])';
        else if (n === 'z') out += '(?![\\s\\S])';
        else if (/[0-9A-Za-z]/.test(n) || '^$\\.*+?()[]{}|/'.includes(n) || (n === '-' && inClass)) out += c + n;
        else out += n; // RE2 lets any punctuation be escaped; JS's `u` mode does not
        i += 2;
      }
    } else if (inClass) {
      if ((m = /^\[:(\w+):\]/.exec(rest)) && m[1] && POSIX[m[1]]) [out, i] = [out + POSIX[m[1]], i + m[0].length];
      else [out, inClass, i] = [out + c, c !== ']', i + 1];
    } else if (c === '[') {
      inClass = true;
      m = /^\[\^?\]?/.exec(rest) as RegExpExecArray; // a leading `]` is a literal in RE2
      [out, i] = [out + m[0].replace(/\]$/, '\\]'), i + m[0].length];
    } else if ((m = /^\{\d+(,\d*)?\}/.exec(rest))) [out, i] = [out + m[0], i + m[0].length];
    else if (c === '{' || c === '}') [out, i] = [`${out}\\${c}`, i + 1]; // RE2 treats non-repeat braces as literals
    else if (rest.startsWith('(?P<')) [out, i] = [`${out}(?<`, i + 4];
    else [out, i] = [out + c, i + 1];
  }
  return new RegExp(out, flags);
}

// ---------- value helpers ----------

/** Accepts the shapes a 64-bit integer arrives in: Long (or {low, high}), number, string, bigint. */
function toBig(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt(Math.trunc(v)) : undefined;
  if (typeof v === 'string') return /^\s*-?\d+\s*$/.test(v) ? BigInt(v.trim()) : undefined;
  if (isPlainObject(v) || (typeof v === 'object' && v !== null && 'low' in v)) {
    const { low, high, unsigned } = v as { low?: number; high?: number; unsigned?: boolean };
    if (typeof low !== 'number' || typeof high !== 'number') return undefined;
    const x = (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
    return unsigned ? x : BigInt.asIntN(64, x);
  }
  return undefined;
}

/** Duration/Timestamp (message or `{seconds, nanos}` option, missing fields meaning 0) in nanoseconds. */
function timeNanos(v: unknown): bigint | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const { seconds, nanos } = v as { seconds?: unknown; nanos?: unknown };
  return (toBig(seconds ?? 0) ?? 0n) * 1_000_000_000n + (toBig(nanos ?? 0) ?? 0n);
}

const fmtDuration = (n: Num): string => (BigInt(n) % 1_000_000_000n === 0n ? `${BigInt(n) / 1_000_000_000n}s` : `${Number(n) / 1e9}s`);
const fmtTimestamp = (n: Num): string => new Date(Number(BigInt(n) / 1_000_000n)).toISOString();

/** Byte strings in options are parsed as JS strings of byte values (escapes), or UTF-8 text. */
function toBytes(v: unknown): Buffer {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  const s = String(v ?? '');
  return Buffer.from(s, /^[\x00-\xff]*$/.test(s) ? 'latin1' : 'utf8');
}

function isDefault(v: unknown): boolean {
  if (v == null || v === '' || v === 0 || v === false) return true;
  if (v instanceof Uint8Array) return v.length === 0;
  return typeof v === 'object' && toBig(v) === 0n;
}

function uniqueKey(v: unknown): string {
  if (v instanceof Uint8Array) return `b:${Buffer.from(v).toString('hex')}`;
  const big = typeof v === 'object' && v !== null ? toBig(v) : undefined;
  if (big !== undefined) return `n:${big}`;
  if (typeof v === 'number' || typeof v === 'bigint') return `n:${v}`;
  return typeof v === 'object' ? `o:${JSON.stringify(v)}` : `${typeof v}:${String(v)}`;
}

function isHostname(h: string): boolean {
  if (h.length > 253) return false;
  return h.toLowerCase().replace(/\.$/, '').split('.').every((p) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(p));
}

function isEmail(s: string): boolean {
  const addr = /<([^<>]*)>\s*$/.exec(s)?.[1] ?? s; // "Name <a@b>" as Go's mail.ParseAddress allows
  const at = addr.lastIndexOf('@');
  const local = addr.slice(0, at);
  return at > 0 && local.length <= 64 && !/[\s<>()@,;:\\"[\]]/.test(local) && isHostname(addr.slice(at + 1));
}

function isUriRef(s: string): boolean {
  return !/[\u0000-\u001F\u007F]/.test(s) && !/%(?![0-9A-Fa-f]{2})/.test(s);
}
/** A repeated option given once parses as a single value. */
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);
const isPlainObject = (v: unknown): v is Rule => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
const join = (path: string, name: string): string => (path ? `${path}.${name}` : name);
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
