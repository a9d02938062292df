/** The alert evaluator against a real database and a real local webhook receiver. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq, sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { openTestCa } from '../../test/support/api.ts';
import { useTestDatabase } from '../../test/support/test-db.ts';
import { checkAlertRule } from '../analytics/alert-rules.ts';
import { LatencyHistogram } from '../analytics/histogram.ts';
import { createAlertRule, listAlerts } from '../registry/alerts.ts';
import { endpoints, replicas, services } from '../registry/schema.ts';
import { startAlertEvaluator, type AlertEvaluator, type AlertEvaluatorOptions, type ServiceWindow } from './alerts.ts';

const fixture = useTestDatabase(['alerts', 'alert_rules', 'replicas']);
const T0 = new Date('2025-03-01T12:00:00Z');

const log = { info: () => {}, warn: () => {} };
let running: AlertEvaluator[] = [];
let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const e of running) await e.stop();
  for (const c of closers) await c();
  running = [];
  closers = [];
});

/** Stores a rule from an API-shaped body. */
async function rule(body: Record<string, unknown>) {
  const checked = checkAlertRule(body);
  if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
  const created = await createAlertRule(fixture.db, checked.value);
  if (!created.ok) throw new Error(created.detail);
  return created.value;
}

/** An evaluator on a long timer (tests call runOnce), webhooks retried after 10 ms. */
function evaluator(opts: Partial<AlertEvaluatorOptions> = {}): AlertEvaluator {
  const e = startAlertEvaluator({ db: fixture.db, isLeader: () => true, intervalMs: 3_600_000, sources: {}, log, webhooks: { backoffMs: 10, timeoutMs: 2000 }, ...opts });
  running.push(e);
  return e;
}

