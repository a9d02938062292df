/**
 * The alert state machine, one round at a time: given the rules, what each observed, and the alerts
 * open now, the transitions to store. Pure: `now` is passed in, nothing is read or written.
 *
 *   condition holds, no alert       → open (pending; firing at once when forMs is 0)
 *   pending, holds for forMs        → fire
 *   pending, no longer holds        → drop (it never fired: no history, no webhook)
 *   firing, no longer holds         → resolve
 *
 * A subject a rule did not measure this round counts as "does not hold". A rule that was not
 * measured at all (its source failed) is left out of `rules`, and its alerts stay as they are.
 */
import { breachesOf, type Breach, type Observation } from './alert-conditions.ts';
import type { AlertRule, Severity } from './alert-rules.ts';

/** An alert not yet resolved, as stored. */
export interface OpenAlert {
  id: string;
  ruleId: string;
  subject: string;
  state: 'pending' | 'firing';
  startedAt: Date;
}

export type AlertTransition =
  | {
      type: 'open';
      ruleId: string;
      ruleName: string;
      subject: string;
      state: 'pending' | 'firing';
      severity: Severity;
      value: number;
      message: string;
      at: Date;
    }
  | { type: 'fire'; alertId: string; ruleId: string; subject: string; value: number; message: string; at: Date }
  | { type: 'drop'; alertId: string; ruleId: string; subject: string }
  | { type: 'resolve'; alertId: string; ruleId: string; subject: string; at: Date };

/**
 * One rule's round: the rule and what it observed. A disabled rule observes nothing (null) and its
 * alerts end; an enabled rule with a null observation was not measured and is skipped.
 */
export interface RuleRound {
  rule: AlertRule;
  observation: Observation | null;
}

/** The transitions of one rule from its breaches this round and its open alerts. */
function transitionsOf(rule: AlertRule, breaches: Breach[], open: OpenAlert[], now: Date): AlertTransition[] {
  const out: AlertTransition[] = [];
  const holding = new Map(breaches.map((b) => [b.subject, b]));
  const mine = open.filter((a) => a.ruleId === rule.id);
  for (const alert of mine) {
    const breach = holding.get(alert.subject);
    const ids = { alertId: alert.id, ruleId: rule.id, subject: alert.subject };
    if (!breach) out.push(alert.state === 'pending' ? { type: 'drop', ...ids } : { type: 'resolve', ...ids, at: now });
    else if (alert.state === 'pending' && now.getTime() - alert.startedAt.getTime() >= rule.forMs) {
      out.push({ type: 'fire', ...ids, value: breach.value, message: breach.message, at: now });
    }
  }
  const known = new Set(mine.map((a) => a.subject));
  for (const b of breaches) {
    if (known.has(b.subject)) continue;
    const state = rule.forMs === 0 ? 'firing' : 'pending';
    out.push({ type: 'open', ruleId: rule.id, ruleName: rule.name, subject: b.subject, state, severity: rule.severity, value: b.value, message: b.message, at: now });
  }
  return out;
}

const bySubject = (a: AlertTransition, b: AlertTransition) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0);

/** Evaluates every rule measured this round against the open alerts; transitions sorted by rule name, then subject. */
export function evaluateAlerts(rounds: RuleRound[], open: OpenAlert[], now: Date): AlertTransition[] {
  const sorted = [...rounds].sort((a, b) => (a.rule.name < b.rule.name ? -1 : a.rule.name > b.rule.name ? 1 : 0));
  return sorted.flatMap(({ rule, observation }) => {
    if (rule.enabled && observation === null) return [];
    const breaches = rule.enabled && observation ? breachesOf(rule, observation, now) : [];
    return transitionsOf(rule, breaches, open, now).sort(bySubject);
  });
}

/** The webhook event a transition makes, if any: an alert that starts firing, or one that fired and resolved. */
export function eventOf(t: AlertTransition): 'firing' | 'resolved' | undefined {
  if (t.type === 'fire' || (t.type === 'open' && t.state === 'firing')) return 'firing';
  return t.type === 'resolve' ? 'resolved' : undefined;
}
