/**
 * Opens the registry database: PostgreSQL through node-postgres when a URL is given, otherwise
 * embedded PGlite under a data directory (or in memory). Both are driven by the same drizzle schema.
 */
import { mkdirSync } from 'node:fs';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import * as schema from './schema.ts';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
/** The handle a `db.transaction()` callback receives. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** A dedicated connection that lives until released (advisory locks are held per session). */
export interface Session {
  query(text: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  db: Db;
  release(): Promise<void>;
}

/** The registry database, whatever the engine behind it. */
export interface Database {
  kind: 'postgres' | 'pglite';
  db: Db;
  /**
   * Subscribes to NOTIFY on `channel`. `onLost` fires when the listening connection dies (it is then
   * re-opened), `onReconnected` once it listens again: notifications sent in between were missed.
   */
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    onLost?: (err: Error) => void,
    onReconnected?: () => void,
  ): Promise<() => Promise<void>>;
  /** Opens a dedicated session (for advisory locks that must stay with one connection). */
  session(): Promise<Session>;
  /**
   * Bulk-loads `rows` (COPY's text format: tab-separated fields, `\N` for NULL, one line per row)
   * into `table`'s `columns` with one COPY: all rows or, on any error, none. `rows` is one string,
   * or parts (bytes) sent one after the other, a part ending anywhere.
   */
  copyIn(table: string, columns: readonly string[], rows: string | readonly Uint8Array[]): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** `postgres://...`; unset for PGlite. */
  url?: string;
  /** PGlite data directory; unset for an in-memory database. */
  dataDir?: string;
  /** Pool size for PostgreSQL. */
  poolSize?: number;
  /** How long PostgreSQL may leave a connect or a pooled query unanswered before the connection is dropped (default 10 s). */
  timeoutMs?: number;
}

/** Opens the database named by the options. */
export async function openDatabase(opts: OpenOptions): Promise<Database> {
  return opts.url ? openPostgres(opts.url, opts.poolSize ?? 10, opts.timeoutMs ?? 10_000) : openPglite(opts.dataDir);
}

async function openPostgres(url: string, poolSize: number, timeoutMs: number): Promise<Database> {
  // The connect timeout also bounds the LISTEN and session connects below: without one, a connect to
  // a host that does not answer at all (partition, failed-over address) hangs for minutes.
  // Sent with the connection's startup, so it holds before the first query. Should this replica go
  // silent inside a transaction (partition), the server ends it rather than leave its row locks (the
  // revision row) blocking every other replica.
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: timeoutMs, idle_in_transaction_session_timeout: Math.round(timeoutMs) });
  // A pooled connection that dies (server restart, pg_terminate_backend) must not crash the process.
  pool.on('error', () => {});
  // ...nor must one that dies while checked out: pg emits 'error' on the client, and the pool only
  // listens while the client is idle. The failed query still rejects, so the caller sees the error.
  pool.on('connect', (client) => {
    client.on('error', () => {});
    releaseWhenBeginFails(client);
    dropWhenUnanswered(client, timeoutMs);
  });
  const db = drizzlePg(pool, { schema }) as unknown as Db;
  await pool.query('select 1');
  const listeners = new Set<PgListener>();
  return {
    kind: 'postgres',
    db,
    async listen(channel, onPayload, onLost, onReconnected) {
      const listener = new PgListener(url, timeoutMs, channel, onPayload, onLost, onReconnected);
      listeners.add(listener);
      await listener.start();
      return async () => {
        listeners.delete(listener);
        await listener.stop();
      };
    },
    async session() {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
      client.on('error', () => {});
      await client.connect();
      return {
        query: (text, params) => client.query(text, params),
        db: drizzlePg(client, { schema }) as unknown as Db,
        release: () => client.end().catch(() => {}),
      };
    },
    async copyIn(table, columns, rows) {
      const client = await pool.connect();
      let failed: Error | undefined;
      try {
        await copyRows(client, `copy ${copyTarget(table, columns)} from stdin`, rows, timeoutMs);
      } catch (err) {
        failed = err as Error;
        throw err;
      } finally {
        // A connection whose COPY failed half-way is not given back to the pool.
        client.release(failed);
      }
    },
    async close() {
      await Promise.all([...listeners].map((l) => l.stop()));
      await pool.end();
    },
  };
}

/**
 * drizzle-orm (0.45) sends a transaction's `begin` before its try/finally, so when `begin` fails (a
 * connection the server just terminated) the client is never released: the pool shrinks for good and
 * `close()` hangs. Give such a client back, marked broken, so the pool replaces it.
 */
function releaseWhenBeginFails(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((...args: unknown[]) => {
    const result = query(...args);
    const first = args[0] as string | { text?: string } | undefined;
    const text = typeof first === 'string' ? first : first?.text;
    if (!(result instanceof Promise) || !/^\s*begin\b/i.test(text ?? '')) return result;
    return result.catch((err: Error) => {
      client.release(err);
      throw err;
    });
  }) as typeof client.query;
}

