/** Join tokens over REST: issued and shown once, stored as a hash, listed without the token, revoked. */
import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiHarness, expectProblem, type ApiHarness } from '../../test/support/api.ts';
import { verifyJoinToken } from '../ca/join-tokens.ts';
import { currentRevision } from '../registry/changes.ts';
import { joinTokens } from '../registry/schema.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await apiHarness();
  await h.service({ namespace: 'shop', name: 'web', port: 8080 });
  await h.service({ name: 'greeter', port: 50051 });
});
afterAll(async () => h?.close());

const rows = () => h.db.select().from(joinTokens);

describe('POST /api/v1/join-tokens', () => {
  it('issues a token shown once, stores only its SHA-256, and moves no registry revision', async () => {
    const revision = await currentRevision(h.db);
    const res = await h.call('POST', '/api/v1/join-tokens', { namespace: 'shop', service: 'web', ttlSeconds: 3600, description: 'web pods' });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      token: expect.stringMatching(/^apg_[A-Za-z0-9_-]{43}$/),
      namespace: 'shop',
      service: 'web',
      description: 'web pods',
      status: 'active',
      createdAt: expect.any(String),
      expiresAt: expect.any(String),
      revokedAt: null,
    });
    expect(Date.parse(body.expiresAt) - Date.parse(body.createdAt)).toBeGreaterThan(3590_000);

    const [row] = await h.db.select().from(joinTokens).where(eq(joinTokens.id, body.id));
    expect(row!.tokenHash).toBe(createHash('sha256').update(body.token).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(body.token.slice(4));
    expect(await verifyJoinToken(h.db, body.token)).toEqual({ tokenId: body.id, namespace: 'shop', service: 'web' });
    expect(await currentRevision(h.db)).toBe(revision);
  });

  it('defaults the namespace and never expires without a TTL; every token differs', async () => {
    const a = (await h.call('POST', '/api/v1/join-tokens', { service: 'greeter' })).json();
    const b = (await h.call('POST', '/api/v1/join-tokens', { service: 'greeter' })).json();
    expect(a).toMatchObject({ namespace: 'default', service: 'greeter', expiresAt: null, description: null });
    expect(a.token).not.toBe(b.token);
  });

  it('answers a dry run with what it would issue, issuing nothing', async () => {
    const before = (await rows()).length;
    const res = await h.call('POST', '/api/v1/join-tokens?dryRun=true', { namespace: 'shop', service: 'web' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ dryRun: true, joinToken: { namespace: 'shop', service: 'web', description: null, expiresAt: null }, changes: [], issues: [] });
    expectProblem(await h.call('POST', '/api/v1/join-tokens?dryRun=true', { namespace: 'shop', service: 'ghost' }), 404, 'not-found');
    expect(await rows()).toHaveLength(before);
  });

  it('answers 404 naming a service that does not exist and 400 naming each bad field, issuing nothing', async () => {
    const before = (await rows()).length;
    const missing = expectProblem(await h.call('POST', '/api/v1/join-tokens', { namespace: 'shop', service: 'ghost' }), 404, 'not-found');
    expect(missing.detail).toBe('service shop/ghost does not exist');
    expectProblem(await h.call('POST', '/api/v1/join-tokens', { namespace: 'Shop', service: 'web_1' }), 400, 'validation-failed', ['body.namespace', 'body.service']);
    expectProblem(await h.call('POST', '/api/v1/join-tokens', {}), 400, 'validation-failed', ['body.service']);
    expectProblem(await h.call('POST', '/api/v1/join-tokens', { service: 'web', ttlSeconds: 10 }), 400, 'validation-failed', ['body.ttlSeconds']);
    expectProblem(await h.call('POST', '/api/v1/join-tokens', { service: 'web', ttlSeconds: '3600' }), 400, 'validation-failed', ['body.ttlSeconds']);
    expectProblem(await h.call('POST', '/api/v1/join-tokens', { service: 'web', token: 'apg_mine' }), 400, 'validation-failed', ['body.token']);
    expect(await rows()).toHaveLength(before);
  });
});

describe('GET /api/v1/join-tokens', () => {
  it('lists tokens without their values or hashes, filtered by namespace and service', async () => {
    const issued = (await h.call('POST', '/api/v1/join-tokens', { namespace: 'shop', service: 'web' })).json();
    const res = await h.call('GET', '/api/v1/join-tokens?namespace=shop&service=web');
    expect(res.statusCode).toBe(200);
    const { items } = res.json();
    expect(items.length).toBeGreaterThan(0);
    const { token, ...listed } = issued;
    expect(items).toContainEqual(listed);
    expect(res.body).not.toContain(token);
    expect(res.body).not.toMatch(/apg_|tokenHash|token_hash/);
    for (const item of items) expect(item).toMatchObject({ namespace: 'shop', service: 'web' });
    expect((await h.call('GET', '/api/v1/join-tokens?namespace=nowhere')).json()).toEqual({ items: [] });
  });
});

describe('DELETE /api/v1/join-tokens/{id}', () => {
  it('revokes a token: it stops verifying, is listed as revoked, and a second revocation is a no-op', async () => {
    const { id, token } = (await h.call('POST', '/api/v1/join-tokens', { namespace: 'shop', service: 'web' })).json();
    const res = await h.call('DELETE', `/api/v1/join-tokens/${id}`);
    expect(res.statusCode, res.body).toBe(204);
    expect(res.body).toBe('');
    expect(await verifyJoinToken(h.db, token)).toBeUndefined();
    const listed = (await h.call('GET', '/api/v1/join-tokens')).json().items.find((t: { id: string }) => t.id === id);
    expect(listed).toMatchObject({ status: 'revoked', revokedAt: expect.any(String) });
    expect((await h.call('DELETE', `/api/v1/join-tokens/${id}`)).statusCode).toBe(204);
    expect((await h.call('GET', '/api/v1/join-tokens')).json().items.find((t: { id: string }) => t.id === id).revokedAt).toBe(listed.revokedAt);
  });

  it('answers a dry run with the token as it would be, revoking nothing', async () => {
    const { id, token } = (await h.call('POST', '/api/v1/join-tokens', { service: 'greeter' })).json();
    const res = await h.call('DELETE', `/api/v1/join-tokens/${id}?dryRun=true`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ dryRun: true, joinToken: { id, status: 'revoked' }, changes: [], issues: [] });
    expect(await verifyJoinToken(h.db, token)).toMatchObject({ tokenId: id });
  });

  it('answers 404 for an unknown or malformed id', async () => {
    expectProblem(await h.call('DELETE', '/api/v1/join-tokens/00000000-0000-4000-8000-000000000000'), 404, 'not-found');
    expectProblem(await h.call('DELETE', '/api/v1/join-tokens/00000000-0000-4000-8000-000000000000?dryRun=true'), 404, 'not-found');
    expectProblem(await h.call('DELETE', '/api/v1/join-tokens/not-a-uuid'), 404, 'not-found');
  });
});
