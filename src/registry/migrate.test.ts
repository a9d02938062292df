/** runMigrations: idempotent, and safe when several replicas start against one empty database. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from './db.ts';
import { LOCK_KEYS, MIGRATIONS_DIR, runMigrations } from './migrate.ts';
import { createService } from './services.ts';
import { createPostgresDatabase, onPostgres, testDatabase, type TestDatabase } from '../../test/support/test-db.ts';
import { okValue, serviceInput } from '../../test/support/registry.ts';

const journal = JSON.parse(readFileSync(path.join(MIGRATIONS_DIR, 'meta/_journal.json'), 'utf8')) as { entries: unknown[] };

/** What a migrated database must hold: every migration applied once and the single revision row. */
async function expectMigrated(database: Database): Promise<void> {
  const session = await database.session();
  try {
    const applied = await session.query('select count(*)::int as n from drizzle.__drizzle_migrations');
    expect(applied.rows[0]!.n).toBe(journal.entries.length);
    expect((await session.query('select id, value from mesh_revision')).rows).toEqual([{ id: 1, value: expect.anything() }]);
    const tables = await session.query(`select table_name from information_schema.tables where table_schema = 'public' order by table_name`);
    expect(tables.rows.map((r) => r.table_name)).toEqual([
      'access_log_entries', 'alert_rules', 'alerts', 'authorization_policies', 'ca_authorities', 'certificates', 'changes', 'cluster_stats', 'endpoints', 'join_tokens',
      'mesh_revision', 'replicas', 'routes', 'services', 'traffic_rollups_hour', 'traffic_rollups_minute',
    ]);
  } finally {
    await session.release();
  }
}

describe('runMigrations', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await testDatabase();
  });
  afterAll(async () => t?.drop());

  it('is a no-op on a migrated database and keeps the revision', async () => {
    okValue(await createService(t.database.db, serviceInput('kept')));
    await runMigrations(t.database);
    await runMigrations(t.database);
    await expectMigrated(t.database);
    const session = await t.database.session();
    expect(Number((await session.query('select value from mesh_revision')).rows[0]!.value)).toBe(1);
    await session.release();
  });
});

describe.skipIf(!onPostgres())('runMigrations on PostgreSQL', () => {
  let created: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let replicas: Database[] = [];
  beforeAll(async () => {
    created = await createPostgresDatabase();
    replicas = await Promise.all([1, 2].map(() => openDatabase({ url: created.url, poolSize: 2 })));
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await created?.drop();
  });

  it('waits while another session holds the migrations lock', async () => {
    const holder = await replicas[0]!.session();
    await holder.query('select pg_advisory_lock($1)', [LOCK_KEYS.migrations]);
    let done = false;
    const running = runMigrations(replicas[1]!).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    await holder.query('select pg_advisory_unlock($1)', [LOCK_KEYS.migrations]);
    await running;
    await holder.release();
    await expectMigrated(replicas[1]!);
  });

  it('lets several replicas migrate one empty database at once', async () => {
    const fresh = await createPostgresDatabase();
    const dbs = await Promise.all([1, 2, 3, 4].map(() => openDatabase({ url: fresh.url, poolSize: 2 })));
    try {
      const results = await Promise.allSettled(dbs.map((d) => runMigrations(d)));
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
      await expectMigrated(dbs[0]!);
      okValue(await createService(dbs[3]!.db, serviceInput('works')));
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
      await fresh.drop();
    }
  });
});
