import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { caKeyFrom, SealingKey } from './sealed-key.ts';

const KEY_BYTES = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const PEM = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';
const dir = mkdtempSync(join(tmpdir(), 'apg-ca-key-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a key file and returns its path. */
function keyFile(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** Replaces one base64url character of the sealed text's part `index` (1 = IV, 2 = data). */
function tamper(sealed: string, index: 1 | 2): string {
  const parts = sealed.split('.');
  const part = parts[index]!;
  parts[index] = `${part[0] === 'A' ? 'B' : 'A'}${part.slice(1)}`;
  return parts.join('.');
}

describe('SealingKey', () => {
  const key = new SealingKey(KEY_BYTES);

  it('round-trips and uses a fresh IV each time', () => {
    const a = key.seal(PEM);
    const b = key.seal(PEM);
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('PRIVATE');
    expect(key.open(a)).toEqual({ ok: true, value: PEM });
    expect(key.open(b)).toEqual({ ok: true, value: PEM });
  });

  it('refuses another key with a clear issue, never garbage', () => {
    const other = new SealingKey(randomBytes(32));
    expect(other.open(key.seal(PEM))).toEqual({
      ok: false,
      issues: [{ path: 'sealedKey', message: 'does not open: it was sealed with another CA key (or context), or it was altered' }],
    });
  });

  it.each([1, 2] as const)('refuses a change to part %i', (part) => {
    const result = key.open(tamper(key.seal(PEM), part));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues[0]!.message).toMatch(/does not open|truncated/);
  });

  it('refuses a value opened under another context', () => {
    const sealed = key.seal(PEM, 'ca:1');
    expect(key.open(sealed, 'ca:1')).toEqual({ ok: true, value: PEM });
    expect(key.open(sealed, 'ca:2', 'cas[0].sealedKey')).toEqual({
      ok: false,
      issues: [{ path: 'cas[0].sealedKey', message: 'does not open: it was sealed with another CA key (or context), or it was altered' }],
    });
  });

  it.each([
    { name: 'unknown version', sealed: (s: string) => s.replace(/^v1/, 'v2'), message: 'is not a sealed key in the v1.<iv>.<data> format' },
    { name: 'missing part', sealed: (s: string) => s.split('.').slice(0, 2).join('.'), message: 'is not a sealed key in the v1.<iv>.<data> format' },
    { name: 'not base64url', sealed: (s: string) => `${s}+`, message: 'is not base64url' },
    { name: 'short data', sealed: (s: string) => `${s.split('.').slice(0, 2).join('.')}.AAAA`, message: 'is truncated' },
    { name: 'short IV', sealed: (s: string) => s.replace(/^v1\.[^.]+/, 'v1.AAAA'), message: 'is truncated' },
  ])('refuses $name', ({ sealed, message }) => {
    expect(key.open(sealed(key.seal(PEM)))).toEqual({ ok: false, issues: [{ path: 'sealedKey', message }] });
  });

  it('never shows its bytes when logged or serialised', () => {
    expect(JSON.stringify({ key })).toBe('{"key":{}}');
    expect(inspect(key)).not.toContain('0001020304');
    expect(inspect(key, { showHidden: true })).not.toMatch(/<Buffer/);
  });

  it('throws on a key of the wrong size (a programming error)', () => {
    expect(() => new SealingKey(new Uint8Array(16))).toThrow('a sealing key is 32 bytes, not 16');
  });
});

describe('caKeyFrom', () => {
  const sealedByTheKey = new SealingKey(KEY_BYTES).seal('probe');
  /** True when the loaded key is KEY_BYTES: it opens what KEY_BYTES sealed. */
  const isTheKey = (key: SealingKey) => key.open(sealedByTheKey).ok;

  it.each([
    { name: 'hex', env: KEY_BYTES.toString('hex') },
    { name: 'upper-case hex', env: KEY_BYTES.toString('hex').toUpperCase() },
    { name: 'base64', env: KEY_BYTES.toString('base64') },
    { name: 'base64url without padding', env: KEY_BYTES.toString('base64url') },
    { name: 'with surrounding whitespace', env: `  ${KEY_BYTES.toString('base64')}\n` },
  ])('reads the key from the variable as $name', ({ env }) => {
    const result = caKeyFrom({ env });
    expect(result.ok && isTheKey(result.value)).toBe(true);
  });

  it.each([
    { name: 'base64 text with a newline', content: `${KEY_BYTES.toString('base64')}\n` },
    { name: 'hex text', content: KEY_BYTES.toString('hex') },
  ])('reads the key from a file holding $name', ({ name, content }) => {
    const result = caKeyFrom({ file: keyFile(name.replace(/\W/g, '-'), content) });
    expect(result.ok && isTheKey(result.value)).toBe(true);
  });

  it.each([
    { name: '16 bytes', env: randomBytes(16).toString('base64'), message: 'must be 32 bytes written as base64 or as 64 hex characters; this is 16 bytes' },
    { name: '63 hex digits', env: 'a'.repeat(63), message: 'must be 32 bytes written as base64 or as 64 hex characters; this is 47 bytes' },
    { name: 'not an encoding', env: 'correct horse battery staple', message: 'must be 32 bytes written as base64 or as 64 hex characters' },
    { name: 'empty', env: '', message: 'must be 32 bytes written as base64 or as 64 hex characters' },
    { name: 'a placeholder', env: '0'.repeat(64), message: 'is one byte repeated: generate it with `openssl rand -base64 32`' },
  ])('refuses $name, naming the variable', ({ env, message }) => {
    expect(caKeyFrom({ env })).toEqual({ ok: false, issues: [{ path: 'CA_KEY', message }] });
  });

  it('never echoes a wrong key in its issue', () => {
    const secret = randomBytes(31).toString('base64');
    const result = caKeyFrom({ env: secret });
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain(secret);
  });

  it('names the file setting when the file is missing or wrong', () => {
    const missing = join(dir, 'missing');
    expect(caKeyFrom({ file: missing })).toEqual({ ok: false, issues: [{ path: 'CA_KEY_FILE', message: `cannot read ${missing}: ENOENT` }] });
    expect(caKeyFrom({ file: dir })).toEqual({ ok: false, issues: [{ path: 'CA_KEY_FILE', message: `cannot read ${dir}: EISDIR` }] });
    // 32 characters: as raw bytes it would have the right length, so it must still be read as text.
    const short = keyFile('short', randomBytes(24).toString('base64'));
    expect(caKeyFrom({ file: short })).toEqual({
      ok: false,
      issues: [{ path: 'CA_KEY_FILE', message: 'must be 32 bytes written as base64 or as 64 hex characters; this is 24 bytes' }],
    });
  });

  it('wants exactly one of the two settings', () => {
    expect(caKeyFrom({ env: KEY_BYTES.toString('hex'), file: keyFile('both', KEY_BYTES) })).toEqual({
      ok: false,
      issues: [{ path: 'CA_KEY_FILE', message: 'cannot be combined with CA_KEY; give one of them' }],
    });
    expect(caKeyFrom({})).toEqual({
      ok: false,
      issues: [{ path: 'CA_KEY', message: 'is not set (nor CA_KEY_FILE): the CA cannot seal its private keys' }],
    });
  });

  it('uses the setting names it is given', () => {
    const names = { env: 'APG_CA_KEY', file: 'APG_CA_KEY_FILE' };
    expect(caKeyFrom({ env: 'no key' }, names)).toEqual({
      ok: false,
      issues: [{ path: 'APG_CA_KEY', message: 'must be 32 bytes written as base64 or as 64 hex characters' }],
    });
    expect(caKeyFrom({ file: join(dir, 'none') }, names)).toEqual({
      ok: false,
      issues: [{ path: 'APG_CA_KEY_FILE', message: `cannot read ${join(dir, 'none')}: ENOENT` }],
    });
  });
});
