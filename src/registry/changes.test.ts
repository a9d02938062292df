/** The change log and feed: one revision and one change row per committed write, followed through NOTIFY. */
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { CHANGES_CHANNEL, ChangeFeed, changesSince, currentRevision, pruneChanges } from './changes.ts';
import type { Database, Db } from './db.ts';
import { createEndpoint, deleteEndpoint, expireHeartbeats, heartbeat, updateEndpoint } from './endpoints.ts';
import { createService, deleteService, updateService } from './services.ts';
import { changes } from './schema.ts';
import { useTestDatabase } from '../../test/support/test-db.ts';
import { endpointInput, expectNoChange, expectOneChange, okValue, serviceInput, setLastHeartbeat } from '../../test/support/registry.ts';

const fixture = useTestDatabase();
let db: Db;
beforeAll(() => {
  db = fixture.db;
});

const { namespace: _n, name: _m, ...spec } = serviceInput('x');

describe('every write records exactly one change', () => {
  it('covers each kind of write, with the revision advancing by one each time', async () => {
    await expectOneChange(db, () => createService(db, serviceInput('life')), { kind: 'service', op: 'create', namespace: 'default', name: 'life' });
    await expectOneChange(db, () => updateService(db, 'default', 'life', { ...spec, port: 81 }), { kind: 'service', op: 'update', name: 'life' });
    const ep = okValue(
      await expectOneChange(db, () => createEndpoint(db, 'default', 'life', endpointInput('10.0.0.1', { ttlSeconds: 5 })), { kind: 'endpoint', op: 'create', name: 'life' }),
    );
    await createEndpoint(db, 'default', 'life', endpointInput('10.0.0.2'));
    await expectOneChange(db, () => updateEndpoint(db, 'default', 'life', ep.id, endpointInput('10.0.0.1', { weight: 2, ttlSeconds: 5 })), {
      kind: 'endpoint',
      op: 'update',
    });
    await setLastHeartbeat(db, ep.id, 60);
    await expectOneChange(db, () => expireHeartbeats(db), { kind: 'endpoint', op: 'update', name: 'life' });
    await expectOneChange(db, () => heartbeat(db, 'default', 'life', ep.id), { kind: 'endpoint', op: 'update', name: 'life' });
    await expectNoChange(db, () => heartbeat(db, 'default', 'life', ep.id));
    await expectOneChange(db, () => deleteEndpoint(db, 'default', 'life', ep.id), { kind: 'endpoint', op: 'delete', name: 'life' });
    await expectOneChange(db, () => deleteService(db, 'default', 'life'), { kind: 'service', op: 'delete', name: 'life' });
  });

  it('records nothing for a write that is refused', async () => {
    okValue(await createService(db, serviceInput('refuse')));
    const ep = okValue(await createEndpoint(db, 'default', 'refuse', endpointInput('10.0.1.1')));
    const refusals: [() => Promise<{ ok: boolean }>, string][] = [
      [() => createService(db, serviceInput('refuse')), 'conflict'],
      [() => updateService(db, 'default', 'nobody', spec), 'not-found'],
      [() => updateService(db, 'default', 'refuse', spec, 9), 'precondition-failed'],
      [() => deleteService(db, 'default', 'refuse', 9), 'precondition-failed'],
      [() => deleteService(db, 'default', 'nobody'), 'not-found'],
      [() => createEndpoint(db, 'default', 'nobody', endpointInput('10.0.1.1')), 'not-found'],
      [() => createEndpoint(db, 'default', 'refuse', endpointInput('10.0.1.1')), 'conflict'],
      [() => updateEndpoint(db, 'default', 'refuse', ep.id, endpointInput('10.0.1.2'), 9), 'precondition-failed'],
      [() => heartbeat(db, 'default', 'refuse', '00000000-0000-4000-8000-000000000000'), 'not-found'],
    ];
    for (const [write, reason] of refusals) expect(await expectNoChange(db, write)).toMatchObject({ ok: false, reason });
  });

  it('gives concurrent writes distinct, gap-free revisions', async () => {
    const before = await currentRevision(db);
    okValue(await createService(db, serviceInput('busy')));
    const writes = Array.from({ length: 12 }, (_, i) => [
      createService(db, serviceInput(`burst-${i}`)),
      createEndpoint(db, 'default', 'busy', endpointInput(`10.0.2.${i + 1}`)),
    ]).flat();
    for (const result of await Promise.all(writes)) expect(result.ok).toBe(true);
    const logged = (await changesSince(db, before)).map((c) => c.revision);
    expect(logged).toEqual(Array.from({ length: 25 }, (_, i) => before + 1 + i));
    expect(await currentRevision(db)).toBe(before + 25);
  });

  it('prunes old change rows without moving the revision', async () => {
    const rev = await currentRevision(db);
    await db.execute(sql`update changes set at = now() - interval '2 days' where revision <= ${rev - 2}`);
    const kept = (await changesSince(db, 0)).length;
    expect(await pruneChanges(db, new Date(Date.now() - 86_400_000))).toBe(rev - 2);
    expect((await db.select().from(changes)).map((c) => c.revision)).toEqual([rev - 1, rev]);
    expect(kept).toBe(rev);
    expect(await currentRevision(db)).toBe(rev);
  });
});

