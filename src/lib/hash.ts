/** Content hashes used as xDS versions: the same bytes give the same version on every replica and after restarts. */
import { createHash } from 'node:crypto';

/** A short, URL-safe SHA-256 digest of the given parts. */
export function contentHash(...parts: (string | Uint8Array)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('base64url').slice(0, 22);
}
