/**
 * What a proxy was last sent of one type, for the config dump and CSDS: references into the shared
 * cache, each with the response that carried it (so settling a response settles its resources).
 */
import type { CachedResource } from '../cache/resource.ts';
import { byName } from './stream-base.ts';

/** One response as the proxy status remembers it. */
export interface SentResponse {
  readonly nonce: string;
  /** The response's `version_info` (SotW) or `system_version_info` (Delta). */
  readonly version: string;
  readonly at: Date;
  /** Revision of the snapshot the response was built from, and when that revision committed. */
  readonly revision: number;
  readonly committedAt?: Date;
  /** Set when written while its snapshot was fanned out (a push of that change): monotonic ms of the publish. */
  readonly publishedAt?: number;
  outcome?: 'acked' | 'nacked';
  /** The rejection, when the outcome is a NACK. */
  nack?: { errorDetail: string; at: Date };
}

/** A resource the proxy was sent, with the response that carried it. */
export interface HeldResource {
  readonly resource: CachedResource;
  readonly response: SentResponse;
}

/** The resources of one type a proxy holds from us, as far as our responses tell. */
export class HeldResources {
  /** After a full-state response: its list, shared with the cache (no per-proxy copy). */
  private whole: { resources: readonly CachedResource[]; response: SentResponse } | undefined;
  private readonly named = new Map<string, HeldResource>();

  /** G1: a SotW LDS/CDS response carries the full state and replaces everything held. */
  replace(resources: readonly CachedResource[], response: SentResponse): void {
    this.whole = { resources, response };
    this.named.clear();
  }

  /** Other responses add or replace resources by name and delete the `removed` names. */
  merge(resources: readonly CachedResource[], removed: readonly string[], response: SentResponse): void {
    if (this.whole) {
      for (const resource of this.whole.resources) this.named.set(resource.name, { resource, response: this.whole.response });
      this.whole = undefined;
    }
    for (const resource of resources) this.named.set(resource.name, { resource, response });
    for (const name of removed) this.named.delete(name);
  }

  /** The client dropped `names` by itself (it unsubscribed): they leave the dump without a response. */
  forget(names: readonly string[]): void {
    if (names.length === 0) return;
    if (this.whole) {
      for (const resource of this.whole.resources) this.named.set(resource.name, { resource, response: this.whole.response });
      this.whole = undefined;
    }
    for (const name of names) this.named.delete(name);
  }

  /** Number of resources held. */
  get size(): number {
    return this.whole ? this.whole.resources.length : this.named.size;
  }

  /** Every resource held, sorted by name. */
  list(): HeldResource[] {
    const whole = this.whole;
    if (whole) return whole.resources.map((resource) => ({ resource, response: whole.response }));
    return [...this.named.values()].sort((a, b) => byName(a.resource, b.resource));
  }
}
