/**
 * Semantic checks of service and endpoint specs that a JSON schema cannot express: DNS-label names,
 * address kinds, label syntax. The API's schema has already checked shapes, types and ranges.
 */
import { issue, type Issue } from '../lib/result.ts';
import { addressKind } from './address.ts';
import { isDnsLabel } from './names.ts';
import { isLabelKey, isLabelValue } from './selector.ts';

/** Issues for a namespace or service name that is not a DNS label. */
export function checkDnsLabel(value: string, path: string): Issue[] {
  return isDnsLabel(value)
    ? []
    : [issue(path, `"${value.slice(0, 80)}" is not a DNS label (lower-case letters, digits and '-', 1-63 characters, starting and ending with a letter or digit)`)];
}

/** Issues for label keys and values. */
export function checkLabels(labels: Record<string, string>, path: string): Issue[] {
  const out: Issue[] = [];
  for (const [k, v] of Object.entries(labels)) {
    if (!isLabelKey(k)) out.push(issue(`${path}.${k}`, 'is not a valid label key'));
    else if (!isLabelValue(v)) out.push(issue(`${path}.${k}`, `"${v.slice(0, 80)}" is not a valid label value (up to 63 letters, digits, '-', '_' or '.')`));
  }
  return out;
}

/** Issues for an endpoint address that is neither an IP address nor a host name. */
export function checkAddress(address: string, path: string): Issue[] {
  return addressKind(address) ? [] : [issue(path, `"${address.slice(0, 80)}" is not an IPv4 address, an IPv6 address or a host name`)];
}
