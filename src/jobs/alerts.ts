/**
 * The leader's alert evaluator: every interval it reads the enabled rules, gathers what their kinds
 * measure (traffic windows from the rollups, endpoint health, expiring certificates, NACKs, ingestion
 * drops), evaluates them against the open alerts (src/analytics/alert-eval.ts), stores the
 * transitions in one transaction, then hands firing and resolved events to the webhook dispatcher,
 * which delivers them in the background.
 */
import type { Observation, ServiceTraffic } from '../analytics/alert-conditions.ts';
import { evaluateAlerts, eventOf, type AlertTransition, type RuleRound } from '../analytics/alert-eval.ts';
import { checkAlertRule, type AlertRule } from '../analytics/alert-rules.ts';
import { webhookPayload } from '../analytics/alert-views.ts';
import { DropWindow, droppedOf } from '../analytics/drop-window.ts';
import type { LatencyHistogram } from '../analytics/histogram.ts';
import { proxyNacksOf } from '../analytics/proxy-nacks.ts';
import { applyAlertChanges, listAlertRules, openAlerts } from '../registry/alerts.ts';
import { serviceHealth } from '../registry/endpoints.ts';
import { liveReplicas } from '../registry/replicas.ts';
import { expiringCertificates, listAuthorities } from '../registry/ca.ts';
import type { Db } from '../registry/db.ts';
import type { AlertRow, AlertRuleRow } from '../registry/schema.ts';
import { startPeriodicJob } from './periodic.ts';
import { WebhookDispatcher, type WebhookSettings } from './alert-webhooks.ts';

/** One service's traffic over a window, merged over replicas (what the rollups give). */
export interface ServiceWindow {
  /** `<namespace>/<name>`. */
  service: string;
  requests: number;
  status5xx: number;
  latency: LatencyHistogram;
}

/** Where measurements the registry does not hold come from (wired by main.ts). */
export interface AlertSources {
  /** Requests, 5xx and latency per service over the `windowMs` ending at `now`. Without it, traffic rules are not evaluated. */
  serviceWindows?(windowMs: number, now: Date): Promise<ServiceWindow[]>;
}

export interface AlertEvaluatorOptions {
  db: Db;
  isLeader: () => boolean;
  intervalMs: number;
  sources: AlertSources;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** For webhooks; the global fetch by default. */
  fetch?: typeof fetch;
  now?: () => Date;
  /** Replicas whose heartbeat is older are left out of NACKs and ingestion drops (default 30 s). */
  replicaFreshMs?: number;
  /** Webhook timeout, attempts and back-off (defaults: 5 s, 3, 1 s doubling). */
  webhooks?: Partial<WebhookSettings>;
}

export interface AlertEvaluator {
  /** Runs a round now (after the one in flight); resolves with the number of transitions stored. */
  runOnce(): Promise<number>;
  /** Resolves when the webhook deliveries queued so far have settled (tests). */
  deliveries(): Promise<void>;
  /** Stops the timer, waits for the round in flight, abandons the deliveries in flight (recording it) and waits for them. */
  stop(): Promise<void>;
}

/** The rule a stored row describes, or undefined when it no longer validates (logged, left alone). */
function ruleOf(row: AlertRuleRow): AlertRule | undefined {
  const { id, createdAt: _c, updatedAt: _u, ...body } = row;
  const checked = checkAlertRule(body, 'rule');
  return checked.ok ? { ...checked.value, id } : undefined;
}

/** Memoizes each measurement for one round, so rules sharing a source read it once. */
class RoundSources {
  private readonly cache = new Map<string, Promise<unknown>>();
  constructor(
    private readonly opts: AlertEvaluatorOptions,
    private readonly drops: DropWindow,
    private readonly now: Date,
    private readonly expiryHorizonMs: number,
  ) {}

  private once<T>(key: string, load: () => Promise<T>): Promise<T> {
    let p = this.cache.get(key) as Promise<T> | undefined;
    if (!p) this.cache.set(key, (p = load()));
    return p;
  }

  private endpoints = () => this.once('endpoints', async () => (await serviceHealth(this.opts.db)).map((s) => ({ service: s.service, endpoints: s.total, healthy: s.healthy })));

  private replicas = () =>
    this.once('replicas', async () => {
      const reports = await liveReplicas(this.opts.db, this.opts.replicaFreshMs ?? 30_000);
      this.drops.record(this.now, new Map(reports.map((r) => [r.id, droppedOf(r.telemetry)])));
      return reports;
    });

  private traffic = (windowMs: number) =>
    this.once(`traffic:${windowMs}`, async (): Promise<ServiceTraffic[] | null> => {
      const windows = this.opts.sources.serviceWindows;
      return windows ? windows(windowMs, this.now) : null;
    });

