/**
 * Leader election for singleton jobs: the replica holding a PostgreSQL session-level advisory lock leads.
 * If its connection dies the lock is released by the server, and another replica takes it at its next try.
 */
import type { Database, Session } from './db.ts';
import { LOCK_KEYS } from './migrate.ts';

/** Tries to take (or keep) leadership; `isLeader` tells the current answer. */
export class LeaderElector {
  private session: Session | undefined;
  private leader = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly database: Database,
    private readonly intervalMs: number,
    private readonly onChange: (leader: boolean) => void = () => {},
  ) {}

  /** Makes a first attempt and keeps trying every interval. */
  async start(): Promise<void> {
    await this.attempt();
    this.timer = setInterval(() => void this.attempt(), this.intervalMs);
    this.timer.unref();
  }

  /** True while this replica holds the lock. */
  get isLeader(): boolean {
    return this.leader;
  }

  /** One attempt: a live session that holds the lock keeps it; a lost session is replaced. */
  async attempt(): Promise<boolean> {
    try {
      this.session ??= await this.database.session();
      if (this.leader) {
        // The lock lives as long as the session: a leader only checks that its session is alive
        // (taking the lock again would stack it, and on PGlite every elector would lead).
        await this.session.query('select 1');
        return true;
      }
      const { rows } = await this.session.query('select pg_try_advisory_lock($1) as locked', [LOCK_KEYS.leader]);
      this.set(rows[0]?.locked === true);
    } catch {
      const lost = this.session;
      this.session = undefined;
      await lost?.release();
      this.set(false);
    }
    return this.leader;
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
    if (this.session && this.leader) await this.session.query('select pg_advisory_unlock($1)', [LOCK_KEYS.leader]).catch(() => {});
    await this.session?.release();
    this.session = undefined;
    this.set(false);
  }
}
