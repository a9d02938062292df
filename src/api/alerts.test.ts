/** Alert rules and alerts over REST: CRUD with unique names and field-named 400s, and the alert history. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiHarness, expectProblem, type ApiHarness } from '../../test/support/api.ts';
import { applyAlertChanges, recordDelivery } from '../registry/alerts.ts';
import { alertRules } from '../registry/schema.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await apiHarness();
});
afterAll(async () => h?.close());

const RULES = '/api/v1/alert-rules';
const errorRate = { name: 'web-errors', kind: 'error-rate', service: 'shop/web', params: { threshold: 0.05 }, forMs: 60_000, webhookUrl: 'https://hooks.example/alerts' };
const ruleCount = async () => (await h.db.select().from(alertRules)).length;

describe('alert rules', () => {
  let id: string;

  it('creates a rule with its defaults filled in, at its own URL', async () => {
    const res = await h.call('POST', RULES, errorRate);
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json();
    expect(body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'web-errors',
      description: null,
      kind: 'error-rate',
      service: 'shop/web',
      params: { threshold: 0.05, windowMs: 300_000, minRequests: 10 },
      forMs: 60_000,
      severity: 'warning',
      webhookUrl: 'https://hooks.example/alerts',
      enabled: true,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(res.headers.location).toBe(`${RULES}/${body.id}`);
    id = body.id;
    expect((await h.call('GET', `${RULES}/${id}`)).json()).toEqual(body);
    expect((await h.call('GET', RULES)).json()).toEqual({ items: [body] });
  });

  it('answers 409 for a name already used, on create and on replace', async () => {
    expectProblem(await h.call('POST', RULES, { ...errorRate, service: null }), 409, 'conflict');
    const other = (await h.call('POST', RULES, { name: 'nacks', kind: 'nacks' })).json();
    expectProblem(await h.call('PUT', `${RULES}/${other.id}`, { name: 'web-errors', kind: 'nacks' }), 409, 'conflict');
    expect((await h.call('DELETE', `${RULES}/${other.id}`)).statusCode).toBe(204);
  });

  it('answers 400 naming each bad field, storing nothing', async () => {
    const before = await ruleCount();
    const cases: [Record<string, unknown>, string[]][] = [
      [{ ...errorRate, params: { threshold: 2 } }, ['body.params.threshold']],
      [{ ...errorRate, params: {} }, ['body.params.threshold']],
      [{ ...errorRate, kind: 'latency', params: { percentile: 42, thresholdMs: 10 } }, ['body.params.percentile']],
      [{ ...errorRate, kind: 'request-rate', params: {} }, ['body.params.below']],
      [{ ...errorRate, webhookUrl: 'file:///etc/passwd' }, ['body.webhookUrl']],
      [{ ...errorRate, service: 'web' }, ['body.service']],
      [{ name: 'drops', kind: 'ingestion-drops', service: 'shop/web', params: { threshold: 1 } }, ['body.service']],
      [{ ...errorRate, kind: 'cpu' }, ['body.kind']],
      [{ ...errorRate, severity: 'page' }, ['body.severity']],
      [{ ...errorRate, forMs: -5 }, ['body.forMs']],
      [{ ...errorRate, forMs: '60s' }, ['body.forMs']],
      [{ ...errorRate, enabled: 'yes' }, ['body.enabled']],
      [{ ...errorRate, color: 'red' }, ['body.color']],
      [{ kind: 'nacks' }, ['body.name']],
      [{ ...errorRate, name: 'Web Errors' }, ['body.name']],
    ];
    for (const [body, paths] of cases) expectProblem(await h.call('POST', RULES, body), 400, 'validation-failed', paths);
    expect(await ruleCount()).toBe(before);
  });

  it('replaces a rule whole, and answers dry runs without storing', async () => {
    const replaced = await h.call('PUT', `${RULES}/${id}`, { name: 'web-latency', kind: 'latency', service: 'shop/web', params: { percentile: 99, thresholdMs: 250 }, severity: 'critical' });
    expect(replaced.statusCode, replaced.body).toBe(200);
    expect(replaced.json()).toMatchObject({ id, name: 'web-latency', kind: 'latency', params: { percentile: 99, thresholdMs: 250, windowMs: 300_000, minRequests: 10 }, forMs: 0, webhookUrl: null });

    const dry = await h.call('PUT', `${RULES}/${id}?dryRun=true`, { name: 'renamed', kind: 'nacks' });
    expect(dry.statusCode, dry.body).toBe(200);
    expect(dry.json()).toMatchObject({ dryRun: true, alertRule: { id, name: 'renamed', kind: 'nacks' }, changes: [], issues: [] });
    const created = await h.call('POST', `${RULES}?dryRun=true`, { name: 'dry', kind: 'nacks' });
    expect(created.json()).toMatchObject({ dryRun: true, alertRule: { name: 'dry' } });
    expect((await h.call('DELETE', `${RULES}/${id}?dryRun=true`)).json()).toMatchObject({ dryRun: true, alertRule: { id } });
    expect((await h.call('GET', RULES)).json().items.map((r: { name: string }) => r.name)).toEqual(['web-latency']);
    expectProblem(await h.call('PUT', `${RULES}/${id}?dryRun=true`, { name: 'x', kind: 'nacks', params: { a: 1 } }), 400, 'validation-failed', ['body.params.a']);
  });

  it('answers 404 for a rule that does not exist or a malformed id', async () => {
    const ghost = '00000000-0000-4000-8000-000000000000';
    expectProblem(await h.call('GET', `${RULES}/${ghost}`), 404, 'not-found');
    expectProblem(await h.call('GET', `${RULES}/nope`), 404, 'not-found');
    expectProblem(await h.call('PUT', `${RULES}/${ghost}`, { name: 'x', kind: 'nacks' }), 404, 'not-found');
    expectProblem(await h.call('DELETE', `${RULES}/${ghost}`), 404, 'not-found');
    expectProblem(await h.call('DELETE', `${RULES}/nope`), 404, 'not-found');
  });
});

describe('alerts', () => {
  const T0 = Date.parse('2025-03-01T12:00:00Z');
  const at = (s: number) => new Date(T0 + s * 1000);
  let ruleId: string;
  let ids: string[];

  beforeAll(async () => {
    ruleId = (await h.call('POST', RULES, { name: 'proxy-nacks', kind: 'nacks', webhookUrl: 'http://hooks/x' })).json().id;
    const open = (subject: string, s: number, state: 'pending' | 'firing') =>
      ({ type: 'open', ruleId, ruleName: 'proxy-nacks', subject, state, severity: 'warning', value: 1, message: `${subject} NACKed`, at: at(s) }) as const;
    const applied = await applyAlertChanges(h.db, [open('p1', 0, 'firing'), open('p2', 100, 'firing'), open('p3', 200, 'pending')]);
    ids = applied.map((a) => a.row!.id);
    await applyAlertChanges(h.db, [{ type: 'resolve', alertId: ids[0]!, at: at(300) }]);
    await recordDelivery(h.db, ids[0]!, { event: 'firing', at: at(1).toISOString(), attempt: 1, status: 204, ok: true });
  });

  const subjects = async (query: string) => {
    const res = await h.call('GET', `/api/v1/alerts${query}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json().items.map((a: { subject: string }) => a.subject);
  };

  it('lists alerts newest first, filtered by state, rule (id or name) and time, up to a limit', async () => {
    expect(await subjects('')).toEqual(['p3', 'p2', 'p1']);
    expect(await subjects('?state=firing')).toEqual(['p2']);
    expect(await subjects(`?rule=${ruleId}&state=resolved`)).toEqual(['p1']);
    expect(await subjects('?rule=proxy-nacks&limit=2')).toEqual(['p3', 'p2']);
    expect(await subjects('?rule=other')).toEqual([]);
    expect(await subjects(`?since=${encodeURIComponent(at(250).toISOString())}`)).toEqual(['p1']);
    expect((await h.call('GET', '/api/v1/alerts?limit=1')).json().truncated).toBe(true);
  });

  it('shows one alert with its webhook deliveries', async () => {
    const res = await h.call('GET', `/api/v1/alerts/${ids[0]}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      id: ids[0],
      ruleId,
      ruleName: 'proxy-nacks',
      subject: 'p1',
      state: 'resolved',
      severity: 'warning',
      value: 1,
      message: 'p1 NACKed',
      startedAt: at(0).toISOString(),
      firedAt: at(0).toISOString(),
      resolvedAt: at(300).toISOString(),
      deliveries: [{ event: 'firing', at: at(1).toISOString(), attempt: 1, status: 204, ok: true }],
    });
    expectProblem(await h.call('GET', '/api/v1/alerts/00000000-0000-4000-8000-000000000000'), 404, 'not-found');
    expectProblem(await h.call('GET', '/api/v1/alerts/nope'), 404, 'not-found');
  });

  it('answers 400 naming a bad query field', async () => {
    expectProblem(await h.call('GET', '/api/v1/alerts?state=open'), 400, 'validation-failed', ['query.state']);
    expectProblem(await h.call('GET', '/api/v1/alerts?limit=0'), 400, 'validation-failed', ['query.limit']);
    expectProblem(await h.call('GET', '/api/v1/alerts?since=yesterday'), 400, 'validation-failed', ['query.since']);
    expectProblem(await h.call('GET', '/api/v1/alerts?page=2'), 400, 'validation-failed', ['query.page']);
  });

  it('deleting the rule resolves its firing alerts and drops its pending ones; the history stays', async () => {
    expect((await h.call('DELETE', `${RULES}/${ruleId}`)).statusCode).toBe(204);
    const items = (await h.call('GET', '/api/v1/alerts?rule=proxy-nacks')).json().items;
    expect(items.map((a: { subject: string; state: string; ruleId: string | null }) => [a.subject, a.state, a.ruleId])).toEqual([
      ['p2', 'resolved', null],
      ['p1', 'resolved', null],
    ]);
  });
});
