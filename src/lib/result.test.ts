import { describe, expect, it } from 'vitest';
import { fail, issue, ok, type Result } from './result.ts';

/** Reads a result the way callers do: narrowing on `ok`. */
function describeResult<T>(r: Result<T>): string {
  return r.ok ? `value ${JSON.stringify(r.value)}` : r.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
}

describe('result', () => {
  it.each([
    { name: 'ok wraps a value', result: ok({ port: 80 }), want: { ok: true, value: { port: 80 } }, text: 'value {"port":80}' },
    { name: 'ok keeps falsy values', result: ok(0), want: { ok: true, value: 0 }, text: 'value 0' },
    {
      name: 'fail with one issue',
      result: fail(issue('body.name', 'is required')),
      want: { ok: false, issues: [{ path: 'body.name', message: 'is required' }] },
      text: 'body.name: is required',
    },
    {
      name: 'fail keeps issues in order',
      result: fail(issue('endpoints[2].port', 'too big'), issue('labels.app', 'bad')),
      want: { ok: false, issues: [{ path: 'endpoints[2].port', message: 'too big' }, { path: 'labels.app', message: 'bad' }] },
      text: 'endpoints[2].port: too big; labels.app: bad',
    },
  ])('$name', ({ result, want, text }) => {
    expect(result).toEqual(want);
    expect(describeResult(result as Result<unknown>)).toBe(text);
  });

  it('issue builds a plain object', () => {
    expect(issue('query.label', 'bad')).toStrictEqual({ path: 'query.label', message: 'bad' });
  });
});
