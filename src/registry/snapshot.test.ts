/** loadRegistry: every row at one revision, even while writes commit around it. */
import { beforeAll, describe, expect, it } from 'vitest';
import { changesSince, currentRevision } from './changes.ts';
import type { Db } from './db.ts';
import { createEndpoint } from './endpoints.ts';
import { createService } from './services.ts';
import { loadRegistry } from './snapshot.ts';
import { useTestDatabase } from '../../test/support/test-db.ts';
import { endpointInput, okValue, serviceInput } from '../../test/support/registry.ts';

const fixture = useTestDatabase();
let db: Db;
beforeAll(() => {
  db = fixture.db;
});

describe('loadRegistry', () => {
  it('reads an empty registry at revision 0', async () => {
    expect(await loadRegistry(db)).toEqual({ revision: 0, committedAt: undefined, services: [], endpoints: [], routes: [], authorization: [], authorities: [], certificates: [] });
  });

  it('returns the current revision with every service and endpoint, sorted', async () => {
    for (const [ns, name] of [['b', 'web'], ['a', 'web'], ['a', 'api']] as const) okValue(await createService(db, serviceInput(name, { namespace: ns })));
    okValue(await createEndpoint(db, 'a', 'web', endpointInput('10.0.0.2')));
    okValue(await createEndpoint(db, 'a', 'web', endpointInput('10.0.0.1', { port: 9090 })));
    okValue(await createEndpoint(db, 'a', 'web', endpointInput('10.0.0.1')));
    const snap = await loadRegistry(db);
    expect(snap.revision).toBe(await currentRevision(db));
    expect(snap.services.map((s) => `${s.namespace}/${s.name}`)).toEqual(['a/api', 'a/web', 'b/web']);
    expect(snap.endpoints.map((e) => `${e.address}:${e.port}`)).toEqual(['10.0.0.1:8080', '10.0.0.1:9090', '10.0.0.2:8080']);
  });

  it('never mixes rows from after its revision, while writes commit concurrently', async () => {
    okValue(await createService(db, serviceInput('hub', { namespace: 'load' })));
    const writes: Promise<unknown>[] = [];
    const loads: ReturnType<typeof loadRegistry>[] = [];
    for (let i = 0; i < 40; i++) {
      writes.push(i % 2 ? createService(db, serviceInput(`s-${i}`, { namespace: 'load' })) : createEndpoint(db, 'load', 'hub', endpointInput(`10.9.0.${i + 1}`)));
      if (i % 5 === 0) loads.push(loadRegistry(db));
    }
    const [snaps] = await Promise.all([Promise.all(loads), Promise.all(writes)]);
    snaps.push(await loadRegistry(db));

    // Only creates ran, so a snapshot at revision R holds exactly the rows whose create is logged at or below R.
    const log = await changesSince(db, 0);
    const createdBy = (kind: string, revision: number) => log.filter((c) => c.kind === kind && c.op === 'create' && c.revision <= revision).length;
    for (const snap of snaps) {
      expect(snap.services).toHaveLength(createdBy('service', snap.revision));
      expect(snap.endpoints).toHaveLength(createdBy('endpoint', snap.revision));
    }
    expect(new Set(snaps.map((s) => s.revision)).size).toBeGreaterThan(1);
    expect(snaps.at(-1)!.revision).toBe(await currentRevision(db));
  });
});
