/** Applies the SQL migrations in `migrations/` under a PostgreSQL advisory lock, so replicas starting together do not race. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import type { Database } from './db.ts';

/** Advisory lock keys used by the registry (one namespace of 64-bit keys for the whole product). */
export const LOCK_KEYS = { migrations: 7_410_001, leader: 7_410_002, routes: 7_410_003, ca: 7_410_004 } as const;

/** The folder holding drizzle-kit's generated SQL. */
export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/** Runs every pending migration; safe to call from several processes at once. */
export async function runMigrations(database: Database): Promise<void> {
  const session = await database.session();
  try {
    await session.query('select pg_advisory_lock($1)', [LOCK_KEYS.migrations]);
    try {
      const config = { migrationsFolder: MIGRATIONS_DIR };
      if (database.kind === 'postgres') await migratePg(session.db as never, config);
      else await migratePglite(session.db as never, config);
    } finally {
      await session.query('select pg_advisory_unlock($1)', [LOCK_KEYS.migrations]);
    }
  } finally {
    await session.release();
  }
}
