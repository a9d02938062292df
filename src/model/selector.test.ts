import { describe, expect, it } from 'vitest';
import { isLabelKey, isLabelValue, matchesSelector, parseSelector, type Requirement } from './selector.ts';

const PATH = 'query.label';

describe('parseSelector: valid selectors', () => {
  it.each<[string, Requirement[]]>([
    ['app=web', [{ op: 'eq', key: 'app', value: 'web' }]],
    ['app==web', [{ op: 'eq', key: 'app', value: 'web' }]],
    ['app!=web', [{ op: 'neq', key: 'app', value: 'web' }]],
    ['canary', [{ op: 'exists', key: 'canary' }]],
    ['!legacy', [{ op: 'absent', key: 'legacy' }]],
    ['app=', [{ op: 'eq', key: 'app', value: '' }]],
    ['app!=', [{ op: 'neq', key: 'app', value: '' }]],
    [' app = web ', [{ op: 'eq', key: 'app', value: 'web' }]],
    ['app ==web', [{ op: 'eq', key: 'app', value: 'web' }]],
    ['app!= web', [{ op: 'neq', key: 'app', value: 'web' }]],
    ['app.kubernetes.io/name=cart', [{ op: 'eq', key: 'app.kubernetes.io/name', value: 'cart' }]],
    ['Tier_1.x=A-b_c.9', [{ op: 'eq', key: 'Tier_1.x', value: 'A-b_c.9' }]],
    [
      'app=web, version!=v1 ,canary,  !legacy',
      [
        { op: 'eq', key: 'app', value: 'web' },
        { op: 'neq', key: 'version', value: 'v1' },
        { op: 'exists', key: 'canary' },
        { op: 'absent', key: 'legacy' },
      ],
    ],
  ])('%j', (text, want) => {
    expect(parseSelector(text, PATH)).toEqual({ ok: true, value: want });
  });
});

describe('parseSelector: invalid selectors name the field', () => {
  it.each<[string, string]>([
    ['', '"" is not a label requirement (key, !key, key=value or key!=value)'],
    ['app=web,', '"" is not a label requirement (key, !key, key=value or key!=value)'],
    [',app=web', '"" is not a label requirement (key, !key, key=value or key!=value)'],
    ['=web', '"=web" is not a label requirement (key, !key, key=value or key!=value)'],
    ['!=web', '"!=web" is not a label requirement (key, !key, key=value or key!=value)'],
    ['app!', '"app!" is not a label requirement (key, !key, key=value or key!=value)'],
    ['!!app', '"!!app" is not a label requirement (key, !key, key=value or key!=value)'],
    ['!app=web', '"!app=web" cannot both negate the key and compare a value'],
    ['!app!=web', '"!app!=web" cannot both negate the key and compare a value'],
    ['-app=web', '"-app" is not a valid label key'],
    ['app-=web', '"app-" is not a valid label key'],
    ['my app=web', '"my app" is not a valid label key'],
    ['app in (a', '"app in (a" is not a valid label key'],
    [`${'k'.repeat(64)}=v`, `"${'k'.repeat(64)}" is not a valid label key`],
    ['Bad.Prefix/app=v', '"Bad.Prefix/app" is not a valid label key'],
    ['app=web=1', '"web=1" is not a valid label value'],
    ['app=-web', '"-web" is not a valid label value'],
    ['app=web-', '"web-" is not a valid label value'],
    ['app=we b', '"we b" is not a valid label value'],
    ['app=web!', '"web!" is not a valid label value'],
    [`app=${'v'.repeat(64)}`, `"${'v'.repeat(64)}" is not a valid label value`],
  ])('%j', (text, message) => {
    expect(parseSelector(text, PATH)).toEqual({ ok: false, issues: [{ path: PATH, message }] });
  });

  it('stops at the first bad requirement and uses the given path', () => {
    expect(parseSelector('good=1,bad key,-also', 'query.selector')).toEqual({
      ok: false,
      issues: [{ path: 'query.selector', message: '"bad key" is not a valid label key' }],
    });
  });
});

describe('label keys and values', () => {
  it.each([
    ['app', true],
    ['a', true],
    ['k'.repeat(63), true],
    ['k'.repeat(64), false],
    ['example.com/app', true],
    ['my-org.io/App_Name.v2', true],
    ['/app', false],
    ['example.com/', false],
    ['Example.com/app', false],
    ['a/b/c', false],
    ['_app', false],
    ['', false],
  ])('isLabelKey(%j) → %s', (key, want) => {
    expect(isLabelKey(key)).toBe(want);
  });

  it.each([
    ['', true],
    ['v1', true],
    ['A.b-c_d', true],
    ['v'.repeat(63), true],
    ['v'.repeat(64), false],
    ['.v', false],
    ['v_', false],
    ['v/1', false],
    ['v 1', false],
  ])('isLabelValue(%j) → %s', (value, want) => {
    expect(isLabelValue(value)).toBe(want);
  });
});

describe('matchesSelector', () => {
  const labels = { app: 'web', version: 'v2', empty: '' };
  const eq = (key: string, value: string): Requirement => ({ op: 'eq', key, value });
  const neq = (key: string, value: string): Requirement => ({ op: 'neq', key, value });
  const exists = (key: string): Requirement => ({ op: 'exists', key });
  const absent = (key: string): Requirement => ({ op: 'absent', key });

  it.each<[string, Requirement[], boolean]>([
    ['no requirements match everything', [], true],
    ['eq, key present, same value', [eq('app', 'web')], true],
    ['eq, key present, other value', [eq('app', 'api')], false],
    ['eq, key missing', [eq('tier', 'web')], false],
    ['eq with empty value, key present and empty', [eq('empty', '')], true],
    ['eq with empty value, key missing', [eq('tier', '')], false],
    ['neq, key present, same value', [neq('app', 'web')], false],
    ['neq, key present, other value', [neq('app', 'api')], true],
    ['neq, key missing', [neq('tier', 'web')], true],
    ['exists, key present', [exists('app')], true],
    ['exists, key present with empty value', [exists('empty')], true],
    ['exists, key missing', [exists('tier')], false],
    ['absent, key present', [absent('app')], false],
    ['absent, key missing', [absent('tier')], true],
    ['all requirements must hold (all true)', [eq('app', 'web'), neq('version', 'v1'), exists('empty'), absent('tier')], true],
    ['all requirements must hold (one false)', [eq('app', 'web'), neq('version', 'v2')], false],
    ['inherited object keys are not labels', [exists('constructor'), exists('toString')], false],
    ['inherited object keys count as absent', [absent('__proto__'), neq('hasOwnProperty', 'x')], true],
  ])('%s', (_name, reqs, want) => {
    expect(matchesSelector(labels, reqs)).toBe(want);
  });

  it('works end to end with parseSelector', () => {
    const parsed = parseSelector('app=web,!legacy,version!=v1', PATH);
    if (!parsed.ok) throw new Error('selector should parse');
    expect(matchesSelector({ app: 'web', version: 'v2' }, parsed.value)).toBe(true);
    expect(matchesSelector({ app: 'web', version: 'v1' }, parsed.value)).toBe(false);
    expect(matchesSelector({ app: 'web', legacy: 'yes' }, parsed.value)).toBe(false);
  });
});
