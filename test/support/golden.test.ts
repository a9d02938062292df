import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectGolden } from './golden.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'golden-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('expectGolden', () => {
  const file = path.join(dir, 'nested', 'value.json');

  it('writes pretty JSON when updating, creating folders', () => {
    expectGolden(file, { b: [1, 2], a: 'x' }, true);
    expect(readFileSync(file, 'utf8')).toBe('{\n  "b": [\n    1,\n    2\n  ],\n  "a": "x"\n}\n');
  });
  it('passes on equal content (key order aside)', () => {
    expectGolden(file, { a: 'x', b: [1, 2] }, false);
  });
  it('fails on different content', () => {
    expect(() => expectGolden(file, { a: 'x', b: [2, 1] }, false)).toThrow(/golden file/);
  });
  it('fails when the file is missing, naming UPDATE_GOLDEN', () => {
    expect(() => expectGolden(path.join(dir, 'missing.json'), {}, false)).toThrow(/UPDATE_GOLDEN=1/);
  });
});
