/** Optimistic concurrency over HTTP: ETag carries a resource's revision, If-Match makes a write conditional. */
import { fail, issue, ok, type Result } from '../lib/result.ts';

/** The revision an `If-Match` header asks for; undefined when absent or `*`. */
export function ifMatchRevision(header: string | string[] | undefined): Result<number | undefined> {
  if (header === undefined || header === '*') return ok(undefined);
  const text = Array.isArray(header) ? header[0] ?? '' : header;
  const m = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(text);
  return m ? ok(Number(m[1])) : fail(issue('header.if-match', `"${text.slice(0, 40)}" is not an ETag this API issued (a quoted revision number such as "3")`));
}
