/** The alert tables: rules (names unique), alert history and its transitions, deliveries, and the measurement queries. */
import { serviceHealth } from './endpoints.ts';
import { liveReplicas } from './replicas.ts';
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../test/support/test-db.ts';
import {
  applyAlertChanges,
  createAlertRule,
  deleteAlertRule,
  getAlert,
  getAlertRule,
  listAlertRules,
  listAlerts,
  openAlerts,
  recordDelivery,
  updateAlertRule,
  type AlertRuleInput,
} from './alerts.ts';
import { countExpiringCertificates, expiringCertificates, recordCertificate } from './ca.ts';
import { endpoints, replicas, services } from './schema.ts';

const fixture = useTestDatabase(['alerts', 'alert_rules']);
const T0 = new Date('2025-03-01T12:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

const input = (name: string, extra: Partial<AlertRuleInput> = {}): AlertRuleInput => ({
  name,
  description: null,
  kind: 'ingestion-drops',
  service: null,
  params: { threshold: 10, windowMs: 300_000 },
  forMs: 0,
  severity: 'warning',
  webhookUrl: null,
  enabled: true,
  ...extra,
});

async function rule(name: string, extra: Partial<AlertRuleInput> = {}) {
  const r = await createAlertRule(fixture.db, input(name, extra));
  if (!r.ok) throw new Error(r.detail);
  return r.value;
}

const open = (ruleId: string, subject: string, s: number, state: 'pending' | 'firing' = 'firing') =>
  ({ type: 'open', ruleId, ruleName: 'r', subject, state, severity: 'warning', value: 1, message: `${subject} at ${s}`, at: at(s) }) as const;

describe('alert rules', () => {
  it('creates, lists by name, reads, replaces and deletes rules; a name is unique', async () => {
    const b = await rule('b-rule');
    const a = await rule('a-rule', { kind: 'nacks', params: {}, webhookUrl: 'http://hooks/x' });
    expect((await listAlertRules(fixture.db)).map((r) => r.name)).toEqual(['a-rule', 'b-rule']);
    expect(await getAlertRule(fixture.db, a.id)).toMatchObject({ kind: 'nacks', params: {}, webhookUrl: 'http://hooks/x', enabled: true });
    expect(await createAlertRule(fixture.db, input('a-rule'))).toMatchObject({ ok: false, reason: 'conflict' });
    expect(await updateAlertRule(fixture.db, b.id, input('a-rule'))).toMatchObject({ ok: false, reason: 'conflict' });
    const updated = await updateAlertRule(fixture.db, b.id, input('b-rule', { enabled: false, forMs: 5000 }));
    expect(updated).toMatchObject({ ok: true, value: { id: b.id, enabled: false, forMs: 5000 } });
    expect((await listAlertRules(fixture.db)).map((r) => [r.name, r.enabled])).toEqual([['a-rule', true], ['b-rule', false]]);
    expect(await updateAlertRule(fixture.db, randomUUID(), input('x'))).toMatchObject({ ok: false, reason: 'not-found' });
    expect(await deleteAlertRule(fixture.db, a.id, T0)).toMatchObject({ ok: true, value: { id: a.id } });
    expect(await getAlertRule(fixture.db, a.id)).toBeUndefined();
    expect(await deleteAlertRule(fixture.db, a.id, T0)).toMatchObject({ ok: false, reason: 'not-found' });
  });

  it('deleting a rule drops its pending alerts and resolves its firing ones, which stay in the history', async () => {
    const r = await rule('doomed');
    await applyAlertChanges(fixture.db, [open(r.id, 'x', 0, 'pending'), open(r.id, 'y', 0, 'firing')]);
    await deleteAlertRule(fixture.db, r.id, at(60));
    expect(await listAlerts(fixture.db)).toMatchObject([{ subject: 'y', state: 'resolved', resolvedAt: at(60), ruleId: null, ruleName: 'r' }]);
  });
});

describe('alerts', () => {
  it('applies transitions in one go; a transition another writer already made does nothing', async () => {
    const r = await rule('drops');
    const [opened, twice] = await applyAlertChanges(fixture.db, [open(r.id, 'mesh', 0, 'pending'), open(r.id, 'mesh', 1, 'pending')]);
    expect(opened!.row).toMatchObject({ state: 'pending', firedAt: null, startedAt: at(0) });
    expect(twice!.row).toBeUndefined();
    const id = opened!.row!.id;
    expect(await openAlerts(fixture.db)).toMatchObject([{ id, state: 'pending' }]);

    const [fired] = await applyAlertChanges(fixture.db, [{ type: 'fire', alertId: id, value: 42, message: 'now 42', at: at(60) }]);
    expect(fired!.row).toMatchObject({ state: 'firing', firedAt: at(60), value: 42, message: 'now 42' });
    const [stale] = await applyAlertChanges(fixture.db, [{ type: 'drop', alertId: id }]);
    expect(stale!.row).toBeUndefined();
    const [resolved] = await applyAlertChanges(fixture.db, [{ type: 'resolve', alertId: id, at: at(120) }]);
    expect(resolved!.row).toMatchObject({ state: 'resolved', resolvedAt: at(120), value: 42 });
    expect(await openAlerts(fixture.db)).toEqual([]);

    // Resolved, the subject can open again.
    const [again] = await applyAlertChanges(fixture.db, [open(r.id, 'mesh', 180, 'pending')]);
    const [dropped] = await applyAlertChanges(fixture.db, [{ type: 'drop', alertId: again!.row!.id }]);
    expect(dropped!.row).toMatchObject({ id: again!.row!.id });
    expect(await getAlert(fixture.db, again!.row!.id)).toBeUndefined();
  });

  it('lists newest first, filtered by state, rule and time, up to a limit', async () => {
    const r1 = await rule('one');
    const r2 = await rule('two');
    await applyAlertChanges(fixture.db, [open(r1.id, 'a', 0), open(r1.id, 'b', 100, 'pending'), open(r2.id, 'c', 200)]);
    const [a] = await listAlerts(fixture.db, { state: 'firing', ruleId: r1.id });
    await applyAlertChanges(fixture.db, [{ type: 'resolve', alertId: a!.id, at: at(300) }]);
    const subjects = async (filter: Parameters<typeof listAlerts>[1], limit?: number) => (await listAlerts(fixture.db, filter, limit)).map((x) => x.subject);
    expect(await subjects({})).toEqual(['c', 'b', 'a']);
    expect(await subjects({}, 2)).toEqual(['c', 'b']);
    expect(await subjects({ state: 'firing' })).toEqual(['c']);
    expect(await subjects({ ruleId: r1.id })).toEqual(['b', 'a']);
    expect(await subjects({ ruleName: 'r', state: 'resolved' })).toEqual(['a']);
    expect(await subjects({ since: at(150) })).toEqual(['c', 'a']);
    expect(await subjects({ since: at(301) })).toEqual([]);
  });

  it('appends webhook attempts to an alert’s deliveries', async () => {
    const r = await rule('hooked');
    const row = (await applyAlertChanges(fixture.db, [open(r.id, 'mesh', 0)]))[0]!.row!;
    await recordDelivery(fixture.db, row.id, { event: 'firing', at: at(1).toISOString(), attempt: 1, status: 500, ok: false, error: 'HTTP 500' });
    await recordDelivery(fixture.db, row.id, { event: 'firing', at: at(2).toISOString(), attempt: 2, status: 204, ok: true });
    expect((await getAlert(fixture.db, row.id))!.deliveries).toEqual([
      { event: 'firing', at: at(1).toISOString(), attempt: 1, status: 500, ok: false, error: 'HTTP 500' },
      { event: 'firing', at: at(2).toISOString(), attempt: 2, status: 204, ok: true },
    ]);
  });
});

describe('measurements', () => {
  it('counts each service’s endpoints and healthy endpoints, services without endpoints too', async () => {
    const [web, empty] = await fixture.db
      .insert(services)
      .values([
        { namespace: 'shop', name: 'web', protocol: 'http', port: 80 },
        { namespace: 'shop', name: 'empty', protocol: 'http', port: 80 },
      ])
      .returning();
    await fixture.db.insert(endpoints).values(
      ['healthy', 'unhealthy', 'draining', 'healthy'].map((health, i) => ({ serviceId: web!.id, address: `10.0.0.${i + 1}`, port: 8080, health })),
    );
    expect(empty).toBeDefined();
    expect(await serviceHealth(fixture.db)).toEqual([
      { service: 'shop/empty', protocol: 'http', total: 0, healthy: 0, unhealthy: 0, draining: 0 },
      { service: 'shop/web', protocol: 'http', total: 4, healthy: 2, unhealthy: 1, draining: 1 },
    ]);
  });

  it('reads the proxies and counters of replicas seen lately only', async () => {
    await fixture.db.insert(replicas).values([
      { id: 'fresh', apiUrl: 'http://fresh', proxies: [{ id: 'p1' }], telemetry: { droppedFull: 3 } },
      { id: 'stale', apiUrl: 'http://stale', proxies: [{ id: 'p2' }], seenAt: sql`now() - interval '10 minutes'` },
    ]);
    expect((await liveReplicas(fixture.db, 60_000)).map(({ id, proxies, telemetry }) => ({ id, proxies, telemetry }))).toEqual([{ id: 'fresh', proxies: [{ id: 'p1' }], telemetry: { droppedFull: 3 } }]);
  });

  it('lists the active certificates expiring in the window that were not renewed, as the expiry metric counts them', async () => {
    const now = Date.now();
    const cert = (service: string, channel: 'sds' | 'csr' | 'cli', hours: number) =>
      recordCertificate(fixture.db, {
        namespace: 'shop',
        service,
        spiffeId: `spiffe://mesh.local/ns/shop/sa/${service}`,
        serial: randomUUID().replaceAll('-', ''),
        issuerId: randomUUID(),
        channel,
        certPem: 'PEM',
        notBefore: new Date(now - 3_600_000),
        notAfter: new Date(now + hours * 3_600_000),
      });
    await cert('web', 'cli', 2); // expiring, not renewed
    await cert('cart', 'csr', 1); // renewed below by a later CSR of the same identity
    await cert('cart', 'csr', 20);
    await cert('pay', 'sds', 3); // superseded by its renewal: not active any more
    await cert('pay', 'sds', 23);
    await cert('late', 'cli', 30); // outside the window
    const by = new Date(now + 6 * 3_600_000);
    const rows = await expiringCertificates(fixture.db, by);
    expect(rows.map((r) => [r.service, r.channel])).toEqual([['web', 'cli']]);
    expect(await countExpiringCertificates(fixture.db, by)).toBe(1);
  });
});
