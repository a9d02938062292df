/**
 * Open streams admitted with a join token (xDS and telemetry alike), and how to end each once its
 * token is revoked or expires: a revoked token cuts every stream it opened, not only new ones.
 */
import type { XdsAuthenticator } from './auth.ts';

interface TokenStream {
  tokenId: string;
  deny(message: string): void;
}

export class TokenStreams {
  private readonly open = new Map<number, TokenStream>();
  private next = 0;

  /** Registers a stream opened with `tokenId`; returns what unregisters it (call it when the stream ends). */
  add(tokenId: string, deny: (message: string) => void): () => void {
    const key = this.next++;
    this.open.set(key, { tokenId, deny });
    return () => this.open.delete(key);
  }

  /** Streams registered now. */
  get size(): number {
    return this.open.size;
  }

  /**
   * Ends (with `deny`) the streams whose token is no longer valid, asking `stillValid` once for all
   * of them; when the database cannot answer, every stream is kept and checked again next time.
   */
  async revalidate(stillValid: NonNullable<XdsAuthenticator['stillValid']>): Promise<void> {
    if (this.open.size === 0) return;
    const ids = [...new Set([...this.open.values()].map((s) => s.tokenId))];
    let valid: ReadonlySet<string>;
    try {
      valid = await stillValid(ids);
    } catch {
      return;
    }
    for (const [key, s] of [...this.open]) {
      if (valid.has(s.tokenId)) continue;
      this.open.delete(key);
      s.deny(`join token ${s.tokenId} was revoked or has expired`);
    }
  }
}
