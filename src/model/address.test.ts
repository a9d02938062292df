import { describe, expect, it } from 'vitest';
import { addressKind } from './address.ts';

describe('addressKind', () => {
  it.each([
    // IPv4
    ['10.0.0.1', 'ipv4'],
    ['0.0.0.0', 'ipv4'],
    ['255.255.255.255', 'ipv4'],
    ['127.0.0.1', 'ipv4'],
    // IPv6, including the short and mixed forms
    ['::1', 'ipv6'],
    ['::', 'ipv6'],
    ['2001:db8::1', 'ipv6'],
    ['2001:DB8:0:0:0:0:0:1', 'ipv6'],
    ['::ffff:10.0.0.1', 'ipv6'],
    // a zone index is accepted as written (Node's isIP); see the report on link-local endpoints
    ['fe80::1%eth0', 'ipv6'],
    // host names
    ['backend.default', 'hostname'],
    ['localhost', 'hostname'],
    ['Example.COM', 'hostname'],
    ['example.com.', 'hostname'],
    // neither
    ['', undefined],
    [' ', undefined],
    ['256.0.0.1', undefined],
    ['10.0.0', undefined],
    ['10.0.0.1.1', undefined],
    ['010.0.0.1', undefined],
    ['0x7f.0.0.1', undefined],
    ['10.0.0.1:80', undefined],
    [' 10.0.0.1', undefined],
    ['[::1]', undefined],
    ['[::1]:80', undefined],
    ['1::2::3', undefined],
    ['2001:db8::1/64', undefined],
    ['fe80::1%', undefined],
    ['gggg::1', undefined],
    ['http://example.com', undefined],
    ['exa_mple.com', undefined],
    ['-example.com', undefined],
    ['example..com', undefined],
    ['a'.repeat(64) + '.com', undefined],
  ])('%j → %s', (input, want) => {
    expect(addressKind(input)).toBe(want);
  });
});