  private certificates = () =>
    this.once('certificates', async () => {
      const by = new Date(this.now.getTime() + this.expiryHorizonMs);
      const [workloads, authorities] = await Promise.all([expiringCertificates(this.opts.db, by), listAuthorities(this.opts.db, ['active'])]);
      return [
        ...workloads.map((c) => ({ subject: c.spiffeId, service: `${c.namespace}/${c.service}`, notAfter: c.notAfter })),
        ...authorities.map((a) => ({ subject: `ca/${a.role}/${a.id}`, service: null, notAfter: a.notAfter })),
      ];
    });

  /** What `rule` observes this round; null when its traffic source is not wired. */
  async observe(rule: AlertRule): Promise<Observation | null> {
    switch (rule.kind) {
      case 'error-rate':
      case 'latency':
      case 'request-rate': {
        const [services, known] = await Promise.all([this.traffic(rule.params.windowMs), this.endpoints()]);
        return services && { kind: 'traffic', services, known: known.map((s) => s.service) };
      }
      case 'endpoint-health':
        return { kind: 'endpoints', services: await this.endpoints() };
      case 'certificate-expiry':
        return { kind: 'certificates', certificates: await this.certificates() };
      case 'nacks':
        return { kind: 'nacks', proxies: proxyNacksOf((await this.replicas()).map((r) => r.proxies)) };
      case 'ingestion-drops':
        await this.replicas();
        return { kind: 'drops', dropped: this.drops.droppedWithin(rule.params.windowMs, this.now) };
    }
  }
}

const longest = (rules: AlertRule[], of: (r: AlertRule) => number | undefined) => Math.max(0, ...rules.map((r) => of(r) ?? 0));

/** Starts the evaluator; it only evaluates while `isLeader()`. */
export function startAlertEvaluator(opts: AlertEvaluatorOptions): AlertEvaluator {
  const now = opts.now ?? (() => new Date());
  const drops = new DropWindow();
  const webhooks = new WebhookDispatcher({ db: opts.db, log: opts.log, fetch: opts.fetch, now, settings: opts.webhooks });
  const invalid = new Set<string>();
  let stopped = false;
  let current: Promise<number> | undefined;

  const measure = async (rules: AlertRule[], at: Date): Promise<RuleRound[]> => {
    const enabled = rules.filter((r) => r.enabled);
    const sources = new RoundSources(opts, drops, at, longest(enabled, (r) => (r.kind === 'certificate-expiry' ? r.params.withinMs : undefined)));
    const rounds = await Promise.all(
      rules.map(async (rule): Promise<RuleRound | undefined> => {
        if (!rule.enabled) return { rule, observation: null };
        try {
          const observation = await sources.observe(rule);
          return observation ? { rule, observation } : undefined;
        } catch (err) {
          opts.log.warn({ rule: rule.name, err: (err as Error).message }, 'could not measure an alert rule; its alerts stay as they are');
          return undefined;
        }
      }),
    );
    drops.prune(at, longest(enabled, (r) => (r.kind === 'ingestion-drops' ? r.params.windowMs : undefined)));
    return rounds.filter((r): r is RuleRound => r !== undefined);
  };

  const notify = (rows: Map<string, AlertRuleRow>, applied: { change: AlertTransition; row: AlertRow | undefined }[]) => {
    for (const { change, row } of applied) {
      if (!row) continue;
      const event = eventOf(change);
      opts.log.info({ rule: row.ruleName, subject: row.subject, transition: change.type, state: row.state }, row.message);
      const rule = rows.get(change.ruleId);
      if (event && rule?.webhookUrl) webhooks.send({ alertId: row.id, url: rule.webhookUrl, event, payload: webhookPayload(event, row, rule) });
    }
  };

  const round = async (): Promise<number> => {
    if (stopped || !opts.isLeader()) return 0;
    const at = now();
    const rows = await listAlertRules(opts.db);
    const rules: AlertRule[] = [];
    for (const row of rows) {
      const rule = ruleOf(row);
      if (rule) rules.push(rule);
      else if (!invalid.has(row.id)) {
        invalid.add(row.id);
        opts.log.warn({ rule: row.name }, 'a stored alert rule does not validate; it is not evaluated');
      }
    }
    const rounds = await measure(rules, at);
    const open = await openAlerts(opts.db);
    const transitions = evaluateAlerts(rounds, open, at);
    const applied = await applyAlertChanges(opts.db, transitions);
    notify(new Map(rows.map((r) => [r.id, r])), applied);
    return applied.filter((a) => a.row).length;
  };

  const tracked = () => {
    const run = round();
    current = run.catch(() => 0);
    return run;
  };
  const job = startPeriodicJob(opts.intervalMs, tracked, (err) => opts.log.warn({ err: err.message }, 'alert evaluation failed; will retry'));
  return {
    runOnce: () => job.runOnce(),
    deliveries: () => webhooks.idle(),
    async stop() {
      stopped = true;
      job.stop();
      await current;
      await webhooks.close();
    },
  };
}
