/** Builds `envoy.config.listener.v3.Listener`: API listeners for proxyless gRPC, socket listeners for Envoy. */
import { socketAddress, type Plain } from './common.ts';

/** A listener that only carries an HCM for a gRPC client (no socket): what `xds:///<name>` resolves to. */
export function apiListener(name: string, hcm: Plain, metadata?: Plain): Plain {
  return { name, ...(metadata ? { metadata } : {}), apiListener: { apiListener: hcm } };
}

/** A socket listener on `address:port` whose only filter is the given HCM. */
export function httpListener(name: string, address: string, port: number, hcm: Plain): Plain {
  return {
    name,
    address: socketAddress(address, port),
    filterChains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: hcm }] }],
  };
}
