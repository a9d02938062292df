import { describe, expect, it } from 'vitest';
import { expectValidEnvoy } from '../../test/support/envoy.ts';
import type { Plain } from './common.ts';
import { httpConnectionManager } from './http-connection-manager.ts';
import { apiListener, httpListener } from './listener.ts';

const LISTENER = 'envoy.config.listener.v3.Listener';
const RDS_HCM = httpConnectionManager('gateway', { rds: 'gateway' });
const INLINE_HCM = httpConnectionManager('greeter.default', {
  inline: { name: 'greeter.default', virtualHosts: [{ name: 'greeter.default', domains: ['greeter.default'], routes: [] }] },
});
const HCM_FILTER = 'envoy.filters.network.http_connection_manager';

interface Case {
  name: string;
  got: () => Plain;
  want: Plain;
}

const cases: Case[] = [
  {
    name: 'API listener: no socket, only the HCM (proxyless gRPC)',
    got: () => apiListener('greeter.default', INLINE_HCM),
    want: { name: 'greeter.default', apiListener: { apiListener: INLINE_HCM } },
  },
  {
    name: 'API listener named with the port',
    got: () => apiListener('greeter.default:50051', INLINE_HCM),
    want: { name: 'greeter.default:50051', apiListener: { apiListener: INLINE_HCM } },
  },
  {
    name: 'socket listener on all IPv4 addresses with the HCM as its only filter',
    got: () => httpListener('gateway', '0.0.0.0', 10000, RDS_HCM),
    want: {
      name: 'gateway',
      address: { socketAddress: { address: '0.0.0.0', portValue: 10000 } },
      filterChains: [{ filters: [{ name: HCM_FILTER, typedConfig: RDS_HCM }] }],
    },
  },
  {
    name: 'socket listener on IPv6',
    got: () => httpListener('gateway6', '::', 8443, RDS_HCM),
    want: {
      name: 'gateway6',
      address: { socketAddress: { address: '::', portValue: 8443 } },
      filterChains: [{ filters: [{ name: HCM_FILTER, typedConfig: RDS_HCM }] }],
    },
  },
];

describe('listeners', () => {
  it.each(cases)('$name', ({ got, want }) => {
    const listener = got();
    expect(listener).toEqual(want);
    expectValidEnvoy(LISTENER, listener);
  });

  it('an API listener has no address or filter chains; a socket listener has no API listener', () => {
    const api = apiListener('a', INLINE_HCM);
    const socket = httpListener('b', '0.0.0.0', 1, RDS_HCM);
    expect(api).not.toHaveProperty('address');
    expect(api).not.toHaveProperty('filterChains');
    expect(socket).not.toHaveProperty('apiListener');
  });
});
