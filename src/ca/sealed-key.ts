/**
 * Private keys at rest: sealed with AES-256-GCM under one 32-byte key that lives outside the
 * database (an environment variable or a file), so a copy of the database alone holds no usable
 * CA or workload key. GCM authenticates, so a wrong key or an altered value is refused, never
 * decrypted into garbage.
 *
 * Sealed text: `v1.<12-byte IV, base64url>.<ciphertext followed by the 16-byte tag, base64url>`.
 * The version prefix leaves room for another cipher or key id later without guessing.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fail, issue, ok, type Result } from '../lib/result.ts';

const VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * The sealing key. The bytes sit in a private field, so logging or serialising the object (pino,
 * JSON.stringify, util.inspect) shows nothing of them.
 */
export class SealingKey {
  readonly #key: Buffer;

  /** Wraps exactly 32 bytes; anything else is a programming error, so it throws. */
  constructor(bytes: Uint8Array) {
    if (bytes.length !== KEY_BYTES) throw new RangeError(`a sealing key is ${KEY_BYTES} bytes, not ${bytes.length}`);
    this.#key = Buffer.from(bytes);
  }

  /**
   * Seals `plaintext`. `context` (for example the row's id) is authenticated but not stored: the
   * value then opens only with the same context, so a sealed key copied onto another row is refused.
   */
  seal(plaintext: string, context = ''): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${iv.toString('base64url')}.${body.toString('base64url')}`;
  }

  /** Opens what `seal` produced with the same key and context; anything else is an issue at `path`. */
  open(sealed: string, context = '', path = 'sealedKey'): Result<string> {
    const parts = sealed.split('.');
    if (parts.length !== 3 || parts[0] !== VERSION) {
      return fail(issue(path, `is not a sealed key in the ${VERSION}.<iv>.<data> format`));
    }
    const [, ivText = '', bodyText = ''] = parts;
    if (!BASE64URL.test(ivText) || !BASE64URL.test(bodyText)) return fail(issue(path, 'is not base64url'));
    const iv = Buffer.from(ivText, 'base64url');
    const body = Buffer.from(bodyText, 'base64url');
    if (iv.length !== IV_BYTES || body.length < TAG_BYTES) return fail(issue(path, 'is truncated'));
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]);
      return ok(plain.toString('utf8'));
    } catch {
      // GCM's tag check is the only thing that fails here: the key, the context or the bytes differ.
      return fail(issue(path, 'does not open: it was sealed with another CA key (or context), or it was altered'));
    }
  }
}

/** The names of the two settings, for issues; the config module owns the real names. */
export interface CaKeySettingNames {
  env: string;
  file: string;
}

const DEFAULT_NAMES: CaKeySettingNames = { env: 'CA_KEY', file: 'CA_KEY_FILE' };

/** Decodes a key written as 64 hex characters or base64 (standard or URL-safe) of exactly 32 bytes. */
function decodeKeyText(text: string, setting: string): Result<SealingKey> {
  const trimmed = text.trim();
  let bytes: Buffer;
  if (HEX_KEY.test(trimmed)) bytes = Buffer.from(trimmed, 'hex');
  else if (BASE64_KEY.test(trimmed)) bytes = Buffer.from(trimmed, 'base64');
  else return fail(issue(setting, 'must be 32 bytes written as base64 or as 64 hex characters'));
  if (bytes.length !== KEY_BYTES) {
    return fail(issue(setting, `must be 32 bytes written as base64 or as 64 hex characters; this is ${bytes.length} bytes`));
  }
  // A placeholder such as 64 zeros decodes fine but protects nothing.
  if (bytes.every((b) => b === bytes[0])) return fail(issue(setting, 'is one byte repeated: generate it with `openssl rand -base64 32`'));
  return ok(new SealingKey(bytes));
}

/**
 * Reads the key file, written the same way as the variable. Raw bytes are not accepted: a too-short
 * base64 key of 32 characters would pass for 32 raw bytes and be used as the wrong key, silently.
 */
function keyFromFile(file: string, setting: string): Result<SealingKey> {
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return fail(issue(setting, `cannot read ${file}: ${code}`));
  }
  return decodeKeyText(content, setting);
}

/**
 * The sealing key from the environment variable's value (`env`) or from the file named by the
 * other setting (`file`); exactly one must be given. Issues name the setting, never echo the key.
 */
export function caKeyFrom(
  source: { env?: string | undefined; file?: string | undefined },
  names: CaKeySettingNames = DEFAULT_NAMES,
): Result<SealingKey> {
  const { env, file } = source;
  if (env !== undefined && file !== undefined) return fail(issue(names.file, `cannot be combined with ${names.env}; give one of them`));
  if (env !== undefined) return decodeKeyText(env, names.env);
  if (file !== undefined) return keyFromFile(file, names.file);
  return fail(issue(names.env, `is not set (nor ${names.file}): the CA cannot seal its private keys`));
}
