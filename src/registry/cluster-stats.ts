/**
 * The cluster_stats table: the latest value of each stat that matters, per proxy and cluster, as the
 * metrics service last reported it (src/analytics/cluster-stats.ts picks them). One row per
 * (proxy, cluster, stat), overwritten in place, so it stays as small as the mesh.
 */
import { and, asc, eq, like, lt, or, sql, type SQL } from 'drizzle-orm';
import type { ClusterStat } from '../analytics/cluster-stats.ts';
import { serviceHost, serviceRefOfKey } from '../model/names.ts';
import type { Db, Tx } from './db.ts';
import { clusterStats, type ClusterStatRow } from './schema.ts';

/** Rows per INSERT: 6 parameters each stays far below PostgreSQL's 65,535 (a whole message is one statement). */
const CHUNK = 5_000;

/** Stores one proxy's stats in one multi-row upsert; a row already written with a later time is kept. */
export async function upsertClusterStats(db: Db | Tx, proxyId: string, replica: string, stats: readonly ClusterStat[], at: Date): Promise<void> {
  // ON CONFLICT may not touch a row twice in one statement: keep the last of each key.
  const byKey = new Map(stats.map((s) => [`${s.cluster}\u0000${s.stat}`, s]));
  const rows = [...byKey.values()].map((s) => ({ proxyId, cluster: s.cluster, stat: s.stat, value: s.value, replica, updatedAt: at }));
  for (let i = 0; i < rows.length; i += CHUNK) {
    await db
      .insert(clusterStats)
      .values(rows.slice(i, i + CHUNK))
      .onConflictDoUpdate({
        target: [clusterStats.proxyId, clusterStats.cluster, clusterStats.stat],
        set: { value: sql`excluded.value`, replica: sql`excluded.replica`, updatedAt: sql`excluded.updated_at` },
        // A proxy that moved to another replica, or a slow write, must not put older values back.
        setWhere: sql`${clusterStats.updatedAt} <= excluded.updated_at`,
      });
  }
}

/** Which rows to list; `service` is `<namespace>/<name>`. */
export interface ClusterStatsFilter {
  proxyId?: string;
  cluster?: string;
  service?: string;
  /** Most rows returned. */
  limit?: number;
}

/** Stats by proxy, cluster, then stat; `service` matches its cluster, its subsets and its inbound cluster. */
export async function listClusterStats(db: Db | Tx, filter: ClusterStatsFilter = {}): Promise<ClusterStatRow[]> {
  const where: SQL[] = [];
  if (filter.proxyId !== undefined) where.push(eq(clusterStats.proxyId, filter.proxyId));
  if (filter.cluster !== undefined) where.push(eq(clusterStats.cluster, filter.cluster));
  if (filter.service !== undefined) {
    const host = hostOfService(filter.service);
    if (host === undefined) return [];
    where.push(or(eq(clusterStats.cluster, host), like(clusterStats.cluster, `${escapeLike(host)}|%`), eq(clusterStats.cluster, `inbound:${host}`))!);
  }
  const query = db
    .select()
    .from(clusterStats)
    .where(and(...where))
    .orderBy(asc(clusterStats.proxyId), asc(clusterStats.cluster), asc(clusterStats.stat));
  return filter.limit === undefined ? query : query.limit(filter.limit);
}

/** Deletes the rows not updated since `olderThan` (proxies that left); returns how many. */
export async function pruneClusterStats(db: Db | Tx, olderThan: Date): Promise<number> {
  const deleted = await db.delete(clusterStats).where(lt(clusterStats.updatedAt, olderThan)).returning({ proxyId: clusterStats.proxyId });
  return deleted.length;
}

/** `<name>.<namespace>` of a `<namespace>/<name>` key; undefined for anything else. */
function hostOfService(service: string): string | undefined {
  const ref = serviceRefOfKey(service);
  return ref && serviceHost(ref);
}

/** LIKE treats `%`, `_` and `\` specially; a service name is matched literally. */
function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
