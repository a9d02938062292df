/** Golden files: compare built output with pretty JSON stored beside the test; `UPDATE_GOLDEN=1` rewrites them. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** True when the run should rewrite golden files instead of comparing with them. */
export const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === '1';

/**
 * Expects `value`, as JSON, to equal the golden file at `file` (e.g. `new URL('./__golden__/x.json', import.meta.url)`);
 * with `update` (default: UPDATE_GOLDEN) it writes the file instead.
 */
export function expectGolden(file: string | URL, value: unknown, update = UPDATE_GOLDEN): void {
  const path = file instanceof URL ? fileURLToPath(file) : file;
  const text = `${JSON.stringify(value, null, 2)}\n`;
  if (update) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    return;
  }
  if (!existsSync(path)) throw new Error(`golden file ${path} is missing: run with UPDATE_GOLDEN=1 to create it`);
  expect(JSON.parse(text), `golden file ${path} (UPDATE_GOLDEN=1 rewrites it)`).toEqual(JSON.parse(readFileSync(path, 'utf8')));
}
