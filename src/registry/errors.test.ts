/** Which database errors the API answers as 409 and which as 503. */
import { describe, expect, it } from 'vitest';
import { isUnavailable, isUniqueViolation } from './errors.ts';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });
/** drizzle wraps driver errors: the code sits on `cause`. */
const wrapped = (cause: Error) => Object.assign(new Error('Failed query: insert ...'), { cause });

describe('isUniqueViolation', () => {
  it.each([
    [pgError('23505'), true],
    [wrapped(pgError('23505')), true],
    [pgError('23503'), false],
    [new Error('duplicate'), false],
    [undefined, false],
  ])('%o → %s', (err, expected) => {
    expect(isUniqueViolation(err)).toBe(expected);
  });
});

describe('isUnavailable', () => {
  it.each([
    ['a refused connection', pgError('ECONNREFUSED'), true],
    ['a reset connection, wrapped by drizzle', wrapped(pgError('ECONNRESET')), true],
    ['an admin shutdown (pg_terminate_backend)', pgError('57P01'), true],
    ['a server starting up', pgError('57P03'), true],
    ['too many connections', pgError('53300'), true],
    ['a database that is gone', pgError('3D000'), true],
    ['a database refusing connections', pgError('55000', 'database "apg" is not currently accepting connections'), true],
    ['a dropped socket', new Error('Connection terminated unexpectedly'), true],
    ['a pool timeout', new Error('timeout exceeded when trying to connect'), true],
    ['a closed pool', new Error('Cannot use a pool after calling end on the pool'), true],
    ['a unique violation', pgError('23505'), false],
    ['a syntax error', pgError('42601'), false],
    ['another 55000', pgError('55000', 'lastval is not yet defined in this session'), false],
    ['a plain bug', new TypeError('x is undefined'), false],
  ])('%s → %s', (_what, err, expected) => {
    expect(isUnavailable(err)).toBe(expected);
  });
});
