import { METADATA_NAMESPACE, type ServiceRef } from '../model/names.ts';
import { plainToStruct } from '../protos/struct.ts';

/** Small Envoy building blocks shared by the builders: durations, config sources, addresses, type URLs. */

/** A plain Envoy message in protobufjs' camelCase JSON shape; nested Anys carry `@type`. */
export type Plain = Record<string, unknown>;

const TYPE_PREFIX = 'type.googleapis.com/';

/** Tags a plain object as an Any of the given message type. */
export function typed(messageName: string, fields: Plain = {}): Plain {
  return { '@type': TYPE_PREFIX + messageName, ...fields };
}

/**
 * `google.protobuf.Duration` from milliseconds. The type requires |nanos| < 1e9 with the sign of
 * `seconds`, so the split truncates toward zero and a sub-second part that rounds up to 1 s carries.
 */
export function duration(ms: number): Plain {
  let seconds = Math.trunc(ms / 1000);
  let nanos = Math.round((ms - seconds * 1000) * 1e6);
  if (Math.abs(nanos) >= 1e9) {
    seconds += Math.sign(nanos);
    nanos -= Math.sign(nanos) * 1e9;
  }
  seconds = seconds || 0; // no -0
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

/**
 * `envoy.config.core.v3.Metadata` naming the service (and its registry generation) a resource
 * comes from: it shows in config dumps, and it makes a re-created service's resources differ.
 */
export function origin(svc: ServiceRef & { uid: string }): Plain {
  return { filterMetadata: { [METADATA_NAMESPACE]: plainToStruct({ service: `${svc.namespace}/${svc.name}`, uid: svc.uid }) } };
}
