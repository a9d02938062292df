/** PEM text: splitting bundles into certificates and joining them back, one block per line run. */

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----\r?\n[\s\S]*?-----END CERTIFICATE-----/g;

/** Every `CERTIFICATE` block in `text`, in order, each ending in a newline; other blocks are skipped. */
export function certificateBlocks(text: string): string[] {
  return [...text.matchAll(CERTIFICATE_BLOCK)].map((m) => `${m[0].replace(/\r\n/g, '\n')}\n`);
}

/** Joins PEM blocks so that each ends in exactly one newline (what Envoy's and OpenSSL's readers expect). */
export function joinPem(blocks: readonly string[]): string {
  return blocks.map((b) => `${b.trim()}\n`).join('');
}
