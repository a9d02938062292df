/** Builds `envoy.config.listener.v3.Listener`: API listeners for proxyless gRPC, socket listeners for Envoy. */
import { statPrefix } from '../model/names.ts';
import { socketAddress, typed, type Plain } from './common.ts';

/** A listener that only carries an HCM for a gRPC client (no socket): what `xds:///<name>` resolves to. */
export function apiListener(name: string, hcm: Plain, metadata?: Plain): Plain {
  return { name, ...(metadata ? { metadata } : {}), apiListener: { apiListener: hcm } };
}

/** A socket listener on `address:port` with one filter chain; `bindToPort: false` for listeners that only receive handed-over connections. */
export function socketListener(
  name: string,
  address: string,
  port: number,
  filters: Plain[],
  opts: { direction?: 'INBOUND' | 'OUTBOUND'; bindToPort?: boolean } = {},
): Plain {
  return {
    name,
    address: socketAddress(address, port),
    ...(opts.bindToPort === false ? { bindToPort: { value: false } } : {}),
    ...(opts.direction ? { trafficDirection: opts.direction } : {}),
    filterChains: [{ filters }],
  };
}

/** The network filter entry that runs an HCM (as built by `httpConnectionManager`). */
export function hcmFilter(hcm: Plain): Plain {
  return { name: 'envoy.filters.network.http_connection_manager', typedConfig: hcm };
}

/** A socket listener on `address:port` whose only filter is the given HCM. */
export function httpListener(name: string, address: string, port: number, hcm: Plain): Plain {
  return socketListener(name, address, port, [hcmFilter(hcm)]);
}

/** The network filter that proxies raw TCP to a cluster, with its access loggers when given. */
export function tcpProxy(name: string, cluster: string, accessLog: Plain[] = []): Plain {
  return {
    name: 'envoy.filters.network.tcp_proxy',
    typedConfig: typed('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', {
      statPrefix: statPrefix(name),
      cluster,
      ...(accessLog.length ? { accessLog } : {}),
    }),
  };
}

/**
 * The listener that redirected outbound traffic lands on: it hands each connection to the listener
 * of its original destination port, and passes anything else through unchanged (logged by the
 * given access loggers).
 */
export function virtualOutboundListener(name: string, port: number, passthroughCluster: string, accessLog: Plain[] = []): Plain {
  return {
    name,
    address: socketAddress('0.0.0.0', port),
    useOriginalDst: { value: true },
    trafficDirection: 'OUTBOUND',
    filterChains: [{ filters: [tcpProxy(name, passthroughCluster, accessLog)] }],
  };
}
