/** LeaderElector: one leader among replicas; a dead leader's lock passes to the next replica that tries. */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database, Session } from './db.ts';
import { LeaderElector } from './leader.ts';
import { LOCK_KEYS } from './migrate.ts';
import { onPostgres, testDatabase, type TestDatabase } from '../../test/support/test-db.ts';

let t: TestDatabase;
let electors: LeaderElector[] = [];
beforeAll(async () => {
  t = await testDatabase();
});
afterEach(async () => {
  await Promise.all(electors.map((e) => e.stop()));
  electors = [];
});
afterAll(async () => t?.drop());

/** An elector that records each change of its answer. */
function elector(intervalMs = 3_600_000): { e: LeaderElector; changes: boolean[] } {
  const changes: boolean[] = [];
  const e = new LeaderElector(t.database, intervalMs, (leader) => changes.push(leader));
  electors.push(e);
  return { e, changes };
}

describe('LeaderElector', () => {
  it('leads when alone, keeps leading, and steps down on stop', async () => {
    const { e, changes } = elector();
    expect(e.isLeader).toBe(false);
    expect(await e.attempt()).toBe(true);
    expect(await e.attempt()).toBe(true);
    await e.stop();
    expect(e.isLeader).toBe(false);
    expect(changes).toEqual([true, false]);
  });

  it('shares an attempt in flight: a slow connect opens one session, not one per tick', async () => {
    const opened: Session[] = [];
    const pending: (() => void)[] = [];
    const slow = {
      ...t.database,
      session: async () => {
        await new Promise<void>((resolve) => pending.push(resolve));
        const s = await t.database.session();
        const released = { ...s, release: vi.fn(s.release) };
        opened.push(released);
        return released;
      },
    };
    const e = new LeaderElector(slow, 3_600_000);
    electors.push(e);
    const attempts = [e.attempt(), e.attempt(), e.attempt()];
    await vi.waitFor(() => expect(pending.length).toBeGreaterThan(0));
    for (const connect of pending) connect();
    expect(await Promise.all(attempts)).toEqual([true, true, true]);
    expect(opened).toHaveLength(1);
    await e.stop();
    expect(opened[0]!.release).toHaveBeenCalledOnce();
  });

  it('steps down and drops its session when the session stops answering', async () => {
    let answering = true;
    const release = vi.fn(async () => {});
    const fake = {
      kind: 'pglite',
      session: async () => ({
        db: t.database.db,
        release,
        query: async () => (answering ? { rows: [{ locked: true }] } : new Promise<never>(() => {})),
      }),
    } as unknown as Database;
    const changes: boolean[] = [];
    const e = new LeaderElector(fake, 3_600_000, (leader) => changes.push(leader), 50);
    expect(await e.attempt()).toBe(true);
    answering = false;
    const started = Date.now();
    expect(await e.attempt()).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(release).toHaveBeenCalledOnce();
    expect(changes).toEqual([true, false]);
    answering = true;
    expect(await e.attempt()).toBe(true); // a new session
    await e.stop();
  });

  it('releases the session of an attempt still connecting when it stops, and does not lead after', async () => {
    let connect!: () => void;
    let opened: Session | undefined;
    const slow = {
      ...t.database,
      session: async () => {
        await new Promise<void>((resolve) => (connect = resolve));
        const s = await t.database.session();
        opened = { ...s, release: vi.fn(s.release) };
        return opened;
      },
    };
    const e = new LeaderElector(slow, 3_600_000);
    const attempt = e.attempt();
    await vi.waitFor(() => expect(connect).toBeDefined());
    const stopped = e.stop();
    connect();
    await stopped;
    await attempt;
    expect(e.isLeader).toBe(false);
    expect(opened?.release).toHaveBeenCalled();
    expect(await e.attempt()).toBe(false);
  });
});

describe.skipIf(!onPostgres())('LeaderElector on PostgreSQL (one session per replica)', () => {
  let admin: Session;
  beforeAll(async () => {
    admin = await t.database.session();
  });
  afterAll(async () => admin?.release());

  /** The backends holding the leader lock in this test's database. */
  const holders = async () =>
    (
      await admin.query(
        `select pid from pg_locks where locktype = 'advisory' and objid = $1 and granted and database = (select oid from pg_database where datname = current_database())`,
        [LOCK_KEYS.leader],
      )
    ).rows.map((r) => r.pid as number);

  it('lets only one of two electors lead', async () => {
    const a = elector();
    const b = elector();
    expect(await a.e.attempt()).toBe(true);
    expect(await b.e.attempt()).toBe(false);
    expect(await a.e.attempt()).toBe(true);
    expect(await b.e.attempt()).toBe(false);
    expect(await holders()).toHaveLength(1);
    expect(b.changes).toEqual([]);
  });

  it('hands over on the next attempt when the leader’s session is terminated', async () => {
    const a = elector();
    const b = elector();
    await a.e.attempt();
    await b.e.attempt();
    const [pid] = await holders();
    await admin.query('select pg_terminate_backend($1, 5000)', [pid]);
    expect(await b.e.attempt()).toBe(true);
    // The old leader learns it lost its session at its own next attempt, and stays a follower after.
    expect(await a.e.attempt()).toBe(false);
    expect(await a.e.attempt()).toBe(false);
    expect(a.changes).toEqual([true, false]);
    expect(b.changes).toEqual([true]);
    expect(await holders()).toHaveLength(1);
  });

  it('hands over at once when the leader stops, even after many attempts', async () => {
    const a = elector();
    const b = elector();
    for (let i = 0; i < 5; i++) await a.e.attempt();
    await a.e.stop();
    expect(await b.e.attempt()).toBe(true);
  });

  it('takes over by itself when started with an interval', async () => {
    const a = elector(50);
    const b = elector(50);
    await a.e.start();
    await b.e.start();
    expect([a.e.isLeader, b.e.isLeader]).toEqual([true, false]);
    const [pid] = await holders();
    await admin.query('select pg_terminate_backend($1, 5000)', [pid]);
    await vi.waitFor(() => expect([a.e.isLeader, b.e.isLeader]).toEqual([false, true]), { timeout: 5000 });
  });
});
