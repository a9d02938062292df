/** NACKs read from the replicas' proxy views: only types whose last response was rejected, malformed rows skipped. */
import { describe, expect, it } from 'vitest';
import { proxyNacksOf } from './proxy-nacks.ts';

describe('proxyNacksOf', () => {
  it('lists every proxy with the types in state error, merged over replicas and sorted', () => {
    const web = {
      id: 'web-1',
      namespace: 'shop',
      service: 'web',
      streams: [
        { types: { lds: { state: 'error', lastNack: { version: 'v7', errorDetail: 'bad filter' } }, cds: { state: 'acked' } } },
        { types: { lds: { state: 'error', lastNack: { version: 'v8' } }, eds: { state: 'error' } } },
      ],
    };
    const gateway = { id: 'gw-1', streams: [{ types: { rds: { state: 'acked' } } }] };
    const out = proxyNacksOf([[web, 'junk', { id: 7 }], [gateway, null, { id: 'x', streams: 'nope' }]]);
    expect(out).toEqual([
      { proxy: 'gw-1', service: null, nacks: [] },
      {
        proxy: 'web-1',
        service: 'shop/web',
        nacks: [
          { type: 'eds', version: null, errorDetail: null },
          { type: 'lds', version: 'v7', errorDetail: 'bad filter' },
        ],
      },
      { proxy: 'x', service: null, nacks: [] },
    ]);
  });
});
