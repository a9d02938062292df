/**
 * A fresh, migrated registry database per test file: a new database on the real PostgreSQL when
 * DATABASE_URL is set (CI), otherwise an in-memory PGlite.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/registry/db.ts';
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
