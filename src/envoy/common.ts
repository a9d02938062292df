/** Small Envoy building blocks shared by the builders: durations, config sources, addresses, type URLs. */

/** A plain Envoy message in protobufjs' camelCase JSON shape; nested Anys carry `@type`. */
export type Plain = Record<string, unknown>;

const TYPE_PREFIX = 'type.googleapis.com/';

/** Tags a plain object as an Any of the given message type. */
export function typed(messageName: string, fields: Plain = {}): Plain {
  return { '@type': TYPE_PREFIX + messageName, ...fields };
}

/** `google.protobuf.Duration` from milliseconds. */
export function duration(ms: number): Plain {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  return nanos ? { seconds, nanos } : { seconds };
}

/** A ConfigSource that tells the proxy to fetch the resource over its ADS stream. */
export function adsConfigSource(): Plain {
  return { ads: {}, resourceApiVersion: 'V3' };
}

/** `envoy.config.core.v3.Address` for a socket. */
export function socketAddress(address: string, port: number): Plain {
  return { socketAddress: { address, portValue: port } };
}