/**
 * A query PostgreSQL never answers (a partition, a failed-over address that sends no reset) would hang
 * its caller until TCP gives up, many minutes later: a write would get no answer and the reconciler
 * would stop rebuilding. Past `timeoutMs` the connection is dropped instead: the query, and any queued
 * behind it, fail as "unavailable" (503 for a write, a retry for the reconciler) and the pool replaces it.
 */
function dropWhenUnanswered(client: pg.PoolClient, timeoutMs: number): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((...args: unknown[]) => {
    const timer = setTimeout(() => dropConnection(client, timeoutMs), timeoutMs);
    timer.unref();
    const last = args.at(-1);
    if (typeof last === 'function') {
      // Callback style (pool.query): the callback runs once, with the answer or the error.
      args[args.length - 1] = (...results: unknown[]) => {
        clearTimeout(timer);
        return (last as (...a: unknown[]) => unknown)(...results);
      };
      return query(...args);
    }
    const result = query(...args);
    if (result instanceof Promise) return result.finally(() => clearTimeout(timer));
    clearTimeout(timer); // a Submittable (cursor, stream) reports through its own events
    return result;
  }) as typeof client.query;
}

/** Destroys `client`'s socket because PostgreSQL left it unanswered for `timeoutMs`; returns the error its queries fail with. */
function dropConnection(client: pg.ClientBase, timeoutMs: number): Error {
  const err = Object.assign(new Error(`Connection terminated: no answer from PostgreSQL within ${timeoutMs} ms`), { code: 'ETIMEDOUT' });
  (client as unknown as { connection: { stream: { destroy(err: Error): void } } }).connection.stream.destroy(err);
  return err;
}

/** `"table" ("a", "b")`: names come from code, quoted all the same. */
const copyTarget = (table: string, columns: readonly string[]) => `"${table}" (${columns.map((c) => `"${c}"`).join(', ')})`;

/** Streams `rows` through `copy … from stdin` on `client`; an unanswered COPY drops the connection after `timeoutMs`, as other queries do. */
function copyRows(client: pg.PoolClient, statement: string, rows: string | readonly Uint8Array[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = client.query(copyFrom(statement));
    const timer = setTimeout(() => reject(dropConnection(client, timeoutMs)), timeoutMs);
    timer.unref();
    stream.on('finish', () => {
      clearTimeout(timer);
      resolve();
    });
    stream.on('error', (err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
    if (typeof rows !== 'string') for (const part of rows) stream.write(part);
    stream.end(typeof rows === 'string' ? rows : undefined);
  });
}

/** A LISTEN connection that re-opens itself after it is lost, so notifications resume without a restart. */
class PgListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly connectTimeoutMs: number,
    private readonly channel: string,
    private readonly onPayload: (payload: string) => void,
    private readonly onLost?: (err: Error) => void,
    private readonly onReconnected?: () => void,
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: this.connectTimeoutMs });
    client.on('notification', (msg) => {
      if (msg.channel === this.channel) this.onPayload(msg.payload ?? '');
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('listen connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel}"`);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    // stop() may have run while this (re)connect was in flight: do not leak the connection.
    if (this.stopped) await client.end().catch(() => {});
    else this.client = client;
  }

  private lost(client: pg.Client, err: Error): void {
    if (this.stopped || this.client !== client) return;
    this.client = undefined;
    this.onLost?.(err);
    this.scheduleRestart(500);
  }

  private scheduleRestart(delayMs: number): void {
    if (this.stopped) return;
    this.retry = setTimeout(() => {
      this.start().then(
        () => this.client && this.onReconnected?.(),
        () => this.scheduleRestart(Math.min(delayMs * 2, 5000)),
      );
    }, delayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}

async function openPglite(dataDir: string | undefined): Promise<Database> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const client = dataDir ? new PGlite(dataDir) : new PGlite();
  await client.waitReady;
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    kind: 'pglite',
    db,
    async listen(channel, onPayload) {
      const unlisten = await client.listen(channel, onPayload);
      return async () => unlisten();
    },
    // PGlite is one connection in this process: a "session" is that same connection.
    async session() {
      return {
        query: async (text, params) => ({ rows: (await client.query<Record<string, unknown>>(text, params)).rows }),
        db,
        release: async () => {},
      };
    },
    async copyIn(table, columns, rows) {
      await client.query(`copy ${copyTarget(table, columns)} from '/dev/blob'`, [], { blob: new Blob(typeof rows === 'string' ? [rows] : (rows as Uint8Array<ArrayBuffer>[])) });
    },
    async close() {
      await client.close();
    },
  };
}
