/**
 * A fresh PostgreSQL database for the run, migrated, and seeded with S services × E endpoints by a
 * direct SQL bulk insert recorded as ONE registry change (revision bump + change row + NOTIFY, the
 * same bookkeeping `recordChange()` does). Seeding only: every change that is measured goes through
 * the REST API.
 */
import pg from 'pg';
import { openDatabase } from '../../src/registry/db.ts';
import { runMigrations } from '../../src/registry/migrate.ts';
import { CHANGES_CHANNEL } from '../../src/registry/changes.ts';
import { createPostgresDatabase } from '../../test/support/test-db.ts';

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Creates and migrates an empty database on the server at `baseUrl`. */
export async function createDatabase(baseUrl: string): Promise<BenchDatabase> {
  process.env.DATABASE_URL = baseUrl;
  const created = await createPostgresDatabase();
  const database = await openDatabase({ url: created.url, poolSize: 1 });
  try {
    await runMigrations(database);
  } finally {
    await database.close();
  }
  return created;
}

/** The namespace and name of service `i` (what the load generator's sidecars say they belong to). */
export const serviceRef = (i: number) => ({ namespace: `ns${i % 20}`, name: `svc${i}` });

/**
 * Inserts `services` services (a third http, the rest grpc, in 20 namespaces) with `endpoints` IPv4
 * endpoints each over 3 zones, in one transaction that records one change.
 */
export async function seedRegistry(url: string, services: number, endpoints: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('begin');
    await client.query(
      `insert into services (namespace, name, protocol, port)
       select 'ns' || (i % 20), 'svc' || i, case when i % 3 = 0 then 'http' else 'grpc' end, 8000 + (i % 1000)
       from generate_series(0, $1::int - 1) as i`,
      [services],
    );
    await client.query(
      `insert into endpoints (service_id, address, port, region, zone)
       select s.id, '10.' || ((n >> 8) & 255) || '.' || (n & 255) || '.' || (j + 1), s.port, 'r1', 'z' || (j % 3)
       from services s, lateral (select substring(s.name from 4)::int as n) x, generate_series(0, $1::int - 1) as j`,
      [endpoints],
    );
    const { rows } = await client.query<{ value: string }>('update mesh_revision set value = value + 1 where id = 1 returning value');
    const revision = Number(rows[0]!.value);
    await client.query(`insert into changes (revision, kind, op, namespace, name) values ($1, 'service', 'create', 'bench', 'seed')`, [revision]);
    await client.query('select pg_notify($1, $2)', [CHANGES_CHANNEL, String(revision)]);
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    await client.end();
  }
}

/** The latest change: its revision and its `at` (the writing transaction's start, database clock) in epoch ms. */
export async function latestChange(client: pg.Client): Promise<{ revision: number; atMs: number }> {
  const { rows } = await client.query<{ revision: string; at_ms: number }>(
    'select revision, extract(epoch from at)::float8 * 1000 as at_ms from changes order by revision desc limit 1',
  );
  return { revision: Number(rows[0]!.revision), atMs: rows[0]!.at_ms };
}
