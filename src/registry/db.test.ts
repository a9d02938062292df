/** The database handle: NOTIFY delivery on both engines, and a PostgreSQL LISTEN connection that heals itself. */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase, type Session } from './db.ts';
import { isUnavailable } from './errors.ts';
import { onPostgres, testDatabase, type TestDatabase } from '../../test/support/test-db.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await testDatabase();
});
afterAll(async () => t?.drop());

const notify = (channel: string, payload: string) => t.database.db.execute(sql`select pg_notify(${channel}, ${payload})`);

describe('listen', () => {
  it('delivers notifications on its channel until unlistened', async () => {
    const got: string[] = [];
    const unlisten = await t.database.listen('apg_test_a', (p) => got.push(p));
    await notify('apg_test_b', 'elsewhere');
    await notify('apg_test_a', 'one');
    await vi.waitFor(() => expect(got).toEqual(['one']));
    await unlisten();
    await notify('apg_test_a', 'two');
    await notify('apg_test_a', 'three');
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual(['one']);
  });
});

describe.skipIf(!onPostgres())('the PostgreSQL LISTEN connection', () => {
  let admin: Session;
  beforeAll(async () => {
    admin = await t.database.session();
  });
  afterAll(async () => admin?.release());

  const listenerPids = async (channel: string) =>
    (await admin.query(`select pid from pg_stat_activity where datname = current_database() and query = $1`, [`LISTEN "${channel}"`])).rows.map(
      (r) => r.pid as number,
    );

  it('reconnects after its backend is terminated and keeps delivering', async () => {
    const got: string[] = [];
    const lost: Error[] = [];
    let reconnected = 0;
    const unlisten = await t.database.listen('apg_test_heal', (p) => got.push(p), (e) => lost.push(e), () => reconnected++);
    try {
      await notify('apg_test_heal', 'before');
      await vi.waitFor(() => expect(got).toEqual(['before']));
      const [pid] = await listenerPids('apg_test_heal');
      expect(pid).toBeDefined();
      await admin.query('select pg_terminate_backend($1, 5000)', [pid]);
      await vi.waitFor(() => expect(lost).toHaveLength(1));
      // Told once it listens again, so the caller can catch up on what it missed meanwhile.
      await vi.waitFor(() => expect(reconnected).toBe(1), { timeout: 10_000 });

      await vi.waitFor(
        async () => {
          await notify('apg_test_heal', 'after');
          expect(got).toContain('after');
        },
        { timeout: 10_000, interval: 200 },
      );
      const [newPid] = await listenerPids('apg_test_heal');
      expect(newPid).toBeDefined();
      expect(newPid).not.toBe(pid);
      expect(lost).toHaveLength(1);
    } finally {
      await unlisten();
    }
    await vi.waitFor(async () => expect(await listenerPids('apg_test_heal')).toEqual([]));
  });

  it('reconnects again after a second loss, and stops for good when unlistened', async () => {
    const got: string[] = [];
    let lost = 0;
    const unlisten = await t.database.listen('apg_test_twice', (p) => got.push(p), () => lost++);
    for (let round = 1; round <= 2; round++) {
      const [pid] = await listenerPids('apg_test_twice');
      await admin.query('select pg_terminate_backend($1, 5000)', [pid]);
      await vi.waitFor(
        async () => {
          await notify('apg_test_twice', `round-${round}`);
          expect(got).toContain(`round-${round}`);
        },
        { timeout: 10_000, interval: 200 },
      );
    }
    expect(lost).toBe(2);
    await unlisten();
    await new Promise((r) => setTimeout(r, 700));
    expect(await listenerPids('apg_test_twice')).toEqual([]);
  });
});

describe.skipIf(!onPostgres())('PostgreSQL sessions', () => {
  it('are separate connections, so a session-level lock is its own', async () => {
    const a = await t.database.session();
    const b = await t.database.session();
    try {
      const pidA = (await a.query('select pg_backend_pid() as pid')).rows[0]!.pid;
      const pidB = (await b.query('select pg_backend_pid() as pid')).rows[0]!.pid;
      expect(pidA).not.toBe(pidB);
      expect((await a.query('select pg_try_advisory_lock(42) as ok')).rows[0]!.ok).toBe(true);
      expect((await b.query('select pg_try_advisory_lock(42) as ok')).rows[0]!.ok).toBe(false);
    } finally {
      await a.release();
      await b.release();
    }
  });
});

describe.skipIf(!onPostgres())('a PostgreSQL pool whose queries go unanswered', () => {
  it('drops the connection after the timeout, fails the query as unavailable, and serves the next one', async () => {
    const database = await openDatabase({ url: t.url, poolSize: 2, timeoutMs: 300 });
    try {
      // pg_sleep stands in for a server that does not answer (a partition): without the timeout it waits 30 s.
      const started = Date.now();
      const err = await database.db.execute(sql`select pg_sleep(30)`).then(() => undefined, (e: Error) => e);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(isUnavailable(err)).toBe(true);
      const failedTx = await database.db.transaction((tx) => tx.execute(sql`select pg_sleep(30)`)).then(() => undefined, (e: Error) => e);
      expect(isUnavailable(failedTx)).toBe(true);
      // The pool replaced the dropped connections; quick queries are untouched by the timeout.
      const rows = async (query: ReturnType<typeof sql>) => ((await database.db.execute(query)) as unknown as { rows: unknown[] }).rows;
      expect(await rows(sql`select 1 as n`)).toEqual([{ n: 1 }]);
      // ...and the server ends a transaction left idle that long (a replica gone silent holding row locks).
      expect(await rows(sql`show idle_in_transaction_session_timeout`)).toEqual([{ idle_in_transaction_session_timeout: '300ms' }]);
    } finally {
      await database.close();
    }
  });
});

describe.skipIf(!onPostgres())('COPY on a PostgreSQL pool', () => {
  it('loads all rows or none, drops a COPY left unanswered after the timeout, and copies again afterwards', async () => {
    const database = await openDatabase({ url: t.url, poolSize: 2, timeoutMs: 300 });
    const blocker = await database.session();
    const count = async () => ((await database.db.execute(sql`select count(*)::int as n from copy_probe`)) as unknown as { rows: { n: number }[] }).rows[0]!.n;
    try {
      await database.db.execute(sql`create table copy_probe (name text, n int)`);
      await database.copyIn('copy_probe', ['name', 'n'], 'a\t1\nb\t\\N\n');
      await expect(database.copyIn('copy_probe', ['name', 'n'], 'c\t3\nd\tfour\n')).rejects.toThrow(/integer/);
      expect(await count()).toBe(2);
      // A lock held elsewhere stands in for a server that does not answer.
      await blocker.query('begin');
      await blocker.query('lock table copy_probe in access exclusive mode');
      const started = Date.now();
      const err = await database.copyIn('copy_probe', ['name', 'n'], 'e\t5\n').then(() => undefined, (e: Error) => e);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(isUnavailable(err)).toBe(true);
      await blocker.query('rollback');
      await database.copyIn('copy_probe', ['name', 'n'], 'f\t6\n');
      expect(await count()).toBe(3);
    } finally {
      await blocker.release();
      await database.close();
    }
  });
});
