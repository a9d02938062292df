/** Array literals read back by PostgreSQL as the values they were built from. */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../test/support/test-db.ts';
import { arrayLiteral } from './array-literal.ts';

describe('arrayLiteral', () => {
  const fixture = useTestDatabase();

  it('writes text with quotes, backslashes, commas, braces, spaces and the word NULL, numbers and NULLs', async () => {
    const texts = ['plain', 'with "quotes"', 'back\\slash', 'a,b', '{braces}', ' spaced ', 'NULL', '', 'ünïcode ✓', null, '{"v":1,"b":[1,2]}'];
    const numbers = [0, -1, 2 ** 40, 12.5, null];
    expect(arrayLiteral([])).toBe('{}');
    const { rows } = (await fixture.db.execute(sql`select ${arrayLiteral(texts)}::text[] as t, ${arrayLiteral(numbers)}::float8[] as n`)) as unknown as { rows: { t: unknown; n: unknown }[] };
    expect(rows[0]!.t).toEqual(texts);
    expect((rows[0]!.n as (string | number | null)[]).map((x) => (x === null ? null : Number(x)))).toEqual(numbers);
  });
});
