/** Converts `google.protobuf.Struct` (as protobufjs decodes it) to and from plain JSON values. */

interface ValueMsg {
  nullValue?: unknown;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: StructMsg;
  listValue?: { values?: ValueMsg[] };
}

export interface StructMsg {
  fields?: Record<string, ValueMsg>;
}

/** A decoded Struct as a plain object. */
export function structToPlain(s: StructMsg | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = valueToPlain(v);
  return out;
}

function valueToPlain(v: ValueMsg): unknown {
  // A decoded message inherits a default for every oneof member ('', 0, false) from its prototype;
  // only the member actually set is an own property.
  const set = (k: keyof ValueMsg) => Object.prototype.hasOwnProperty.call(v, k) && v[k] != null;
  if (set('structValue')) return structToPlain(v.structValue);
  if (set('listValue')) return (v.listValue?.values ?? []).map(valueToPlain);
  if (set('stringValue')) return v.stringValue;
  if (set('numberValue')) return v.numberValue;
  if (set('boolValue')) return v.boolValue;
  return null;
}

/** A plain object as a Struct message object (for `Type.fromObject`). */
export function plainToStruct(obj: Record<string, unknown>): StructMsg {
  const fields: Record<string, ValueMsg> = {};
  for (const [k, v] of Object.entries(obj)) fields[k] = plainToValue(v);
  return { fields };
}

function plainToValue(v: unknown): ValueMsg {
  if (v === null || v === undefined) return { nullValue: 0 };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(plainToValue) } };
  return { structValue: plainToStruct(v as Record<string, unknown>) };
}
