import { describe, expect, it } from 'vitest';
import {
  apiListenerNames,
  clusterName,
  isDnsLabel,
  isHostname,
  serviceDomains,
  serviceHost,
  serviceKeyOf,
  serviceRefOfKey,
  statPrefix,
} from './names.ts';

const label63 = 'a' + 'b'.repeat(61) + 'c';
const label64 = 'a' + 'b'.repeat(62) + 'c';

describe('isDnsLabel', () => {
  it.each([
    ['web', true],
    ['a', true],
    ['0', true],
    ['9lives', true],
    ['my-service-2', true],
    ['a--b', true],
    [label63, true],
    [label64, false],
    ['', false],
    ['-web', false],
    ['web-', false],
    ['-', false],
    ['Web', false],
    ['WEB', false],
    ['my_service', false],
    ['my.service', false],
    ['web ', false],
    [' web', false],
    ['web\n', false],
    ['wéb', false],
  ])('%j → %s', (input, want) => {
    expect(isDnsLabel(input)).toBe(want);
  });

  it('has exactly 63 characters as its limit', () => {
    expect(label63).toHaveLength(63);
    expect(label64).toHaveLength(64);
  });
});

describe('isHostname', () => {
  const name253 = [label63, label63, label63, 'a'.repeat(61)].join('.');
  it.each([
    ['localhost', true],
    ['backend.default', true],
    ['api.example.com', true],
    ['API.Example.COM', true],
    ['example.com.', true],
    ['xn--bcher-kva.example', true],
    ['a-1.b-2', true],
    ['123abc.example', true],
    [`${label63}.example`, true],
    [`${label64}.example`, false],
    [name253, true],
    [name253 + 'a', false],
    ['', false],
    ['.', false],
    ['.example.com', false],
    ['example..com', false],
    ['-example.com', false],
    ['example-.com', false],
    ['example.-com', false],
    ['under_score.com', false],
    ['exa mple.com', false],
    ['example.com\n', false],
    ['example.com:80', false],
    ['http://example.com', false],
    // IP addresses are not host names, nor is anything made only of digits and dots
    ['10.0.0.1', false],
    ['10.0.0.1.', false],
    ['256.256.256.256', false],
    ['1.2.3', false],
    ['123', false],
    ['foo.123', false],
    ['0x7f.0.0.1', false],
    ['0177.0.0.1', false],
    ['123.example', true],
    ['::1', false],
    ['fe80::1', false],
    ['[::1]', false],
  ])('%j → %s', (input, want) => {
    expect(isHostname(input)).toBe(want);
  });

  it('checks the 253-character limit on the whole name', () => {
    expect(name253).toHaveLength(253);
  });
});

describe('service naming', () => {
  const svc = { namespace: 'shop', name: 'cart', port: 8080 };
  it.each([
    ['serviceHost', serviceHost(svc), 'cart.shop'],
    ['clusterName', clusterName(svc), 'cart.shop'],
    ['apiListenerNames', apiListenerNames(svc), ['cart.shop:8080', 'cart.shop']],
    ['serviceDomains', serviceDomains(svc), ['cart.shop', 'cart.shop:8080']],
  ])('%s', (_name, got, want) => {
    expect(got).toEqual(want);
  });

  it.each([
    ['cart.shop', 'cart_shop'],
    ['cart.shop:8080', 'cart_shop_8080'],
    ['a-b/c', 'a_b_c'],
    ['Already_OK_9', 'Already_OK_9'],
  ])('statPrefix(%j) = %j', (input, want) => {
    expect(statPrefix(input)).toBe(want);
  });
});

describe('serviceRefOfKey', () => {
  it.each<[string, { namespace: string; name: string } | undefined]>([
    ['shop/web', { namespace: 'shop', name: 'web' }],
    ['default/a-1', { namespace: 'default', name: 'a-1' }],
    ['web', undefined],
    ['shop/web/x', undefined],
    ['Shop/web', undefined],
    ['shop/', undefined],
    ['/web', undefined],
  ])('%s → %j', (key, want) => {
    expect(serviceRefOfKey(key)).toEqual(want);
  });

  it('is the inverse of serviceKeyOf', () => {
    expect(serviceRefOfKey(serviceKeyOf({ namespace: 'shop', name: 'cart' }))).toEqual({ namespace: 'shop', name: 'cart' });
  });
});
