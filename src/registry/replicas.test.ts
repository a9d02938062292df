/** The replicas table: heartbeats, the proxy summary kept when unchanged, freshness and pruning. */
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../test/support/test-db.ts';
import type { Db } from './db.ts';
import { replicas } from './schema.ts';
import { otherReplicas, publishReplica, pruneReplicas, removeReplica } from './replicas.ts';

const fixture = useTestDatabase(['replicas']);
let db: Db;
beforeAll(() => {
  db = fixture.db;
});

/** Moves replica `id`'s last heartbeat `seconds` into the past. */
const age = (id: string, seconds: number) => db.execute(sql`update replicas set seen_at = now() - make_interval(secs => ${seconds}) where id = ${id}`);

describe('replicas', () => {
  it('lists the other fresh replicas with what they last reported, never itself', async () => {
    await publishReplica(db, { id: 'a', apiUrl: 'http://a:8080', leader: true, proxies: [{ id: 'p1' }] });
    await publishReplica(db, { id: 'b', apiUrl: 'http://b:8080', leader: false, proxies: [{ id: 'p2' }] });
    const seen = await otherReplicas(db, 'a', 5000);
    expect(seen.map((r) => [r.id, r.apiUrl, r.leader, r.proxies])).toEqual([['b', 'http://b:8080', false, [{ id: 'p2' }]]]);
  });

  it('a heartbeat without proxies keeps the last summary and refreshes the time and leadership', async () => {
    await publishReplica(db, { id: 'b', apiUrl: 'http://b:8080', leader: false, proxies: [{ id: 'p2' }] });
    await age('b', 60);
    expect(await otherReplicas(db, 'a', 5000)).toEqual([]);
    await publishReplica(db, { id: 'b', apiUrl: 'http://b:9090', leader: true });
    expect(await otherReplicas(db, 'a', 5000)).toMatchObject([{ id: 'b', apiUrl: 'http://b:9090', leader: true, proxies: [{ id: 'p2' }] }]);
    await publishReplica(db, { id: 'b', apiUrl: 'http://b:9090', leader: true, proxies: [] });
    expect(await otherReplicas(db, 'a', 5000)).toMatchObject([{ id: 'b', proxies: [] }]);
  });

  it('prunes replicas silent for longer than the limit, and removes one on request', async () => {
    for (const id of ['a', 'b', 'c']) await publishReplica(db, { id, apiUrl: `http://${id}`, leader: false, proxies: [] });
    await age('b', 120);
    expect(await pruneReplicas(db, 60_000)).toBe(1);
    await removeReplica(db, 'c');
    expect(await db.select({ id: replicas.id }).from(replicas)).toEqual([{ id: 'a' }]);
  });
});
