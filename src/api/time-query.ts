/** Time ranges in query strings: `from`/`to` as ISO 8601 date-times, `step`/`window` as durations (`30s`, `5m`, `1h`, `7d`). */
import { fail, issue, ok, type Issue, type Result } from '../lib/result.ts';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a duration like `5m`; an issue naming `field` otherwise. */
export function parseDuration(raw: string, field: string, minMs: number, maxMs: number): Result<number> {
  const m = /^(\d{1,6})(s|m|h|d)$/.exec(raw);
  const ms = m ? Number(m[1]) * UNITS[m[2]!]! : NaN;
  if (!m || ms < minMs || ms > maxMs) {
    return fail(issue(field, `must be a duration like 30s, 5m, 1h or 7d, from ${describe(minMs)} to ${describe(maxMs)}, got ${JSON.stringify(raw.slice(0, 40))}`));
  }
  return ok(ms);
}

/** A date-time; an issue naming `field` otherwise. */
export function parseInstant(raw: string, field: string): Result<Date> {
  const t = /^\d{4}-\d{2}-\d{2}T/.test(raw) ? Date.parse(raw) : NaN;
  return Number.isNaN(t) ? fail(issue(field, `must be an ISO 8601 date-time such as 2026-12-02T10:00:00Z, got ${JSON.stringify(raw.slice(0, 40))}`)) : ok(new Date(t));
}

export interface RangeQuery {
  from?: string;
  to?: string;
  step?: string;
}

export interface Range {
  from: Date;
  to: Date;
  stepMs: number;
}

/**
 * `from`..`to` (default: the hour before now) in steps of `step` (default: the range in at most 60
 * steps, whole minutes). The range is aligned to the step so points fall on round times.
 */
export function parseRange(q: RangeQuery, now: Date, maxPoints: number): Result<Range> {
  const issues: Issue[] = [];
  const to = q.to === undefined ? ok(now) : parseInstant(q.to, 'query.to');
  const from = q.from === undefined ? undefined : parseInstant(q.from, 'query.from');
  const step = q.step === undefined ? undefined : parseDuration(q.step, 'query.step', 60_000, 31 * 86_400_000);
  for (const r of [to, from, step]) if (r && !r.ok) issues.push(...r.issues);
  if (issues.length || !to.ok || (from && !from.ok) || (step && !step.ok)) return fail(...issues);
  const end = to.value;
  const start = from?.value ?? new Date(end.getTime() - 3_600_000);
  if (start >= end) return fail(issue('query.from', 'must be before query.to'));
  const span = end.getTime() - start.getTime();
  const stepMs = step?.value ?? Math.max(60_000, Math.ceil(span / 60 / 60_000) * 60_000);
  const alignedFrom = Math.floor(start.getTime() / stepMs) * stepMs;
  const alignedTo = Math.ceil(end.getTime() / stepMs) * stepMs;
  const points = (alignedTo - alignedFrom) / stepMs;
  if (points > maxPoints) return fail(issue('query.step', `gives ${points} points over this range; at most ${maxPoints}: take a longer step or a shorter range`));
  return ok({ from: new Date(alignedFrom), to: new Date(alignedTo), stepMs });
}

const describe = (ms: number) => {
  for (const [unit, size] of Object.entries(UNITS).reverse()) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
};
