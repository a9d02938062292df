/**
 * Two control-plane replicas on one PostgreSQL database, each with a real @grpc/grpc-js-xds client:
 * a write through either replica reaches the clients of the other; a lost notification is caught up;
 * the leader lock moves when its session dies and TTL expiry follows it; while the database is
 * unreachable (sessions terminated, connections refused, or one replica cut off by a partition) the
 * replicas keep serving (also to new clients), writes answer 503 without hanging, and they catch up
 * once it is back, without a restart. Runs only on the real PostgreSQL (DATABASE_URL, as in CI).
 */
import { tmpdir } from 'node:os';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../test/support/config.ts';
import { startServer, type RunningServer } from '../src/main.ts';
import { CHANGES_CHANNEL } from '../src/registry/changes.ts';
import { LOCK_KEYS } from '../src/registry/migrate.ts';
import { createPostgresDatabase, onPostgres } from '../test/support/test-db.ts';
import { startEchoServer, type EchoServer } from './support/echo.ts';
import type { CallResult } from './support/xds-client-worker.ts';
import { XdsClientProcess } from './support/xds-client.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';

const TARGET = 'xds:///greeter.default:50051';
const ENDPOINTS = '/api/v1/services/default/greeter/endpoints';
/** Short timers so that catch-up and leader moves take a fraction of a second instead of 5 s. */
const CATCH_UP_MS = 300;
const LEADER_RETRY_MS = 200;
/** How long PostgreSQL may stay silent before a connection is given up (a partition). */
const DB_TIMEOUT_MS = 2500;

/** The set of backends that answered a batch, e.g. "e1,e2". */
const answered = (r: CallResult) => Object.keys(r.answers).sort().join();
const exactly = (...names: string[]) => (r: CallResult) => answered(r) === [...names].sort().join() && Object.keys(r.errors).length === 0;

/** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs`. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

interface Replica {
  name: 'a' | 'b';
  server: RunningServer;
  client: XdsClientProcess;
  /** PostgreSQL application_name of this replica's connections, to find its backends. */
  appName: string;
}

