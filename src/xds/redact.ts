/**
 * Resources as the management API and CSDS show them: everything as served, except private keys.
 * A secret's key goes to the proxy it belongs to and nowhere else (Istio's config dumps do the same).
 */
import { messageType } from '../protos/loader.ts';
import { decodeToPlain, encodeMessage, messageNameOf, TYPE_URLS, type Plain } from '../protos/type-urls.ts';

export const REDACTED = '[redacted]';

/** A served resource decoded to Envoy JSON, its private key (if any) replaced by `[redacted]`. */
export function shownResource(typeUrl: string, encoded: Uint8Array): Plain {
  const plain = decodeToPlain(messageType(messageNameOf(typeUrl)), encoded);
  return typeUrl === TYPE_URLS.secret ? redactSecret(plain) : plain;
}

/** The bytes of a served resource for a config dump: secrets re-encoded without their private key. */
export function shownEncoded(typeUrl: string, encoded: Uint8Array): Uint8Array {
  if (typeUrl !== TYPE_URLS.secret) return encoded;
  return encodeMessage(messageType(messageNameOf(typeUrl)), shownResource(typeUrl, encoded));
}

function redactSecret(secret: Plain): Plain {
  const tls = secret.tlsCertificate as Plain | undefined;
  if (!tls?.privateKey) return secret;
  return { ...secret, tlsCertificate: { ...tls, privateKey: { inlineString: REDACTED } } };
}
