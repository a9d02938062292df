/**
 * A fresh, migrated registry database per test file: a new database on the real PostgreSQL when
 * DATABASE_URL is set (CI), otherwise an in-memory PGlite.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { openDatabase, type Database, type Db } from '../../src/registry/db.ts';
import { runMigrations } from '../../src/registry/migrate.ts';

export interface TestDatabase {
  database: Database;
  /** The PostgreSQL URL of this test's database (undefined on PGlite). */
  url?: string;
  /** Closes the connection and drops the database. */
  drop(): Promise<void>;
}

/** True when tests run against the real PostgreSQL. */
export const onPostgres = (): boolean => !!process.env.DATABASE_URL;

/** Creates an empty database on the server DATABASE_URL points at, and returns its URL. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = new URL(process.env.DATABASE_URL!);
  const name = `apg_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base.toString() });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** Opens a fresh migrated database for one test file. */
export async function testDatabase(): Promise<TestDatabase> {
  if (!onPostgres()) {
    const database = await openDatabase({});
    await runMigrations(database);
    return { database, drop: () => database.close() };
  }
  const created = await createPostgresDatabase();
  const database = await openDatabase({ url: created.url, poolSize: 5 });
  await runMigrations(database);
  return {
    database,
    url: created.url,
    async drop() {
      await database.close();
      await created.drop();
    },
  };
}

/**
 * A fresh database for the tests of one file: opened before them, dropped after them; the tables
 * named in `emptyBeforeEach` are emptied before every test. Read `.db` inside hooks and tests.
 */
export function useTestDatabase(emptyBeforeEach: string[] = []): { readonly db: Db; readonly database: Database } {
  let t: TestDatabase | undefined;
  const handle = {
    get database(): Database {
      if (!t) throw new Error('the test database is opened in beforeAll');
      return t.database;
    },
    get db(): Db {
      return handle.database.db;
    },
  };
  beforeAll(async () => {
    t = await testDatabase();
  });
  afterAll(async () => t?.drop());
  if (emptyBeforeEach.length) {
    beforeEach(async () => {
      for (const table of emptyBeforeEach) await handle.db.execute(sql.raw(`delete from ${table}`));
    });
  }
  return handle;
}
