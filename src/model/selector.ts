/**
 * Label selectors as Kubernetes writes them: `app=web,version!=v1,canary,!legacy` (equality, inequality,
 * existence, absence), used to filter services and, later, to pick endpoint subsets.
 */
import { fail, issue, ok, type Result } from '../lib/result.ts';

export type Requirement =
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'exists' | 'absent'; key: string };

const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** True when `key` is a valid label key (optional DNS prefix, then a name of up to 63 characters). */
export function isLabelKey(key: string): boolean {
  return KEY.test(key);
}

/** True when `value` is a valid label value (empty, or up to 63 characters). */
export function isLabelValue(value: string): boolean {
  return VALUE.test(value);
}

/** Parses a selector; `path` names the field in issues. */
export function parseSelector(text: string, path: string): Result<Requirement[]> {
  const out: Requirement[] = [];
  for (const raw of text.split(',')) {
    const part = raw.trim();
    const m = /^(!?)([^!=]+?)\s*(?:(==|=|!=)\s*(.*))?$/.exec(part);
    if (!m) return fail(issue(path, `"${part}" is not a label requirement (key, !key, key=value or key!=value)`));
    const [, bang, key = '', op, value] = m;
    if (!isLabelKey(key)) return fail(issue(path, `"${key}" is not a valid label key`));
    if (op === undefined) out.push({ op: bang ? 'absent' : 'exists', key });
    else if (bang) return fail(issue(path, `"${part}" cannot both negate the key and compare a value`));
    else if (!isLabelValue(value ?? '')) return fail(issue(path, `"${value}" is not a valid label value`));
    else out.push({ op: op === '!=' ? 'neq' : 'eq', key, value: value ?? '' });
  }
  return ok(out);
}

/** True when `labels` satisfy every requirement. */
export function matchesSelector(labels: Record<string, string>, reqs: Requirement[]): boolean {
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case 'absent':
        return !has;
      case 'eq':
        return has && labels[r.key] === r.value;
      case 'neq':
        return !has || labels[r.key] !== r.value;
    }
  });
}