describe('ChangeFeed', () => {
  const follow = async (database: Database = fixture.database) => {
    const seen: number[] = [];
    const errors: Error[] = [];
    const feed = new ChangeFeed(database, { catchUpIntervalMs: 3_600_000, onRevision: (r) => seen.push(r), onError: (e) => errors.push(e) });
    const started = await feed.start();
    return { feed, seen, errors, started };
  };

  it('starts at the current revision and follows NOTIFY as writes commit', async () => {
    const { feed, seen, started } = await follow();
    try {
      expect(started).toBe(await currentRevision(db));
      expect(seen).toEqual([started]);
      okValue(await createService(db, serviceInput('notified')));
      okValue(await createEndpoint(db, 'default', 'notified', endpointInput('10.0.3.1')));
      await vi.waitFor(() => expect(seen).toEqual([started, started + 1, started + 2]));
      expect(feed.revision).toBe(started + 2);
    } finally {
      await feed.stop();
    }
  });

  it('ignores notifications that do not advance the revision', async () => {
    const { feed, seen, started } = await follow();
    try {
      await db.execute(sql`select pg_notify(${CHANGES_CHANNEL}, '1')`);
      await db.execute(sql`select pg_notify(${CHANGES_CHANNEL}, 'not-a-number')`);
      okValue(await createService(db, serviceInput('after-noise')));
      await vi.waitFor(() => expect(seen).toContain(started + 1));
      expect(seen).toEqual([started, started + 1]);
    } finally {
      await feed.stop();
    }
  });

  it('catches up on a revision whose notification was missed', async () => {
    const { feed, seen, started } = await follow();
    try {
      // A commit whose NOTIFY never arrived (a listen connection lost at the wrong moment).
      await db.execute(sql`update mesh_revision set value = value + 1 where id = 1`);
      expect(feed.revision).toBe(started);
      await feed.catchUp();
      expect(seen).toEqual([started, started + 1]);
      expect(feed.revision).toBe(started + 1);
    } finally {
      await feed.stop();
    }
  });

  it('reports a failed catch-up instead of throwing', async () => {
    const broken = { ...fixture.database, db: { select: () => { throw new Error('database down'); } } as unknown as Db };
    const { feed, errors, seen } = await follow(broken);
    try {
      expect(seen).toEqual([]);
      expect(errors.map((e) => e.message)).toEqual(['database down']);
      await feed.catchUp();
      expect(errors).toHaveLength(2);
    } finally {
      await feed.stop();
    }
  });
});
