/** Inputs and SQL shortcuts for registry repository tests: defaults so each test lists only what differs. */
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { changesSince, currentRevision } from '../../src/registry/changes.ts';
import type { Db } from '../../src/registry/db.ts';
import type { EndpointInput } from '../../src/registry/endpoints.ts';
import type { ChangeRow } from '../../src/registry/schema.ts';
import type { ServiceInput } from '../../src/registry/services.ts';

/** A service input in namespace `default` unless overridden. */
export function serviceInput(name: string, over: Partial<ServiceInput> = {}): ServiceInput {
  return { namespace: 'default', name, protocol: 'http', port: 80, tags: [], labels: {}, version: null, metadata: {}, trafficPolicy: null, mtls: null, ...over };
}

/** A healthy endpoint input without a TTL unless overridden. */
export function endpointInput(address: string, over: Partial<EndpointInput> = {}): EndpointInput {
  return { address, port: 8080, weight: 1, region: '', zone: '', subZone: '', labels: {}, health: 'healthy', ttlSeconds: null, ...over };
}

/** Moves an endpoint's last heartbeat `seconds` into the past (instead of sleeping through a TTL). */
export async function setLastHeartbeat(db: Db, id: string, secondsAgo: number | null): Promise<void> {
  const at = secondsAgo === null ? sql`null` : sql`now() - make_interval(secs => ${secondsAgo})`;
  await db.execute(sql`update endpoints set last_heartbeat_at = ${at} where id = ${id}`);
}

/** Unwraps a successful repository write. */
export function okValue<T>(result: { ok: true; value: T } | { ok: false; reason: string; detail: string }): T {
  if (!result.ok) throw new Error(`expected the write to succeed: ${result.reason}: ${result.detail}`);
  return result.value;
}

/** Runs `write` and asserts it advanced the revision by exactly one and logged exactly `change`. */
export async function expectOneChange<T>(db: Db, write: () => Promise<T>, change: Partial<ChangeRow>): Promise<T> {
  const before = await currentRevision(db);
  const result = await write();
  expect(await currentRevision(db)).toBe(before + 1);
  expect(await changesSince(db, before)).toEqual([expect.objectContaining({ revision: before + 1, ...change })]);
  return result;
}

/** Runs `write` and asserts it left the revision and the change log alone. */
export async function expectNoChange<T>(db: Db, write: () => Promise<T>): Promise<T> {
  const before = await currentRevision(db);
  const result = await write();
  expect(await currentRevision(db)).toBe(before);
  expect(await changesSince(db, before)).toEqual([]);
  return result;
}
