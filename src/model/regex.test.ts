import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import type { Issue } from '../lib/result.ts';
import { checkRe2, estimateProgramSize, MAX_PROGRAM_SIZE, parseRe2, utf8ClassSize } from './regex.ts';

const invalid = (pattern: string, why: string): Issue[] => [
  { path: 'p', message: `"${pattern.slice(0, 80)}" is not a valid RE2 regular expression: ${why}` },
];

describe('checkRe2', () => {
  it.each([
    '^/api/v[0-9]+/.*$',
    '(?i)^bearer .+$',
    '(?P<id>[0-9]+)',
    '\\p{Greek}+',
    '\\Q(?<x>\\E',
    '[(?<]x',
    '\\(?<x',
    '',
  ])('accepts %j', (pattern) => {
    expect(checkRe2(pattern, 'p')).toEqual([]);
  });

  it.each<[string, string, string]>([
    ['a backreference', '(a)\\1', 'backreferences (\\1) are not supported'],
    ['a lookahead', 'a(?=b)', 'lookahead assertions (?= and (?! are not supported'],
    ['a negative lookahead', 'a(?!b)', 'lookahead assertions (?= and (?! are not supported'],
    ['a lookbehind', '(?<=a)b', 'lookbehind assertions (?<= and (?<! are not supported'],
    ['a negative lookbehind', '(?<!a)b', 'lookbehind assertions (?<= and (?<! are not supported'],
    ['an atomic group', '(?>a)', 'atomic groups (?> are not supported'],
    ['a possessive quantifier', 'a++', 'possessive quantifiers (++) are not supported'],
    ['a possessive counted repeat', 'a{2}+', 'possessive quantifiers ({2}+) are not supported'],
    ['a nested repetition', 'a**', 'invalid nested repetition operator: **'],
    ['a comment', 'a(?#note)', 'comments (?# are not supported'],
    ['\\Z', 'a\\Z', 'invalid escape sequence: \\Z'],
    ['an unclosed group', '(a', 'missing closing ): (a'],
    ['an unclosed class', '[a-', 'missing closing ]: [a-'],
    ['a repeat over 1000', 'a{1001}', 'invalid repeat count: {1001}'],
    ['a (?<name>) group', '(?<id>[0-9]+)', 'write named groups as (?P<name>...), older RE2 builds reject (?<name>...)'],
  ])('rejects %s', (_, pattern, why) => {
    expect(checkRe2(pattern, 'p')).toEqual(invalid(pattern, why));
  });

  it('rejects a pattern over 1024 characters before compiling it', () => {
    expect(checkRe2('a'.repeat(1025), 'p')).toEqual([{ path: 'p', message: 'is longer than 1024 characters' }]);
  });

  it("rejects a pattern whose program exceeds Envoy's default size of 100", () => {
    expect(checkRe2('.{12}', 'p')).toEqual([]);
    expect(checkRe2('.{13}', 'p')).toEqual([
      {
        path: 'p',
        message: `".{13}" is too complex for Envoy: its RE2 program size is about 108, more than ${MAX_PROGRAM_SIZE} (use fewer repetitions or narrower character classes, e.g. [^/] instead of .)`,
      },
    ]);
  });

  it('reports the capture groups', () => {
    expect(parseRe2('^/(a)/(?P<b>b)(?:c)$', 'p')).toEqual({ ok: true, value: { groups: 2, programSize: 13 } });
  });
});

describe('estimateProgramSize', () => {
  // ProgramSize() measured with C++ RE2 (Debian's libre2 20220601); Envoy links a newer release.
  it.each<[string, number]>([
    ['a', 5],
    ['[a-zA-Z0-9_]', 7],
    ['.', 12],
    ['[^/]+', 13],
    ['\\S', 14],
    ['(?i)k', 8],
    ['(?i)straße', 16],
    ['\\x{1F600}', 8],
    ['[\\x{1F600}-\\x{1F64F}]', 10],
    ['.{10}', 84],
    ['.{12}', 100],
    ['\\S+@\\S+', 27],
    ['/users/[0-9]{1,10}/orders', 37],
    ['/api/v[12]/users/[a-f0-9-]{36}', 126],
  ])('%j is RE2 size %i', (pattern, size) => {
    expect(estimateProgramSize(RE2JS.compile(pattern))).toBe(size);
  });

  it.each<[string, number]>([
    ['^/api/v[0-9]+/.*$', 15],
    ['^/items/\\d+$', 6],
    ['(?i)^bearer .+$', 13],
    ['^/v1/users/[^/]+/orders/[0-9]+$', 23],
    ['/static/.*\\.(css|js|png|svg)', 34],
    ['^/api/(users|orders|carts)/[0-9]+(/.*)?$', 37],
    ['\\p{Greek}', 66],
  ])('%j is at most a few instructions above RE2 size %i', (pattern, size) => {
    const est = estimateProgramSize(RE2JS.compile(pattern));
    expect(est).toBeGreaterThanOrEqual(size);
    expect(est).toBeLessThanOrEqual(size + 4);
  });
});

describe('utf8ClassSize', () => {
  it.each<[string, [number, number][], number]>([
    ['one ASCII range', [[0x61, 0x7a]], 1],
    ['a-z with A-Z folded into it', [[0x41, 0x5a], [0x61, 0x7a]], 1],
    ['everything but newline', [[0, 9], [0x0b, 0x10ffff]], 8],
    ['a two-byte range', [[0xe9, 0xfc]], 2],
    ['Greek lower case, across a lead byte', [[0x3b1, 0x3c9]], 4],
  ])('%s', (_, ranges, size) => {
    expect(utf8ClassSize(ranges)).toBe(size);
  });
});
