/**
 * Every proxy of the mesh, whichever replica holds its stream: this replica's own streams live, the
 * others' as they last wrote them to the replicas table. A config dump is only held in memory by the
 * replica holding the stream, so a request for a proxy elsewhere is forwarded to that replica's API.
 */
import type { ReplicaRow } from '../registry/schema.ts';
import type { ProxyConfigView, ProxyView } from '../xds/server/proxy-views.ts';

/** What the proxy routes read. */
export interface ProxyDirectory {
  /** All proxies by node id; `complete` is false when other replicas could not be read. */
  list(): Promise<{ items: ProxyView[]; complete: boolean }>;
  get(nodeId: string): Promise<ProxyView | undefined>;
  /** The config dump; `forwarded` requests (from another replica) answer from this replica only. */
  config(nodeId: string, forwarded: boolean): Promise<ProxyConfigView | undefined>;
}

/** The local proxy status, as ProxyViews reads it. */
export interface LocalProxies {
  list(): ProxyView[];
  get(nodeId: string): ProxyView | undefined;
  config(nodeId: string): ProxyConfigView | undefined;
}

/** A forwarded config dump could not be fetched from the replica holding the proxy. */
export class ReplicaUnreachableError extends Error {
  constructor(
    readonly replica: string,
    cause: string,
  ) {
    super(`proxy is connected to replica "${replica}", whose API did not answer: ${cause}`);
  }
}

/** Header marking a request one replica forwarded to another (never forwarded again). */
export const FORWARDED_HEADER = 'x-apg-forwarded-by';

const byId = (a: ProxyView, b: ProxyView) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** One view per node id: streams of the same node on several replicas are merged, oldest connection first. */
function mergeByNode(views: ProxyView[]): ProxyView[] {
  const out = new Map<string, ProxyView>();
  for (const v of views) {
    const seen = out.get(v.id);
    if (!seen) out.set(v.id, v);
    else {
      const [older, newer] = seen.connectedAt <= v.connectedAt ? [seen, v] : [v, seen];
      out.set(v.id, { ...newer, connectedAt: older.connectedAt, streams: [...older.streams, ...newer.streams] });
    }
  }
  return [...out.values()].sort(byId);
}

/** The local proxies plus those other replicas reported, with forwarding of config dumps. */
export class MeshProxyDirectory implements ProxyDirectory {
  constructor(
    private readonly self: string,
    private readonly local: LocalProxies,
    /** The other live replicas' rows (may fail while the database is unavailable). */
    private readonly others: () => Promise<ReplicaRow[]>,
    private readonly fetchTimeoutMs = 5000,
  ) {}

  async list(): Promise<{ items: ProxyView[]; complete: boolean }> {
    const local = this.local.list();
    try {
      const remote = (await this.others()).flatMap((r) => r.proxies as ProxyView[]);
      return { items: mergeByNode([...local, ...remote]), complete: true };
    } catch {
      return { items: local, complete: false };
    }
  }

  async get(nodeId: string): Promise<ProxyView | undefined> {
    const local = this.local.get(nodeId);
    const remote = await this.remoteHolders(nodeId).catch(() => []);
    const views = [...(local ? [local] : []), ...remote.map(([, v]) => v)];
    return views.length ? mergeByNode(views)[0] : undefined;
  }

  async config(nodeId: string, forwarded: boolean): Promise<ProxyConfigView | undefined> {
    const local = this.local.config(nodeId);
    if (local || forwarded) return local;
    const [holder] = await this.remoteHolders(nodeId);
    return holder ? this.fetchConfig(holder[0], nodeId) : undefined;
  }

  /** Other replicas whose last report lists `nodeId`, with that report's view. */
  private async remoteHolders(nodeId: string): Promise<[ReplicaRow, ProxyView][]> {
    const out: [ReplicaRow, ProxyView][] = [];
    for (const r of await this.others()) {
      const view = (r.proxies as ProxyView[]).find((p) => p.id === nodeId);
      if (view) out.push([r, view]);
    }
    return out;
  }

  private async fetchConfig(replica: ReplicaRow, nodeId: string): Promise<ProxyConfigView | undefined> {
    const url = `${replica.apiUrl.replace(/\/$/, '')}/api/v1/proxies/${encodeURIComponent(nodeId)}/config`;
    let res: Response;
    try {
      res = await fetch(url, { headers: { [FORWARDED_HEADER]: this.self }, signal: AbortSignal.timeout(this.fetchTimeoutMs) });
    } catch (err) {
      throw new ReplicaUnreachableError(replica.id, (err as Error).message);
    }
    if (res.status === 404) return undefined; // it disconnected since its last report
    if (!res.ok) throw new ReplicaUnreachableError(replica.id, `HTTP ${res.status}`);
    return (await res.json()) as ProxyConfigView;
  }
}
