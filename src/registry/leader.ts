/**
 * Leader election for singleton jobs: the replica holding a PostgreSQL session-level advisory lock leads.
 * If its connection dies the lock is released by the server, and another replica takes it at its next try.
 * If the leader goes silent instead (a partition, a stalled process), the server ends its idle session
 * (`idle_session_timeout`) and the leader, getting no answer, steps down: neither waits for TCP (hours).
 */
import type { Database, Session } from './db.ts';
import { LOCK_KEYS } from './migrate.ts';

/** Tries to take (or keep) leadership; `isLeader` tells the current answer. */
export class LeaderElector {
  private session: Session | undefined;
  private leader = false;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<boolean> | undefined;
  private stopped = false;

  constructor(
    private readonly database: Database,
    private readonly intervalMs: number,
    private readonly onChange: (leader: boolean) => void = () => {},
    /** How long PostgreSQL may leave a query unanswered before the session counts as lost. */
    private readonly timeoutMs = 10_000,
  ) {}

  /** Makes a first attempt and keeps trying every interval. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.attempt();
    this.timer = setInterval(() => void this.attempt(), this.intervalMs);
    this.timer.unref();
  }

  /** True while this replica holds the lock. */
  get isLeader(): boolean {
    return this.leader;
  }

  /**
   * One attempt: a live session that holds the lock keeps it; a lost session is replaced. A call made
   * while another is in flight (a connect slower than the interval) shares it: two overlapping attempts
   * would each open a session, and the one overwritten could keep the lock, unreleased, for good.
   */
  attempt(): Promise<boolean> {
    return (this.inflight ??= this.tryOnce().finally(() => (this.inflight = undefined)));
  }

  private async tryOnce(): Promise<boolean> {
    if (this.stopped) return false;
    try {
      if (!this.session) {
        this.session = await this.database.session();
        // The session is used every interval; one idle much longer belongs to a replica that went silent.
        if (this.database.kind === 'postgres') {
          const idleMs = String(this.intervalMs + this.timeoutMs);
          await this.answer(this.session.query(`select set_config(name, $1, false) from pg_settings where name = 'idle_session_timeout'`, [idleMs]));
        }
      }
      if (this.leader) {
        // The lock lives as long as the session: a leader only checks that its session is alive
        // (taking the lock again would stack it, and on PGlite every elector would lead).
        await this.answer(this.session.query('select 1'));
        return true;
      }
      const { rows } = await this.answer(this.session.query('select pg_try_advisory_lock($1) as locked', [LOCK_KEYS.leader]));
      this.set(rows[0]?.locked === true);
    } catch {
      // Releasing also drops a connection whose query is still unanswered.
      const lost = this.session;
      this.session = undefined;
      await lost?.release();
      this.set(false);
    }
    return this.leader;
  }

  /** The query's result, or a failure once it has gone unanswered for the timeout. */
  private answer<T>(query: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from PostgreSQL within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    query.catch(() => {}); // if the timeout wins, the query fails later, when its session is released
    return Promise.race([query, timeout]).finally(() => clearTimeout(timer));
  }

  private set(leader: boolean): void {
    if (leader !== this.leader) {
      this.leader = leader;
      this.onChange(leader);
    }
  }

  /** Gives up leadership and closes the session. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopped = true;
    await this.inflight; // its session, if it opens one, is released below
    if (this.session && this.leader) await this.answer(this.session.query('select pg_advisory_unlock($1)', [LOCK_KEYS.leader])).catch(() => {});
    await this.session?.release();
    this.session = undefined;
    this.set(false);
  }
}
