/** Endpoint repository: TTL stamping, heartbeats, and the leader's expiry of endpoints that stopped beating. */
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { changesSince, currentRevision } from './changes.ts';
import type { Db } from './db.ts';
import { createEndpoint, expireHeartbeats, getEndpoint, heartbeat, listEndpoints, updateEndpoint, type EndpointInput } from './endpoints.ts';
import { endpoints } from './schema.ts';
import { createService } from './services.ts';
import { useTestDatabase } from '../../test/support/test-db.ts';
import { endpointInput, okValue, serviceInput, setLastHeartbeat } from '../../test/support/registry.ts';

const fixture = useTestDatabase();
let db: Db;
beforeAll(() => {
  db = fixture.db;
});

let serial = 0;
/** A new service in namespace `ttl` with one endpoint per input; returns the endpoints' ids in order. */
async function serviceWith(...inputs: Partial<EndpointInput>[]): Promise<{ name: string; ids: string[] }> {
  const name = `svc-${++serial}`;
  okValue(await createService(db, serviceInput(name, { namespace: 'ttl' })));
  const ids: string[] = [];
  for (const [i, over] of inputs.entries()) ids.push(okValue(await createEndpoint(db, 'ttl', name, endpointInput(`10.${serial}.0.${i + 1}`, over))).id);
  return { name, ids };
}
const row = async (id: string) => (await db.select().from(endpoints).where(eq(endpoints.id, id)))[0]!;

describe('TTL stamping', () => {
  it('starts the clock when an endpoint with a TTL is created, not otherwise', async () => {
    const { ids } = await serviceWith({ ttlSeconds: 30 }, {});
    expect((await row(ids[0]!)).lastHeartbeatAt).toBeInstanceOf(Date);
    expect((await row(ids[1]!)).lastHeartbeatAt).toBeNull();
  });

  it('keeps the last heartbeat when a TTL endpoint is replaced, starts it when a TTL is added, and clears it when removed', async () => {
    const { name, ids } = await serviceWith({ ttlSeconds: 30 }, {});
    const [withTtl, without] = ids as [string, string];
    await setLastHeartbeat(db, withTtl, 20);
    const before = (await row(withTtl)).lastHeartbeatAt!;
    const kept = okValue(await updateEndpoint(db, 'ttl', name, withTtl, endpointInput(`10.${serial}.0.1`, { ttlSeconds: 60 })));
    expect(kept.lastHeartbeatAt).toEqual(before);
    const started = okValue(await updateEndpoint(db, 'ttl', name, without, endpointInput(`10.${serial}.0.2`, { ttlSeconds: 10 })));
    expect(started.lastHeartbeatAt).toBeInstanceOf(Date);
    const cleared = okValue(await updateEndpoint(db, 'ttl', name, withTtl, endpointInput(`10.${serial}.0.1`)));
    expect(cleared.lastHeartbeatAt).toBeNull();
  });
});

describe('expireHeartbeats', () => {
  it('turns unhealthy only the endpoints whose TTL passed, with one change per affected service', async () => {
    const a = await serviceWith(
      { ttlSeconds: 10 }, // expired
      { ttlSeconds: 10 }, // fresh
      {}, // no TTL, however old its heartbeat
      { ttlSeconds: 10, health: 'unhealthy' }, // expired but already unhealthy
      { ttlSeconds: 10 }, // expired: a second one in the same service
    );
    const b = await serviceWith({ ttlSeconds: 5, health: 'unknown' });
    const c = await serviceWith({ ttlSeconds: 3600 });
    for (const id of [a.ids[0]!, a.ids[2]!, a.ids[3]!, a.ids[4]!]) await setLastHeartbeat(db, id, 11);
    await setLastHeartbeat(db, a.ids[1]!, 5);
    await setLastHeartbeat(db, b.ids[0]!, 6);
    await setLastHeartbeat(db, c.ids[0]!, 3000);

    const rev = await currentRevision(db);
    expect(await expireHeartbeats(db)).toBe(3);
    const healths = async (ids: string[]) => Promise.all(ids.map(async (id) => (await row(id)).health));
    expect(await healths(a.ids)).toEqual(['unhealthy', 'healthy', 'healthy', 'unhealthy', 'unhealthy']);
    expect(await healths(b.ids)).toEqual(['unhealthy']);
    expect(await healths(c.ids)).toEqual(['healthy']);
    expect((await row(a.ids[0]!)).revision).toBe(2);
    expect((await row(a.ids[3]!)).revision).toBe(1);

    const logged = await changesSince(db, rev);
    expect(logged.map((ch) => ch.revision)).toEqual([rev + 1, rev + 2]);
    expect(logged.map((ch) => `${ch.kind}:${ch.op}:${ch.namespace}/${ch.name}`).sort()).toEqual([`endpoint:update:ttl/${a.name}`, `endpoint:update:ttl/${b.name}`]);
    expect(await currentRevision(db)).toBe(rev + 2);
  });

  it('does nothing, and records nothing, when no TTL has passed', async () => {
    await serviceWith({ ttlSeconds: 60 });
    await expireHeartbeats(db);
    const rev = await currentRevision(db);
    expect(await expireHeartbeats(db)).toBe(0);
    expect(await currentRevision(db)).toBe(rev);
  });

  it('counts from creation when a TTL endpoint never beat', async () => {
    const { ids } = await serviceWith({ ttlSeconds: 1 });
    await setLastHeartbeat(db, ids[0]!, null);
    await db.update(endpoints).set({ createdAt: new Date(Date.now() - 60_000) }).where(eq(endpoints.id, ids[0]!));
    expect(await expireHeartbeats(db)).toBe(1);
    expect((await row(ids[0]!)).health).toBe('unhealthy');
  });

  it('lets a heartbeat revive the endpoint, after which it expires again only once its TTL passes again', async () => {
    const { name, ids } = await serviceWith({ ttlSeconds: 10 });
    const id = ids[0]!;
    await setLastHeartbeat(db, id, 30);
    await expireHeartbeats(db);
    const revived = okValue(await heartbeat(db, 'ttl', name, id));
    expect(revived).toMatchObject({ health: 'healthy', revision: 3 });
    expect(await expireHeartbeats(db)).toBe(0);
    await setLastHeartbeat(db, id, 30);
    expect(await expireHeartbeats(db)).toBe(1);
  });
});

describe('reads', () => {
  it('finds an endpoint only under its own service', async () => {
    const a = await serviceWith({});
    const b = await serviceWith({});
    expect(await getEndpoint(db, 'ttl', a.name, a.ids[0]!)).toMatchObject({ id: a.ids[0] });
    expect(await getEndpoint(db, 'ttl', b.name, a.ids[0]!)).toBeUndefined();
    expect(await listEndpoints(db, 'ttl', 'missing')).toBeUndefined();
    expect((await listEndpoints(db, 'ttl', b.name))!.map((e) => e.id)).toEqual(b.ids);
  });
});
