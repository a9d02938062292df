import { describe, expect, it } from 'vitest';
import type { Observation } from './alert-conditions.ts';
import { evaluateAlerts, eventOf, type AlertTransition, type OpenAlert } from './alert-eval.ts';
import { checkAlertRule, type AlertRule } from './alert-rules.ts';

const T0 = new Date('2025-03-01T12:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

/** A drops rule (the simplest observation): fires above 10 dropped entries, after `forMs`. */
function dropsRule(forMs: number, extra: Record<string, unknown> = {}): AlertRule {
  const r = checkAlertRule({ name: 'drops', kind: 'ingestion-drops', params: { threshold: 10 }, forMs, severity: 'critical', ...extra });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return { ...r.value, id: 'rule-1' };
}
const dropped = (n: number): Observation => ({ kind: 'drops', dropped: n });
const pending = (startedS: number): OpenAlert => ({ id: 'a1', ruleId: 'rule-1', subject: 'mesh', state: 'pending', startedAt: at(startedS) });
const firing = (startedS: number): OpenAlert => ({ id: 'a1', ruleId: 'rule-1', subject: 'mesh', state: 'firing', startedAt: at(startedS) });
const message = (n: number) => `${n} access-log entries dropped in the last 5m (threshold 10)`;

describe('evaluateAlerts', () => {
  it.each<[string, AlertRule, Observation | null, OpenAlert[], number, Partial<AlertTransition>[]]>([
    ['nothing holds, nothing open: nothing', dropsRule(60_000), dropped(3), [], 0, []],
    [
      'the condition starts to hold: a new pending alert',
      dropsRule(60_000),
      dropped(12),
      [],
      0,
      [{ type: 'open', ruleId: 'rule-1', ruleName: 'drops', subject: 'mesh', state: 'pending', severity: 'critical', value: 12, message: message(12), at: at(0) }],
    ],
    ['with forMs 0 it fires at once', dropsRule(0), dropped(12), [], 0, [{ type: 'open', state: 'firing', at: at(0) }]],
    ['pending, holding, forMs not yet elapsed: nothing', dropsRule(60_000), dropped(12), [pending(0)], 59, []],
    [
      'pending, holding for forMs: it fires with the latest value',
      dropsRule(60_000),
      dropped(20),
      [pending(0)],
      60,
      [{ type: 'fire', alertId: 'a1', ruleId: 'rule-1', subject: 'mesh', value: 20, message: message(20), at: at(60) }],
    ],
    ['pending, no longer holding: dropped', dropsRule(60_000), dropped(0), [pending(0)], 30, [{ type: 'drop', alertId: 'a1', subject: 'mesh' }]],
    ['firing, still holding: nothing', dropsRule(60_000), dropped(50), [firing(0)], 600, []],
    ['firing, no longer holding: resolved', dropsRule(60_000), dropped(0), [firing(0)], 600, [{ type: 'resolve', alertId: 'a1', subject: 'mesh', at: at(600) }]],
    ['a disabled rule ends its alerts', dropsRule(0, { enabled: false }), null, [firing(0)], 10, [{ type: 'resolve', alertId: 'a1' }]],
    ['a rule not measured this round leaves its alerts alone', dropsRule(0), null, [firing(0), { ...pending(0), id: 'a2', subject: 'other' }], 10, []],
    ['alerts of other rules are not this rule’s', dropsRule(0), dropped(0), [{ ...firing(0), ruleId: 'rule-2' }], 10, []],
  ])('%s', (_what, rule, observation, open, seconds, expected) => {
    const transitions = evaluateAlerts([{ rule, observation }], open, at(seconds));
    expect(transitions).toHaveLength(expected.length);
    expected.forEach((e, i) => expect(transitions[i]).toMatchObject(e));
  });

  it('runs the whole life of an alert: pending, firing after forMs, resolved', () => {
    const rule = dropsRule(120_000);
    let open: OpenAlert[] = [];
    const seen: string[] = [];
    const step = (seconds: number, n: number) => {
      for (const t of evaluateAlerts([{ rule, observation: dropped(n) }], open, at(seconds))) {
        seen.push(`${seconds}s ${t.type}${eventOf(t) ? ` → ${eventOf(t)}` : ''}`);
        if (t.type === 'open') open = [{ id: 'a1', ruleId: t.ruleId, subject: t.subject, state: t.state, startedAt: t.at }];
        if (t.type === 'fire') open = open.map((a) => ({ ...a, state: 'firing' }));
        if (t.type === 'resolve' || t.type === 'drop') open = [];
      }
    };
    [[0, 50], [60, 50], [120, 50], [180, 50], [240, 0], [300, 50], [330, 0]].forEach(([s, n]) => step(s!, n!));
    expect(seen).toEqual(['0s open', '120s fire → firing', '240s resolve → resolved', '300s open', '330s drop']);
  });

  it('sorts transitions by rule name, then subject', () => {
    const nacks = (name: string, id: string): AlertRule => ({ ...dropsRule(0), kind: 'nacks', params: {}, name, id });
    const observation: Observation = {
      kind: 'nacks',
      proxies: ['p2', 'p1'].map((proxy) => ({ proxy, service: null, nacks: [{ type: 'cds', version: null, errorDetail: null }] })),
    };
    const t = evaluateAlerts([{ rule: nacks('zeta', 'z'), observation }, { rule: nacks('alpha', 'a'), observation }], [], T0);
    expect(t.map((x) => `${x.type === 'open' ? x.ruleName : ''}:${x.subject}`)).toEqual(['alpha:p1', 'alpha:p2', 'zeta:p1', 'zeta:p2']);
  });
});
