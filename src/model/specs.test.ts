import { describe, expect, it } from 'vitest';
import type { Issue } from '../lib/result.ts';
import { checkAddress, checkDnsLabel, checkLabels } from './specs.ts';

const DNS_MESSAGE = "is not a DNS label (lower-case letters, digits and '-', 1-63 characters, starting and ending with a letter or digit)";

describe('checkDnsLabel', () => {
  it.each<[string, string, Issue[]]>([
    ['cart', 'body.name', []],
    ['a'.repeat(63), 'body.name', []],
    ['Cart', 'body.name', [{ path: 'body.name', message: `"Cart" ${DNS_MESSAGE}` }]],
    ['-cart', 'body.namespace', [{ path: 'body.namespace', message: `"-cart" ${DNS_MESSAGE}` }]],
    ['', 'params.namespace', [{ path: 'params.namespace', message: `"" ${DNS_MESSAGE}` }]],
    ['a'.repeat(64), 'body.name', [{ path: 'body.name', message: `"${'a'.repeat(64)}" ${DNS_MESSAGE}` }]],
  ])('%j at %s', (value, path, want) => {
    expect(checkDnsLabel(value, path)).toEqual(want);
  });

  it('quotes at most 80 characters of a long value', () => {
    const [only] = checkDnsLabel('x'.repeat(500), 'body.name');
    expect(only?.message).toBe(`"${'x'.repeat(80)}" ${DNS_MESSAGE}`);
  });
});

describe('checkLabels', () => {
  const VALUE_MESSAGE = "is not a valid label value (up to 63 letters, digits, '-', '_' or '.')";
  it.each<[string, Record<string, string>, Issue[]]>([
    ['no labels', {}, []],
    ['valid keys and values', { app: 'web', 'example.com/tier': 'front-end', empty: '' }, []],
    ['a bad key', { 'bad key': 'x' }, [{ path: 'body.labels.bad key', message: 'is not a valid label key' }]],
    ['a bad value', { app: 'we b' }, [{ path: 'body.labels.app', message: `"we b" ${VALUE_MESSAGE}` }]],
    [
      'every bad entry, in order, one issue each',
      { ok: 'fine', '-k': '-v', app: '-v', tier: 'v'.repeat(64) },
      [
        { path: 'body.labels.-k', message: 'is not a valid label key' },
        { path: 'body.labels.app', message: `"-v" ${VALUE_MESSAGE}` },
        { path: 'body.labels.tier', message: `"${'v'.repeat(64)}" ${VALUE_MESSAGE}` },
      ],
    ],
  ])('%s', (_name, labels, want) => {
    expect(checkLabels(labels, 'body.labels')).toEqual(want);
  });

  it('uses the path it is given', () => {
    expect(checkLabels({ '!': 'x' }, 'body.endpoints[3].labels')).toEqual([{ path: 'body.endpoints[3].labels.!', message: 'is not a valid label key' }]);
  });
});

describe('checkAddress', () => {
  const MESSAGE = 'is not an IPv4 address, an IPv6 address or a host name';
  it.each<[string, Issue[]]>([
    ['10.0.0.1', []],
    ['::1', []],
    ['backend.default', []],
    ['10.0.0.256', [{ path: 'body.endpoints[2].address', message: `"10.0.0.256" ${MESSAGE}` }]],
    ['[::1]', [{ path: 'body.endpoints[2].address', message: `"[::1]" ${MESSAGE}` }]],
    ['not a host', [{ path: 'body.endpoints[2].address', message: `"not a host" ${MESSAGE}` }]],
    ['', [{ path: 'body.endpoints[2].address', message: `"" ${MESSAGE}` }]],
  ])('%j', (address, want) => {
    expect(checkAddress(address, 'body.endpoints[2].address')).toEqual(want);
  });

  it('quotes at most 80 characters of a long value', () => {
    const [only] = checkAddress('_'.repeat(300), 'body.address');
    expect(only?.message).toBe(`"${'_'.repeat(80)}" ${MESSAGE}`);
  });
});
