/** Encoding plain Envoy objects: nested Anys must name a loaded message type, never vanish into an empty Any. */
import { describe, expect, it } from 'vitest';
import { messageType } from './loader.ts';
import { decodeToPlain, encodeMessage } from './type-urls.ts';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const listener = (filterType: string) => ({
  name: 'l',
  address: { socketAddress: { address: '0.0.0.0', portValue: 80 } },
  filterChains: [{ filters: [{ name: 'hcm', typedConfig: { '@type': HCM, statPrefix: 's', httpFilters: [{ name: 'f', typedConfig: { '@type': filterType } }] } }] }],
});

describe('encodeMessage', () => {
  it('round-trips nested Anys of loaded types, the traffic extensions included', () => {
    const type = messageType('envoy.config.listener.v3.Listener');
    const fault = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
    const decoded = decodeToPlain(type, encodeMessage(type, listener(fault)));
    expect(JSON.stringify(decoded)).toContain(fault);
  });

  it('refuses an Any whose message type is not loaded, naming it', () => {
    const type = messageType('envoy.config.listener.v3.Listener');
    const unknown = 'type.googleapis.com/envoy.extensions.filters.http.nope.v3.Nope';
    expect(() => encodeMessage(type, listener(unknown))).toThrow(`unknown message type in @type: ${unknown}`);
  });
});
