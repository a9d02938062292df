/**
 * Key pairs: generation, PEM encoding, and reading keys someone else made (a provided CA, a CSR).
 * Only keys every Envoy and gRPC TLS stack handles are accepted: ECDSA P-256/P-384 and RSA of at
 * least 2048 bits, signed with SHA-256 (SHA-384 for P-384) and PKCS#1 v1.5 for RSA.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { fail, issue, ok, type Result } from '../lib/result.ts';
import { subtle, x509 } from './x509.ts';

/** Algorithms the mesh generates keys with (the same names as the CA_ALGORITHM setting). */
export const KEY_ALGORITHMS = ['ecdsa-p256', 'rsa-2048'] as const;
/** One of KEY_ALGORITHMS. */
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/** What kind of key a certificate holds, for its key usage and for signing with it. */
export type KeyKind = { type: 'ec'; curve: 'P-256' | 'P-384' } | { type: 'rsa'; bits: number };

const RSA_SIGNING = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;
const GENERATE: Record<KeyAlgorithm, EcKeyGenParams | RsaHashedKeyGenParams> = {
  'ecdsa-p256': { name: 'ECDSA', namedCurve: 'P-256' },
  'rsa-2048': { ...RSA_SIGNING, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
};
/** The kind of key each generation algorithm makes. */
export const KIND_OF: Record<KeyAlgorithm, KeyKind> = {
  'ecdsa-p256': { type: 'ec', curve: 'P-256' },
  'rsa-2048': { type: 'rsa', bits: 2048 },
};
const CURVES: Record<string, 'P-256' | 'P-384'> = { prime256v1: 'P-256', secp384r1: 'P-384' };
const MIN_RSA_BITS = 2048;

/** A new extractable key pair (extractable so the private key can be handed out and sealed). */
export function generateKeyPair(algorithm: KeyAlgorithm): Promise<CryptoKeyPair> {
  return subtle.generateKey(GENERATE[algorithm], true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

/** The private key as PKCS#8 PEM (`BEGIN PRIVATE KEY`), the form Envoy, gRPC and OpenSSL all read. */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** The kind of a Node key object, or why the mesh will not use it. */
export function keyKind(key: KeyObject, path: string): Result<KeyKind> {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    const curve = CURVES[details.namedCurve ?? ''];
    return curve ? ok({ type: 'ec', curve }) : fail(issue(path, `uses curve ${details.namedCurve}; only P-256 and P-384 are supported`));
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details.modulusLength ?? 0;
    return bits >= MIN_RSA_BITS ? ok({ type: 'rsa', bits }) : fail(issue(path, `is RSA-${bits}; at least ${MIN_RSA_BITS} bits are required`));
  }
  return fail(issue(path, `is a ${key.asymmetricKeyType} key; only ECDSA (P-256, P-384) and RSA keys are supported`));
}

/** A short name for a key kind, as stored beside a CA (`ecdsa-p256`, `rsa-4096`). */
export function keyKindName(kind: KeyKind): string {
  return kind.type === 'ec' ? `ecdsa-${kind.curve.toLowerCase().replace('-', '')}` : `rsa-${kind.bits}`;
}

/** The kind of a DER SubjectPublicKeyInfo (from a certificate or a CSR). */
export function publicKeyKind(spki: ArrayBuffer, path: string): Result<KeyKind> {
  try {
    return keyKind(createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }), path);
  } catch {
    return fail(issue(path, 'holds a public key that cannot be read'));
  }
}

/** A workload's public key from PEM (`BEGIN PUBLIC KEY`, or PKCS#1 `BEGIN RSA PUBLIC KEY`), as DER SPKI. */
export function readPublicKey(pem: string, path: string): Result<{ spki: ArrayBuffer; kind: KeyKind }> {
  // Node would also derive a public key from a private key or a certificate; neither belongs here.
  if (!/-----BEGIN (RSA )?PUBLIC KEY-----/.test(pem)) return fail(issue(path, 'must be a PEM public key (BEGIN PUBLIC KEY)'));
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    return fail(issue(path, 'is not a readable PEM public key'));
  }
  const kind = keyKind(key, path);
  // A copy: a small Buffer's .buffer is Node's shared pool, not just these bytes.
  return kind.ok ? ok({ spki: Uint8Array.from(key.export({ type: 'spki', format: 'der' })).buffer, kind: kind.value }) : kind;
}

/** A private key read from PEM (PKCS#8, SEC1 `EC PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`). */
export function readPrivateKey(pem: string, path: string): Result<KeyObject> {
  // PKCS#8 `ENCRYPTED PRIVATE KEY` and legacy `Proc-Type: 4,ENCRYPTED`: the CA would need a passphrase at every start.
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) {
    return fail(issue(path, 'is encrypted; give the key unencrypted (it is sealed at rest with the CA key)'));
  }
  try {
    return ok(createPrivateKey(pem));
  } catch {
    return fail(issue(path, 'is not a readable PEM private key'));
  }
}

/** The WebCrypto signing key and the certificate signature algorithm for a private key of `kind`. */
export async function signingKeyOf(key: KeyObject, kind: KeyKind): Promise<{ key: CryptoKey; algorithm: Algorithm | EcdsaParams }> {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  if (kind.type === 'rsa') {
    return { key: await subtle.importKey('pkcs8', der, RSA_SIGNING, false, ['sign']), algorithm: RSA_SIGNING };
  }
  const imported = await subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: kind.curve }, false, ['sign']);
  return { key: imported, algorithm: { name: 'ECDSA', hash: kind.curve === 'P-384' ? 'SHA-384' : 'SHA-256' } as EcdsaParams };
}

/** True when the private key signs what the certificate's public key verifies: they are one pair. */
export function keysMatch(privateKey: KeyObject, publicKey: KeyObject): boolean {
  const probe = randomBytes(32);
  try {
    return verify('sha256', probe, publicKey, sign('sha256', probe, privateKey));
  } catch {
    // Different key types (an RSA key beside an EC certificate) throw rather than return false.
    return false;
  }
}