/** A webhook receiver on port 0 answering the statuses given in turn (204 after them), or never answering with `hang`. */
async function receiver(statuses: number[] = [], hang = false) {
  const received: any[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ contentType: req.headers['content-type'], method: req.method, body: JSON.parse(body) });
      if (!hang) res.writeHead(statuses.shift() ?? 204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

const alertsOf = async (ruleId: string) => listAlerts(fixture.db, { ruleId });

describe('alert evaluator', () => {
  it('fires a rule after forMs and resolves it, delivering both webhooks (a 500 retried)', async () => {
    const hook = await receiver([500]);
    const r = await rule({ name: 'web-errors', kind: 'error-rate', service: 'shop/web', params: { threshold: 0.1, windowMs: 60_000 }, forMs: 120_000, severity: 'critical', webhookUrl: hook.url });
    let clock = T0;
    let failing = 50;
    const asked: number[] = [];
    const serviceWindows = async (windowMs: number, now: Date): Promise<ServiceWindow[]> => {
      asked.push(windowMs);
      expect(now).toEqual(clock);
      return [{ service: 'shop/web', requests: 100, status5xx: failing, latency: new LatencyHistogram() }];
    };
    const e = evaluator({ sources: { serviceWindows }, now: () => clock });
    const step = async (seconds: number) => {
      clock = new Date(T0.getTime() + seconds * 1000);
      const n = await e.runOnce();
      await e.deliveries();
      return n;
    };

    expect(await step(0)).toBe(1);
    expect(await alertsOf(r.id)).toMatchObject([{ state: 'pending', subject: 'shop/web', value: 0.5, startedAt: T0, firedAt: null }]);
    expect(await step(60)).toBe(0);
    expect(hook.received).toEqual([]);

    expect(await step(120)).toBe(1);
    const [fired] = await alertsOf(r.id);
    expect(fired).toMatchObject({ state: 'firing', severity: 'critical', firedAt: new Date(T0.getTime() + 120_000) });
    expect(hook.received).toHaveLength(2);
    expect(hook.received[1]).toEqual(hook.received[0]);
    expect(hook.received[0]).toMatchObject({ method: 'POST', contentType: 'application/json' });
    expect(hook.received[0].body).toEqual({
      event: 'firing',
      alert: expect.objectContaining({ id: fired!.id, ruleId: r.id, ruleName: 'web-errors', subject: 'shop/web', state: 'firing', severity: 'critical', value: 0.5 }),
      rule: expect.objectContaining({ id: r.id, name: 'web-errors', kind: 'error-rate', params: { threshold: 0.1, windowMs: 60_000, minRequests: 10 } }),
    });
    expect(hook.received[0].body.rule.webhookUrl).toBeUndefined();
    expect(fired!.deliveries).toEqual([
      { event: 'firing', at: expect.any(String), attempt: 1, status: 500, ok: false, error: 'HTTP 500' },
      { event: 'firing', at: expect.any(String), attempt: 2, status: 204, ok: true },
    ]);

    failing = 1;
    expect(await step(180)).toBe(1);
    const [resolved] = await alertsOf(r.id);
    expect(resolved).toMatchObject({ id: fired!.id, state: 'resolved', resolvedAt: new Date(T0.getTime() + 180_000) });
    expect(hook.received.map((x) => [x.body.event, x.body.alert.state])).toEqual([['firing', 'firing'], ['firing', 'firing'], ['resolved', 'resolved']]);
    expect(resolved!.deliveries).toHaveLength(3);
    expect(asked).toEqual([60_000, 60_000, 60_000, 60_000]);
  });

  it('gives up after the last attempt, recording each, and does not retry a 4xx', async () => {
    const hook = await receiver([503, 503, 503, 400]);
    const r = await rule({ name: 'drops', kind: 'nacks', webhookUrl: hook.url });
    await fixture.db.insert(replicas).values({ id: 'r1', apiUrl: 'http://r1', proxies: [{ id: 'p1', streams: [{ types: { cds: { state: 'error' } } }] }] });
    const e = evaluator();
    await e.runOnce();
    await e.deliveries();
    const [alert] = await alertsOf(r.id);
    expect((alert!.deliveries as { status: number }[]).map((d) => d.status)).toEqual([503, 503, 503]);
    await fixture.db.update(replicas).set({ proxies: [] });
    await e.runOnce();
    await e.deliveries();
    const [resolved] = await alertsOf(r.id);
    expect((resolved!.deliveries as { status: number; event: string }[]).map((d) => `${d.event} ${d.status}`)).toEqual(['firing 503', 'firing 503', 'firing 503', 'resolved 400']);
  });

  it('fires certificate-expiry for a certificate that expires within the window, not for CA certificates beyond it', async () => {
    const ca = await openTestCa(fixture.db);
    const issued = await ca.issue('shop', 'web', 'cli');
    if (!issued.ok) throw new Error('not issued');
    const soon = await rule({ name: 'certs-2d', kind: 'certificate-expiry', params: { withinMs: 2 * 86_400_000 } });
    const later = await rule({ name: 'certs-1h', kind: 'certificate-expiry', params: { withinMs: 3_600_000 } });
    await evaluator().runOnce();
    expect(await alertsOf(soon.id)).toMatchObject([
      { subject: 'spiffe://mesh.local/ns/shop/sa/web', state: 'firing', message: expect.stringMatching(/^certificate spiffe:\/\/mesh.local\/ns\/shop\/sa\/web expires in (1d|23h\d+m) /) },
    ]);
    expect(await alertsOf(later.id)).toEqual([]);
  });

  it('fires endpoint-health for a service with too few healthy endpoints, and resolves when they recover', async () => {
    const [web] = await fixture.db.insert(services).values({ namespace: 'shop', name: 'web', protocol: 'http', port: 80 }).returning();
    await fixture.db.insert(endpoints).values(['healthy', 'unhealthy', 'unhealthy'].map((health, i) => ({ serviceId: web!.id, address: `10.1.0.${i}`, port: 80, health })));
    const r = await rule({ name: 'health', kind: 'endpoint-health', params: { minHealthyRatio: 0.5 } });
    const e = evaluator();
    await e.runOnce();
    expect(await alertsOf(r.id)).toMatchObject([{ subject: 'shop/web', state: 'firing', message: 'shop/web: 1 of 3 endpoints healthy (33.33%, minimum 50%)' }]);
    await fixture.db.update(endpoints).set({ health: 'healthy' }).where(eq(endpoints.serviceId, web!.id));
    await e.runOnce();
    expect(await alertsOf(r.id)).toMatchObject([{ subject: 'shop/web', state: 'resolved' }]);
    await fixture.db.delete(services);
  });

  it('fires nacks for a proxy whose last response was NACKed, from fresh replicas rows only', async () => {
    const view = (id: string, state: string) => ({ id, namespace: 'shop', service: 'web', streams: [{ id: 's', types: { lds: { state, lastNack: { version: 'v7', errorDetail: 'bad filter' } } } }] });
    await fixture.db.insert(replicas).values([
      { id: 'r1', apiUrl: 'http://r1', proxies: [view('web-1', 'error'), view('web-2', 'synced')] },
      { id: 'gone', apiUrl: 'http://gone', proxies: [view('web-3', 'error')], seenAt: sql`now() - interval '1 hour'` },
    ]);
    const r = await rule({ name: 'nacks', kind: 'nacks', service: 'shop/web' });
    await evaluator().runOnce();
    expect(await alertsOf(r.id)).toMatchObject([{ subject: 'web-1', state: 'firing', value: 1, message: 'proxy web-1 rejected its configuration (lds version v7: bad filter)' }]);
  });

  it('fires ingestion-drops on the increase of the replicas’ drop counters over the window', async () => {
    await fixture.db.insert(replicas).values({ id: 'r1', apiUrl: 'http://r1', telemetry: { accepted: 100, written: 100, droppedFull: 0, droppedFailed: 0 } });
    const r = await rule({ name: 'drops', kind: 'ingestion-drops', params: { threshold: 5, windowMs: 60_000 } });
    let clock = T0;
    const e = evaluator({ now: () => clock });
    await e.runOnce();
    await fixture.db.update(replicas).set({ telemetry: { droppedFull: 4, droppedFailed: 3 } });
    clock = new Date(T0.getTime() + 30_000);
    await e.runOnce();
    expect(await alertsOf(r.id)).toMatchObject([{ subject: 'mesh', state: 'firing', value: 7 }]);
    clock = new Date(T0.getTime() + 120_000);
    await e.runOnce();
    expect(await alertsOf(r.id)).toMatchObject([{ subject: 'mesh', state: 'resolved' }]);
  });

  it('does nothing on a replica that does not lead, and leaves a rule alone when its source fails', async () => {
    const r = await rule({ name: 'latency', kind: 'latency', params: { percentile: 99, thresholdMs: 100, minRequests: 1 } });
    const slow = new LatencyHistogram();
    slow.record(500);
    let fail = false;
    const serviceWindows = async () => {
      if (fail) throw new Error('rollups unavailable');
      return [{ service: 'shop/web', requests: 1, status5xx: 0, latency: slow }];
    };
    let leader = false;
    const warnings: string[] = [];
    const e = evaluator({ isLeader: () => leader, sources: { serviceWindows }, log: { info: () => {}, warn: (_o, msg) => warnings.push(msg) } });
    expect(await e.runOnce()).toBe(0);
    expect(await alertsOf(r.id)).toEqual([]);
    leader = true;
    expect(await e.runOnce()).toBe(1);
    fail = true;
    expect(await e.runOnce()).toBe(0);
    expect(await alertsOf(r.id)).toMatchObject([{ state: 'firing', value: 500 }]);
    expect(warnings).toContain('could not measure an alert rule; its alerts stay as they are');
  });

  it('abandons deliveries in flight on stop, recording the attempt, without waiting for the timeout', async () => {
    const hook = await receiver([], true);
    const r = await rule({ name: 'stuck', kind: 'nacks', webhookUrl: hook.url });
    await fixture.db.insert(replicas).values({ id: 'r1', apiUrl: 'http://r1', proxies: [{ id: 'p1', streams: [{ types: { cds: { state: 'error' } } }] }] });
    const e = startAlertEvaluator({ db: fixture.db, isLeader: () => true, intervalMs: 3_600_000, sources: {}, log, webhooks: { timeoutMs: 60_000 } });
    await e.runOnce();
    await expect.poll(() => hook.received.length).toBe(1);
    const started = Date.now();
    await e.stop();
    expect(Date.now() - started).toBeLessThan(5000);
    const [alert] = await alertsOf(r.id);
    expect(alert!.deliveries).toEqual([{ event: 'firing', at: expect.any(String), attempt: 1, status: null, ok: false, error: 'abandoned: the control plane is stopping' }]);
  });
});
