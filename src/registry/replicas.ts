/** The replicas table: each replica's heartbeat and the summary of the proxies it holds. */
import { and, gte, lt, ne, sql } from 'drizzle-orm';
import type { Db } from './db.ts';
import { replicas, type ReplicaRow } from './schema.ts';

export interface ReplicaHeartbeat {
  id: string;
  apiUrl: string;
  leader: boolean;
  /** The proxies this replica holds; left as stored when undefined (nothing changed since the last write). */
  proxies?: unknown[];
  /** This replica's telemetry ingestion counters (cumulative since it started). */
  telemetry?: Record<string, number>;
}

/** Records that replica `r` is alive (and, when given, what it holds now). */
export async function publishReplica(db: Db, r: ReplicaHeartbeat): Promise<void> {
  const now = sql`now()`;
  const base = { apiUrl: r.apiUrl, leader: r.leader, seenAt: now, ...(r.telemetry ? { telemetry: r.telemetry } : {}) };
  const set = r.proxies ? { ...base, proxies: r.proxies } : base;
  await db
    .insert(replicas)
    .values({ id: r.id, apiUrl: r.apiUrl, leader: r.leader, proxies: r.proxies ?? [], telemetry: r.telemetry ?? {} })
    .onConflictDoUpdate({ target: replicas.id, set });
}

/** Removes a replica that is shutting down. */
export async function removeReplica(db: Db, id: string): Promise<void> {
  await db.delete(replicas).where(sql`${replicas.id} = ${id}`);
}

/** Replicas other than `self` seen within the last `freshMs`, by id. */
export async function otherReplicas(db: Db, self: string, freshMs: number): Promise<ReplicaRow[]> {
  return db
    .select()
    .from(replicas)
    .where(and(ne(replicas.id, self), gte(replicas.seenAt, sql`now() - make_interval(secs => ${freshMs / 1000})`)))
    .orderBy(replicas.id);
}

/** Deletes replicas not seen for `staleMs` (they died without saying goodbye); returns how many. */
export async function pruneReplicas(db: Db, staleMs: number): Promise<number> {
  const gone = await db
    .delete(replicas)
    .where(lt(replicas.seenAt, sql`now() - make_interval(secs => ${staleMs / 1000})`))
    .returning({ id: replicas.id });
  return gone.length;
}

/** Every replica seen within the last `freshMs`, by id. */
export async function liveReplicas(db: Db, freshMs: number): Promise<ReplicaRow[]> {
  return db
    .select()
    .from(replicas)
    .where(gte(replicas.seenAt, sql`now() - make_interval(secs => ${freshMs / 1000})`))
    .orderBy(replicas.id);
}
