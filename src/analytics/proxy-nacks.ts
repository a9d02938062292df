/**
 * NACKs from the proxy status every replica publishes (the `replicas.proxies` column: the API's
 * proxy views, see src/xds/server/proxy-views.ts): a type is NACKed when the last response of that
 * type on some stream of the proxy was rejected (state `error`). Read defensively: the rows are
 * JSON written by other replicas, possibly of another version. Pure.
 */
import type { ProxyNacks } from './alert-conditions.ts';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The NACKed types of one proxy view's streams, by type. */
function nackedTypes(view: Json, into: Map<string, ProxyNacks['nacks'][number]>): void {
  for (const stream of Array.isArray(view.streams) ? view.streams : []) {
    if (!isObject(stream) || !isObject(stream.types)) continue;
    for (const [type, status] of Object.entries(stream.types)) {
      if (!isObject(status) || status.state !== 'error' || into.has(type)) continue;
      const nack = isObject(status.lastNack) ? status.lastNack : {};
      into.set(type, { type, version: text(nack.version), errorDetail: text(nack.errorDetail) });
    }
  }
}

/** Every proxy listed by the replicas given, with the types whose last response it NACKed (sorted by proxy, then type). */
export function proxyNacksOf(replicaProxies: readonly unknown[][]): ProxyNacks[] {
  const byProxy = new Map<string, { service: string | null; nacks: Map<string, ProxyNacks['nacks'][number]> }>();
  for (const views of replicaProxies) {
    for (const view of views) {
      if (!isObject(view) || typeof view.id !== 'string') continue;
      const ns = text(view.namespace);
      const name = text(view.service);
      const entry = byProxy.get(view.id) ?? { service: ns && name ? `${ns}/${name}` : null, nacks: new Map() };
      nackedTypes(view, entry.nacks);
      byProxy.set(view.id, entry);
    }
  }
  return [...byProxy.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([proxy, e]) => ({ proxy, service: e.service, nacks: [...e.nacks.values()].sort((a, b) => (a.type < b.type ? -1 : 1)) }));
}
