/**
 * `dryRun()`: the write runs (its own transactions become savepoints), the inspector sees what it
 * left, and everything is rolled back: no row, no revision, no change record.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { changesSince, currentRevision } from './changes.ts';
import type { Db, Tx } from './db.ts';
import { dryRun } from './dry-run.ts';
import { createRoute, getRoute } from './routes.ts';
import { createService, deleteService, getService } from './services.ts';
import { testDatabase, type TestDatabase } from '../../test/support/test-db.ts';
import { okValue, serviceInput } from '../../test/support/registry.ts';

let t: TestDatabase;
let db: Db;
beforeAll(async () => {
  t = await testDatabase();
  db = t.database.db;
  okValue(await createService(db, serviceInput('kept', { port: 8080 })));
});
afterAll(async () => t?.drop());

/** What the registry holds, to compare before and after a dry run. */
const registryState = async () => ({ revision: await currentRevision(db), changes: await changesSince(db, 0), kept: await getService(db, 'default', 'kept') });

/** What an inspector sees inside the dry run's transaction. */
const inspectService = (name: string) => async (tx: Tx) => ({ revision: await currentRevision(tx), service: await getService(tx, 'default', name) });

describe('dryRun', () => {
  it.each<[string, (d: Db) => Promise<{ ok: boolean }>, string, boolean]>([
    ['a create', (d) => createService(d, serviceInput('draft', { port: 81 })), 'draft', true],
    ['a delete', (d) => deleteService(d, 'default', 'kept'), 'kept', false],
  ])('returns the result of %s and what the inspector saw, then stores nothing', async (_what, write, name, present) => {
    const before = await registryState();
    const { result, preview } = await dryRun(db, write, inspectService(name));
    expect(result.ok).toBe(true);
    expect(preview).toEqual({ revision: before.revision + 1, service: present ? expect.objectContaining({ name, revision: 1 }) : undefined });
    expect(await registryState()).toEqual(before);
    expect(await getService(db, 'default', 'draft')).toBeUndefined();
  });

  it('rolls back a repository write that opens its own transaction with a lock (a route)', async () => {
    const before = await registryState();
    const input = { namespace: 'default', name: 'draft-route', hosts: [], priority: 0, spec: { match: {}, directResponse: { status: 204 } } };
    const { result, preview } = await dryRun(db, (d) => createRoute(d, input, () => ({ issues: [] })), (tx) => getRoute(tx, 'default', 'draft-route'));
    expect(result).toMatchObject({ ok: true, value: { name: 'draft-route', revision: 1 } });
    expect(preview).toMatchObject({ name: 'draft-route', spec: input.spec });
    expect(await getRoute(db, 'default', 'draft-route')).toBeUndefined();
    expect(await registryState()).toEqual(before);
    // The route lock went with the rolled-back transaction: a real write still gets it.
    expect((await createRoute(db, { ...input, name: 'real-route' }, () => ({ issues: [] }))).ok).toBe(true);
  });

  it('skips the inspector when the write fails, and still undoes what the write did first', async () => {
    const before = await registryState();
    const inspect = vi.fn(inspectService('half'));
    const failed = { ok: false as const, reason: 'conflict', detail: 'refused after writing' };
    const { result, preview } = await dryRun(
      db,
      async (d) => {
        okValue(await createService(d, serviceInput('half', { port: 82 })));
        return failed;
      },
      inspect,
    );
    expect(result).toEqual(failed);
    expect(preview).toBeUndefined();
    expect(inspect).not.toHaveBeenCalled();
    expect(await getService(db, 'default', 'half')).toBeUndefined();
    expect(await registryState()).toEqual(before);
  });

  it.each<[string, (d: Db) => Promise<{ ok: boolean }>, (tx: Tx) => Promise<unknown>]>([
    [
      'the write',
      async (d) => {
        okValue(await createService(d, serviceInput('boom', { port: 83 })));
        throw new Error('boom');
      },
      async () => undefined,
    ],
    ['the inspector', (d) => createService(d, serviceInput('boom', { port: 83 })), async () => Promise.reject(new Error('boom'))],
  ])('propagates an error thrown by %s and stores nothing', async (_what, write, inspect) => {
    const before = await registryState();
    await expect(dryRun(db, write, inspect)).rejects.toThrow('boom');
    expect(await getService(db, 'default', 'boom')).toBeUndefined();
    expect(await registryState()).toEqual(before);
  });
});
