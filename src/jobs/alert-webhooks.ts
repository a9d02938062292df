/**
 * Webhook deliveries of alert events: a JSON POST with a timeout, retried with exponential back-off
 * on network errors, timeouts, 5xx and 429, every attempt recorded in the alert's `deliveries`.
 * Deliveries run beside the evaluation (never blocking it); the events of one alert go out in order.
 * Closing aborts what is in flight, records that, and waits for every delivery to settle.
 */
import type { Db } from '../registry/db.ts';
import { recordDelivery, type DeliveryAttempt } from '../registry/alerts.ts';

export interface WebhookSettings {
  /** Per attempt (default 5 s). */
  timeoutMs: number;
  /** Attempts in all (default 3). */
  attempts: number;
  /** The wait before the second attempt, doubled before each next one (default 1 s: 1 s, 2 s, 4 s…). */
  backoffMs: number;
}

const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = { timeoutMs: 5000, attempts: 3, backoffMs: 1000 };

export interface WebhookDispatcherOptions {
  db: Db;
  log: { warn(obj: object, msg: string): void };
  fetch?: typeof fetch;
  now?: () => Date;
  settings?: Partial<WebhookSettings>;
}

/** One event for one alert. */
export interface WebhookEvent {
  alertId: string;
  url: string;
  event: DeliveryAttempt['event'];
  payload: unknown;
}

/** Whether an answer (or no answer: null) is worth another attempt. */
const retryable = (status: number | null): boolean => status === null || status === 429 || status >= 500;

/** Sends webhook events in the background and keeps track of them until they settle. */
export class WebhookDispatcher {
  private readonly settings: WebhookSettings;
  private readonly stopping = new AbortController();
  /** The last delivery of each alert: the next one waits for it. */
  private readonly tails = new Map<string, Promise<void>>();
  private readonly fetch: typeof fetch;
  private readonly now: () => Date;

  constructor(private readonly opts: WebhookDispatcherOptions) {
    this.settings = { ...DEFAULT_WEBHOOK_SETTINGS, ...opts.settings };
    this.fetch = opts.fetch ?? globalThis.fetch;
    this.now = opts.now ?? (() => new Date());
  }

  /** Queues an event; it is sent after the alert's earlier events. */
  send(e: WebhookEvent): void {
    if (this.stopping.signal.aborted) return;
    const previous = this.tails.get(e.alertId) ?? Promise.resolve();
    const tail: Promise<void> = previous
      .then(() => this.deliver(e))
      .catch((err: Error) => this.opts.log.warn({ err: err.message, alertId: e.alertId }, 'alert webhook delivery failed'))
      .finally(() => {
        if (this.tails.get(e.alertId) === tail) this.tails.delete(e.alertId);
      });
    this.tails.set(e.alertId, tail);
  }

  /** Resolves when every delivery queued so far has settled. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }

  /** Aborts deliveries in flight and their back-offs (recording the attempt cut short), then waits for them to settle. */
  async close(): Promise<void> {
    this.stopping.abort();
    await this.idle();
  }

  /** Attempts one event until it is delivered, refused for good, out of attempts, or the dispatcher closes. */
  private async deliver(e: WebhookEvent): Promise<void> {
    const body = JSON.stringify(e.payload);
    for (let attempt = 1; attempt <= this.settings.attempts && !this.stopping.signal.aborted; attempt++) {
      const { status, error } = await this.post(e.url, body);
      const ok = status !== null && status >= 200 && status < 300;
      const record: DeliveryAttempt = { event: e.event, at: this.now().toISOString(), attempt, status, ok, ...(error ? { error } : {}) };
      await recordDelivery(this.opts.db, e.alertId, record).catch((err: Error) =>
        this.opts.log.warn({ err: err.message, alertId: e.alertId }, 'could not record an alert webhook attempt'),
      );
      if (ok || !retryable(status)) return;
      if (attempt === this.settings.attempts) {
        this.opts.log.warn({ alertId: e.alertId, event: e.event, status, error }, 'alert webhook not delivered; giving up');
        return;
      }
      await this.pause(this.settings.backoffMs * 2 ** (attempt - 1));
    }
  }

  /** One POST: the status answered, or why there was none. */
  private async post(url: string, body: string): Promise<{ status: number | null; error?: string }> {
    const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.settings.timeoutMs)]);
    try {
      const res = await this.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'apg-mesh-alerts/1' }, body, signal, redirect: 'manual' });
      await res.body?.cancel().catch(() => undefined);
      return { status: res.status, ...(res.ok ? {} : { error: `HTTP ${res.status}` }) };
    } catch (err) {
      if (this.stopping.signal.aborted) return { status: null, error: 'abandoned: the control plane is stopping' };
      const e = err as Error & { cause?: Error };
      const reason = e.name === 'TimeoutError' ? `no answer within ${this.settings.timeoutMs} ms` : (e.cause?.message ?? e.message);
      return { status: null, error: reason };
    }
  }

  /** Waits `ms`, or less when the dispatcher closes. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.stopping.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stopping.signal.addEventListener('abort', done, { once: true });
    });
  }
}
