import { describe, expect, it } from 'vitest';
import { parseSpiffeId, spiffeIdOf, validateTrustDomain } from './spiffe.ts';

describe('spiffeIdOf', () => {
  it('builds the ns/sa identity', () => {
    expect(spiffeIdOf('cluster.local', 'default', 'greeter')).toEqual({ ok: true, value: 'spiffe://cluster.local/ns/default/sa/greeter' });
    expect(spiffeIdOf('prod_mesh-1.example.org', 'team.a', 'svc_1')).toEqual({
      ok: true,
      value: 'spiffe://prod_mesh-1.example.org/ns/team.a/sa/svc_1',
    });
  });

  it.each([
    { td: 'example.org:8443', path: 'trustDomain', message: 'must not include a port' },
    { td: 'Example.org', path: 'trustDomain', message: 'must be lower case (example.org)' },
    { td: 'spiffe://example.org', path: 'trustDomain', message: 'is a bare name such as example.org, not a URI' },
    { td: 'user@example.org', path: 'trustDomain', message: 'must not include user info' },
    { td: '', path: 'trustDomain', message: 'must not be empty' },
    { td: 'exa mple.org', path: 'trustDomain', message: 'may contain only lower-case letters, digits, dots, dashes and underscores' },
    { td: 'a'.repeat(256), path: 'trustDomain', message: 'must be at most 255 characters' },
  ])('refuses trust domain $td', ({ td, path, message }) => {
    expect(spiffeIdOf(td, 'default', 'greeter')).toEqual({ ok: false, issues: [{ path, message }] });
  });

  it('names every bad part at once', () => {
    const result = spiffeIdOf('Bad', '..', 'a/b');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues.map((i) => i.path)).toEqual(['trustDomain', 'namespace', 'service']);
  });

  it('refuses an ID longer than 2048 bytes', () => {
    expect(spiffeIdOf('example.org', 'ns', 's'.repeat(2040))).toEqual({
      ok: false,
      issues: [{ path: 'service', message: 'makes the SPIFFE ID longer than 2048 bytes' }],
    });
  });
});

describe('validateTrustDomain', () => {
  it('accepts what the spec allows, underscores included', () => {
    expect(validateTrustDomain('my_domain.example-1.org')).toEqual({ ok: true, value: 'my_domain.example-1.org' });
  });

  it('names the setting it checks', () => {
    expect(validateTrustDomain('A:1', 'TRUST_DOMAIN')).toEqual({ ok: false, issues: [{ path: 'TRUST_DOMAIN', message: 'must not include a port' }] });
  });
});

describe('parseSpiffeId', () => {
  it('splits trust domain and path', () => {
    expect(parseSpiffeId('spiffe://example.org/ns/a/sa/b')).toEqual({ ok: true, value: { trustDomain: 'example.org', path: '/ns/a/sa/b' } });
    expect(parseSpiffeId('spiffe://example.org')).toEqual({ ok: true, value: { trustDomain: 'example.org', path: '' } });
  });

  it.each([
    { id: 'http://example.org/a', message: 'must start with spiffe://' },
    { id: 'SPIFFE://example.org/a', message: 'must start with spiffe://' },
    { id: 'spiffe://example.org:80/a', message: 'trust domain must not include a port' },
    { id: 'spiffe:///a', message: 'trust domain must not be empty' },
    { id: 'spiffe://example.org/', message: 'path segment "" must not be empty' },
    { id: 'spiffe://example.org/a//b', message: 'path segment "" must not be empty' },
    { id: 'spiffe://example.org/a/../b', message: 'path segment ".." must not be a dot segment' },
    { id: 'spiffe://example.org/a?b=c', message: 'path segment "a?b=c" may contain only letters, digits, dots, dashes and underscores' },
    { id: 'spiffe://example.org/a%20b', message: 'path segment "a%20b" may contain only letters, digits, dots, dashes and underscores' },
  ])('refuses $id', ({ id, message }) => {
    expect(parseSpiffeId(id)).toEqual({ ok: false, issues: [{ path: 'spiffeId', message }] });
  });

  it('requires a path for workload IDs when asked', () => {
    expect(parseSpiffeId('spiffe://example.org', { requirePath: true })).toEqual({
      ok: false,
      issues: [{ path: 'spiffeId', message: 'must have a path after the trust domain (a workload ID)' }],
    });
  });
});
