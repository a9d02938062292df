/** The replica heartbeat job: writes the proxies only when they changed, keeps trying while the database is away, removes its row on stop. */
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { useTestDatabase } from '../../test/support/test-db.ts';
import type { Db } from '../registry/db.ts';
import { replicas } from '../registry/schema.ts';
import { startReplicaStatus, type ReplicaStatusOptions } from './replica-status.ts';

const fixture = useTestDatabase();
let db: Db;
beforeAll(() => {
  db = fixture.db;
});

const stored = async (id: string) => (await db.select({ leader: replicas.leader, proxies: replicas.proxies }).from(replicas).where(eq(replicas.id, id)))[0];

function options(over: Partial<ReplicaStatusOptions>): ReplicaStatusOptions {
  return {
    db,
    id: 'r1',
    apiUrl: 'http://r1:8080',
    isLeader: () => false,
    intervalMs: 60_000, // runOnce drives it
    proxies: () => [],
    changeCount: () => 0,
    log: { warn: () => {} },
    ...over,
  };
}

describe('replica status job', () => {
  it('writes the proxies on start and again only after they changed; leadership on every beat', async () => {
    let changes = 1;
    let leader = false;
    const proxies = vi.fn(() => [{ id: `p${changes}` }]);
    const job = await startReplicaStatus(options({ proxies, changeCount: () => changes, isLeader: () => leader }));
    expect(await stored('r1')).toEqual({ leader: false, proxies: [{ id: 'p1' }] });
    leader = true;
    await job.runOnce();
    expect(proxies).toHaveBeenCalledTimes(1); // nothing changed: the summary is not rebuilt
    expect(await stored('r1')).toEqual({ leader: true, proxies: [{ id: 'p1' }] });
    changes = 2;
    await job.runOnce();
    expect(await stored('r1')).toEqual({ leader: true, proxies: [{ id: 'p2' }] });
    await job.stop();
    expect(await stored('r1')).toBeUndefined();
  });

  it('logs a failing write once, retries, and rewrites the proxies once the database answers', async () => {
    const warn = vi.fn();
    let broken = true;
    const failingDb = new Proxy(db, {
      get: (target, key) => ((key === 'insert' || key === 'delete') && broken ? () => { throw new Error('connection refused'); } : Reflect.get(target, key)),
    });
    const job = await startReplicaStatus(options({ id: 'r2', db: failingDb, log: { warn }, proxies: () => [{ id: 'x' }], changeCount: () => 5 }));
    await job.runOnce();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toEqual({ err: 'connection refused' });
    expect(await stored('r2')).toBeUndefined();
    broken = false;
    await job.runOnce();
    expect(await stored('r2')).toEqual({ leader: false, proxies: [{ id: 'x' }] });
    broken = true;
    await job.stop(); // the row cannot be removed while the database is away: stop still resolves
    expect(await stored('r2')).toBeDefined(); // the leader prunes it once it goes stale
  });
});
