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
  if (v.structValue != null) return structToPlain(v.structValue);
  if (v.listValue != null) return (v.listValue.values ?? []).map(valueToPlain);
  if (v.stringValue != null) return v.stringValue;
  if (v.numberValue != null) return v.numberValue;
  if (v.boolValue != null) return v.boolValue;
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
