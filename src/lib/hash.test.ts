import { describe, expect, it } from 'vitest';
import { contentHash } from './hash.ts';

describe('contentHash', () => {
  it('is a 22-character URL-safe digest', () => {
    for (const input of ['', 'a', 'x'.repeat(10_000), new Uint8Array([0, 255, 1])]) {
      expect(contentHash(input)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    }
  });

  it('is stable: a known input gives a known version (same on every replica and after restarts)', () => {
    // sha256("") = 47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU in base64url
    expect(contentHash('')).toBe('47DEQpj8HBSa-_TImW-5JC');
    expect(contentHash('abc')).toBe(contentHash('abc'));
  });

  it('hashes strings as their UTF-8 bytes', () => {
    expect(contentHash('héllo')).toBe(contentHash(new TextEncoder().encode('héllo')));
  });

  it.each([
    ['a', 'b'],
    ['abc', 'abd'],
    ['', ' '],
  ])('differs for different content: %j vs %j', (a, b) => {
    expect(contentHash(a)).not.toBe(contentHash(b));
  });

  it('feeds parts in order, as if concatenated', () => {
    expect(contentHash('ab', 'c')).toBe(contentHash('abc'));
    expect(contentHash('a', new TextEncoder().encode('bc'))).toBe(contentHash('abc'));
    expect(contentHash('b', 'a')).not.toBe(contentHash('a', 'b'));
  });
});
