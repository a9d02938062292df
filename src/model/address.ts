/** Classifies endpoint addresses: IPv4, IPv6 or a DNS host name. */
import { isIP } from 'node:net';
import { isHostname } from './names.ts';

export type AddressKind = 'ipv4' | 'ipv6' | 'hostname';

/** The kind of `address`, or undefined when it is neither an IP address nor a valid host name. */
export function addressKind(address: string): AddressKind | undefined {
  const ip = isIP(address);
  if (ip === 4) return 'ipv4';
  if (ip === 6) return 'ipv6';
  return isHostname(address) ? 'hostname' : undefined;
}
