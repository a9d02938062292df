/**
 * PostgreSQL array literals (`{"a","b",NULL}`) built in one pass, for the `unnest` upserts of the
 * rollup tables. node-postgres serialises a JavaScript array parameter element by element
 * through its generic `prepareValue` and a regex escape; on the raw access-log inserts (16 columns ×
 * 2,000 rows a batch, before they became COPY) that was ~15% of the server's CPU.
 */

/** The array literal of strings (always quoted, `"` and `\` escaped), finite numbers, and null/undefined as NULL. */
export function arrayLiteral(values: readonly (string | number | null | undefined)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else if (typeof v === 'number') out += String(v);
    else out += `"${NEEDS_ESCAPE.test(v) ? v.replace(ESCAPED, '\\$&') : v}"`;
  }
  return `${out}}`;
}

const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;
