/**
 * The one module that loads `@peculiar/x509`. It resolves its algorithms through tsyringe, which needs
 * the `reflect-metadata` polyfill loaded first, and it signs through whatever WebCrypto it is given:
 * we give it Node's own, so keys stay in OpenSSL and no JavaScript crypto or node-forge is involved.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// From node:crypto rather than globalThis, so a test environment's or polyfill's `crypto` never ends up signing.
const nodeCrypto = webcrypto as Crypto;
x509.cryptoProvider.set(nodeCrypto);

/** Node's WebCrypto, the provider every `@peculiar/x509` call uses. */
export const subtle: SubtleCrypto = nodeCrypto.subtle;

/** The library itself, ready to use: import it from here, never from `@peculiar/x509` directly. */
export { x509 };