describe.skipIf(!onPostgres())('replicas on one PostgreSQL', () => {
  let dropDatabase: (() => Promise<void>) | undefined;
  let dbName: string;
  let testDbUrl: string;
  let admin: pg.Client;
  /** Replica A reaches PostgreSQL through this, so that it can be cut off without a reset. */
  let proxy: TcpProxy;
  const replicas: Replica[] = [];
  const extraClients: XdsClientProcess[] = [];
  const echo: Record<string, EchoServer> = {};
  const ids: Record<string, string> = {};
  let ra: Replica;
  let rb: Replica;

  /** A REST call; one left unanswered for `timeoutMs` fails the test instead of hanging it. */
  async function api(r: Replica, method: string, url: string, body?: unknown, timeoutMs = 30_000): Promise<{ status: number; type: string; body: any }> {
    const res = await fetch(`http://127.0.0.1:${r.server.apiPort}${url}`, {
      method,
      signal: AbortSignal.timeout(timeoutMs),
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: text ? JSON.parse(text) : undefined };
  }

  /** Registers echo server `name` as an endpoint of greeter through replica `r`. */
  async function addEndpoint(r: Replica, name: string, extra: object = {}): Promise<string> {
    const res = await api(r, 'POST', ENDPOINTS, { address: '127.0.0.1', port: echo[name]!.port, ...extra });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    ids[name] = res.body.id;
    return res.body.id;
  }

  async function setHealth(r: Replica, name: string, health: string): Promise<void> {
    const res = await api(r, 'PUT', `${ENDPOINTS}/${ids[name]}`, { address: '127.0.0.1', port: echo[name]!.port, health });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }

  /** Waits until the clients of every given replica (default: both) get answers from exactly `names`. */
  async function clientsReach(names: string[], on: Replica[] = replicas, timeoutMs = 10_000): Promise<void> {
    await Promise.all(
      on.map(async (r) => {
        const last = await r.client.until(TARGET, 2 * names.length + 4, exactly(...names), timeoutMs);
        expect({ replica: r.name, answered: answered(last), errors: last.errors }).toEqual({ replica: r.name, answered: [...names].sort().join(), errors: {} });
      }),
    );
  }

  /** A query on the server's admin database (cluster-wide views, ALTER DATABASE, terminating backends). */
  const sql = async (text: string, params: unknown[] = []) => (await admin.query(text, params)).rows;
  /** Runs `fn` on a short-lived connection to the test's own database (the outage would kill a long-lived one). */
  async function onTestDb<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const c = new pg.Client({ connectionString: testDbUrl });
    c.on('error', () => {});
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end().catch(() => {});
    }
  }
  const meshRevision = () => onTestDb(async (c) => Number((await c.query('select value from mesh_revision')).rows[0].value));

  /** Backends of this test's database, with the replica (application_name) and what they last ran. */
  const backends = () =>
    sql(`select pid, application_name as app, query from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [dbName]) as Promise<
      { pid: number; app: string; query: string }[]
    >;
  const listenBackend = async (r: Replica) => (await backends()).find((b) => b.app === r.appName && /^LISTEN /i.test(b.query));

  /** The backends holding the leader's advisory lock in this database, with their replica. */
  const leaderLockHolders = () =>
    sql(
      `select l.pid, a.application_name as app from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.objid = $1 and l.granted and l.database = (select oid from pg_database where datname = $2)`,
      [LOCK_KEYS.leader, dbName],
    ) as Promise<{ pid: number; app: string }[]>;

  /** Waits until exactly one replica (`which`, if given) leads, and it is the one holding the lock in PostgreSQL. */
  async function soleLeader(timeoutMs = 10_000, which?: Replica): Promise<Replica> {
    return waitFor(
      which ? `replica ${which.name} to lead alone` : 'exactly one leader',
      async () => {
        const leaders = replicas.filter((r) => r.server.isLeader());
        if (leaders.length !== 1 || (which && leaders[0] !== which)) return undefined;
        const holders = await leaderLockHolders();
        return holders.length === 1 && holders[0]!.app === leaders[0]!.appName ? leaders[0] : undefined;
      },
      timeoutMs,
    );
  }

  /** Ends every session of the test database (pool, LISTEN, leader sessions) and waits until they are gone. */
  const terminateAll = () => sql(`select pg_terminate_backend(pid, 5000) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [dbName]);
  const allowConnections = (allow: boolean) => sql(`alter database ${dbName} with allow_connections ${allow}`);

  beforeAll(async () => {
    const created = await createPostgresDatabase();
    dropDatabase = created.drop;
    dbName = new URL(created.url).pathname.slice(1);
    testDbUrl = created.url;
    admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    admin.on('error', () => {});
    await admin.connect();

    const base = testConfig({
      dataDir: tmpdir(), // unused on PostgreSQL
      catchUpIntervalMs: CATCH_UP_MS,
      leaderRetryMs: LEADER_RETRY_MS,
      dbTimeoutMs: DB_TIMEOUT_MS,
      statusSyncMs: 200,
    });
    const direct = new URL(created.url);
    proxy = await startTcpProxy(Number(direct.port || 5432), direct.hostname);
    for (const name of ['a', 'b'] as const) {
      const appName = `apg-it-replica-${name}`;
      const url = new URL(created.url);
      url.searchParams.set('application_name', appName);
      if (name === 'a') url.host = `127.0.0.1:${proxy.port}`;
      const server = await startServer({ ...base, databaseUrl: url.toString(), replicaId: `replica-${name}` });
      // Pushed before the client starts, so afterAll closes the server even if the client fails to start.
      const replica = { name, server, appName } as Replica;
      replicas.push(replica);
      replica.client = await XdsClientProcess.start({ xdsPort: server.xdsPort, nodeId: `client-on-${name}` });
    }
    [ra, rb] = replicas as [Replica, Replica];
    for (const name of ['e1', 'e2', 'e3', 'e4']) echo[name] = await startEchoServer(name);
  });

  afterAll(async () => {
    for (const c of [...replicas.map((r) => r.client), ...extraClients]) c?.stop();
    // Whatever happened, let the database take connections again before closing and dropping it.
    await allowConnections(true).catch(() => {});
    proxy?.heal();
    await Promise.all(replicas.map((r) => r.server.close()));
    await proxy?.close();
    await Promise.all(Object.values(echo).map((e) => e.close()));
    await admin?.end().catch(() => {});
    await dropDatabase?.();
  });

  it('a write through one replica reaches the clients of the other, both ways', async () => {
    expect((await api(ra, 'POST', '/api/v1/services', { name: 'greeter', protocol: 'grpc', port: 50051 })).status).toBe(201);
    await addEndpoint(ra, 'e1');
    await clientsReach(['e1'], [rb]);
    await clientsReach(['e1'], [ra]);

    await addEndpoint(rb, 'e2');
    await clientsReach(['e1', 'e2'], [ra]);
    await clientsReach(['e1', 'e2'], [rb]);

    await setHealth(rb, 'e1', 'unhealthy');
    await clientsReach(['e2']);
    // Both replicas built the same revision, the one in the database.
    const revision = await meshRevision();
    await waitFor('both replicas at the database revision', () => replicas.every((r) => r.server.reconciler.status.revision === revision));
  });

  it('either replica lists every proxy with the replica holding it, and dumps the config of a proxy held by the other', async () => {
    const listed = async (r: Replica) => {
      const { body } = await api(r, 'GET', '/api/v1/proxies');
      return Object.fromEntries(body.items.map((p: { id: string; streams: { replica: string }[] }) => [p.id, p.streams.map((s) => s.replica).join()]));
    };
    const both = { 'client-on-a': 'replica-a', 'client-on-b': 'replica-b' };
    for (const r of replicas) await waitFor(`replica ${r.name} to list both clients`, async () => JSON.stringify(await listed(r)) === JSON.stringify(both));
    const status = await api(ra, 'GET', '/api/v1/proxies/client-on-b');
    expect(status.body.streams[0].types.lds).toMatchObject({ state: 'synced' });
    // The config dump lives in B's memory: A forwards the request to B's API.
    const fromA = await api(ra, 'GET', '/api/v1/proxies/client-on-b/config');
    const fromB = await api(rb, 'GET', '/api/v1/proxies/client-on-b/config');
    expect(fromA.status).toBe(200);
    expect(fromA.body).toEqual(fromB.body);
    expect(fromA.body.streams[0].replica).toBe('replica-b');
    expect(Object.keys(fromA.body.streams[0].types)).toEqual(expect.arrayContaining(['lds', 'cds']));
  });

  it('catches up a change whose notification was never sent (periodic catch-up read)', async () => {
    // A write committed without NOTIFY: as if the notification had been lost on the way.
    await onTestDb(async (c) => {
      await c.query('begin');
      await c.query(`update endpoints set health = 'healthy', revision = revision + 1, updated_at = now() where id = $1`, [ids.e1]);
      const { value } = (await c.query(`update mesh_revision set value = value + 1 where id = 1 returning value`)).rows[0];
      await c.query(`insert into changes (revision, kind, op, namespace, name) values ($1, 'endpoint', 'update', 'default', 'greeter')`, [value]);
      await c.query('commit');
    });
    // Well within the 5 s default: the interval comes from the config.
    await clientsReach(['e1', 'e2'], replicas, 4 * CATCH_UP_MS + 3000);
  });

  it("catches up a write made while the other replica's LISTEN connection was down, and listens again", async () => {
    const before = await waitFor("B's LISTEN backend", () => listenBackend(rb));
    await sql('select pg_terminate_backend($1, 5000)', [before.pid]);
    await setHealth(ra, 'e2', 'unhealthy');
    await clientsReach(['e1'], [rb]);
    const after = await waitFor("B's LISTEN connection to come back", () => listenBackend(rb));
    expect(after.pid).not.toBe(before.pid);
    expect(after.query).toBe(`LISTEN "${CHANGES_CHANNEL}"`);

    await setHealth(ra, 'e2', 'healthy');
    await clientsReach(['e1', 'e2']);
  });

  it('moves the leader when its lock session dies, and TTL expiry keeps working on the new leader', async () => {
    const old = await soleLeader();
    const next = old === ra ? rb : ra;
    const [holder] = await leaderLockHolders();
    await sql('select pg_terminate_backend($1, 5000)', [holder!.pid]);
    // The survivor takes the released lock at its next attempt; the old leader notices at its next check.
    await soleLeader(25 * LEADER_RETRY_MS, next);

    // e3 lives while it gets heartbeats (through the old leader), and turns unhealthy once they stop.
    await addEndpoint(old, 'e3', { ttlSeconds: 1 });
    let beating = true;
    const heartbeats = (async () => {
      while (beating) {
        const hb = await api(old, 'PUT', `${ENDPOINTS}/${ids.e3}/heartbeat`);
        expect(hb.status).toBe(200);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    try {
      await clientsReach(['e1', 'e2', 'e3']);
    } finally {
      beating = false;
      await heartbeats;
    }
    expect(old.server.isLeader()).toBe(false);
    // Only the new leader runs housekeeping now (every second): its expiry moves the clients away.
    await waitFor('e3 to turn unhealthy', async () => (await api(old, 'GET', `${ENDPOINTS}/${ids.e3}`)).body.health === 'unhealthy', 10_000, 100);
    await clientsReach(['e1', 'e2']);
  }, 60_000);

  it('rides out every backend being terminated over and over while writes go on, and then agrees with the database', async () => {
    const answers: number[] = [];
    const created: string[] = [];
    let going = true;
    const writers = replicas.map(async (r) => {
      for (let i = 0; going; i++) {
        const name = `churn-${r.name}-${i}`;
        const res = await api(r, 'POST', '/api/v1/services', { name, protocol: 'grpc', port: 50051 });
        answers.push(res.status);
        if (res.status === 201) created.push(name);
        else expect({ status: res.status, type: res.type, code: res.body?.code }).toEqual({ status: 503, type: expect.stringMatching(/^application\/problem\+json/), code: 'database-unavailable' });
      }
    });
    const callers = replicas.map(async (r) => {
      while (going) expect(answered(await r.client.call(TARGET, 4))).toBe('e1,e2');
    });
    const until = Date.now() + 2000;
    while (Date.now() < until) {
      await terminateAll();
      await new Promise((r) => setTimeout(r, 25));
    }
    going = false;
    await Promise.all([...writers, ...callers]);
    expect(answers).toContain(503);

    // Each accepted write is there, and both replicas build the revision the database has now.
    const listed = (await waitFor('the API to answer again', async () => {
      const res = await api(rb, 'GET', '/api/v1/services');
      return res.status === 200 ? res : undefined;
    })).body.items.map((s: { name: string }) => s.name);
    expect(listed).toEqual(expect.arrayContaining(created));
    const revision = await meshRevision();
    await waitFor('both replicas at the database revision', () => replicas.every((r) => r.server.reconciler.status.revision === revision));
    await soleLeader();
    await waitFor('both LISTEN connections back', async () => (await listenBackend(ra)) && (await listenBackend(rb)), 15_000, 100);
    await setHealth(ra, 'e2', 'unhealthy');
    await clientsReach(['e1'], [rb]);
    await setHealth(rb, 'e2', 'healthy');
    await clientsReach(['e1', 'e2'], [ra]);
  }, 60_000);

  it('keeps serving through a database outage, answers writes 503, and catches up when it is back', async () => {
    // The leader issues the services created above their SDS certificates (one change per batch): let it finish first.
    const withoutCertificate = `select count(*)::int as n from services s where not exists (select 1 from certificates c
      where c.namespace = s.namespace and c.service = s.name and c.channel = 'sds' and c.status = 'active')`;
    await waitFor('every service to have its certificate', () => onTestDb(async (c) => (await c.query(withoutCertificate)).rows[0].n === 0));
    await new Promise((r) => setTimeout(r, 300));
    const revisionBefore = await meshRevision();
    let late: XdsClientProcess;
    await allowConnections(false);
    try {
      await terminateAll();
      await waitFor('every backend of the database to be gone', async () => (await backends()).length === 0);

      // Connected clients on both replicas keep their config...
      await clientsReach(['e1', 'e2']);
      // ...a client that connects now gets it too...
      late = await XdsClientProcess.start({ xdsPort: rb.server.xdsPort, nodeId: 'late-client-on-b' });
      extraClients.push(late);
      const first = await late.until(TARGET, 8, exactly('e1', 'e2'));
      expect(answered(first)).toBe('e1,e2');
      // ...the replicas stay ready (they serve the last good config) but refuse writes.
      expect((await api(ra, 'GET', '/readyz')).status).toBe(200);
      for (const r of replicas) {
        const res = await api(r, 'POST', ENDPOINTS, { address: '127.0.0.1', port: echo.e4!.port });
        expect(res.status).toBe(503);
        expect(res.type).toMatch(/^application\/problem\+json/);
        expect(res.body).toMatchObject({ status: 503, code: 'database-unavailable' });
      }
      // The proxy list still answers, with this replica's own proxies, and says it is incomplete.
      const list = await api(rb, 'GET', '/api/v1/proxies');
      expect(list.status).toBe(200);
      expect(list.body.complete).toBe(false);
      expect(list.body.items.map((p: { id: string }) => p.id)).toEqual(['client-on-b', 'late-client-on-b']);
      // Nobody leads (singleton jobs pause) while no session can hold the lock...
      await waitFor('no leader', () => replicas.every((r) => !r.server.isLeader()));
      // ...and after several catch-up ticks and reconnect attempts, all refused, clients are still served.
      await new Promise((r) => setTimeout(r, 4 * CATCH_UP_MS));
      await clientsReach(['e1', 'e2']);
      expect(await backends()).toEqual([]);
    } finally {
      await allowConnections(true);
    }
    expect(await meshRevision()).toBe(revisionBefore); // the refused writes wrote nothing

    // Back: a write through A reaches the clients on B (both the old and the late one), with no restart.
    const write = await waitFor(
      'a write through A to be accepted again',
      async () => {
        const res = await api(ra, 'POST', ENDPOINTS, { address: '127.0.0.1', port: echo.e4!.port });
        return res.status === 201 ? res : (expect(res.status).toBe(503), undefined);
      },
      15_000,
      200,
    );
    ids.e4 = write.body.id;
    await clientsReach(['e1', 'e2', 'e4'], [rb]);
    const last = await late.until(TARGET, 12, exactly('e1', 'e2', 'e4'));
    expect(answered(last)).toBe('e1,e2,e4');
    await clientsReach(['e1', 'e2', 'e4'], [ra]);

    // ...and the rest recovers too: one leader again, both LISTEN connections back, NOTIFY flows.
    await soleLeader(15_000);
    await waitFor('both LISTEN connections back', async () => (await listenBackend(ra)) && (await listenBackend(rb)), 15_000, 100);
    await setHealth(rb, 'e4', 'unhealthy');
    await clientsReach(['e1', 'e2']);
  }, 90_000);

  it('rides out a partition between one replica and PostgreSQL: no write hangs, the lock moves, and it catches up once healed', async () => {
    // A leads going in: end B's lock session (a follower takes the lock in one attempt, the old leader needs two).
    if ((await soleLeader()) !== ra) {
      for (const h of await leaderLockHolders()) await sql('select pg_terminate_backend($1, 5000)', [h.pid]);
      await soleLeader(10_000, ra);
    }

    proxy.cut(); // nothing between A and PostgreSQL goes through any more, and nothing is reset either
    try {
      // A write through A answers 503 once PostgreSQL has been silent for the timeout, rather than hang.
      const started = Date.now();
      const res = await api(ra, 'POST', '/api/v1/services', { name: 'during-partition', protocol: 'grpc', port: 50051 }, DB_TIMEOUT_MS + 5000);
      expect({ status: res.status, code: res.body?.code }).toEqual({ status: 503, code: 'database-unavailable' });
      expect(Date.now() - started).toBeLessThan(DB_TIMEOUT_MS + 5000);
      // The server ends A's silent lock session and B takes the lock; A, getting no answer, steps down.
      await soleLeader(LEADER_RETRY_MS + 3 * DB_TIMEOUT_MS + 10_000, rb);
      // Writes through B go on and reach B's clients; A's clients keep what A had.
      await setHealth(rb, 'e2', 'unhealthy');
      await clientsReach(['e1'], [rb]);
      await clientsReach(['e1', 'e2'], [ra]);
    } finally {
      proxy.heal();
    }
    // Healed: A catches up with what was written meanwhile, and takes writes again, without a restart.
    await clientsReach(['e1'], [ra], 20_000);
    await waitFor('a write through A to be accepted again', async () => (await api(ra, 'PUT', `${ENDPOINTS}/${ids.e2}`, { address: '127.0.0.1', port: echo.e2!.port, health: 'healthy' })).status === 200, 15_000, 200);
    await clientsReach(['e1', 'e2']);
    await soleLeader();
  }, 90_000);
});
