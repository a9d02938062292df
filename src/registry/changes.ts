/**
 * The change feed. Every write bumps the single revision row inside its own transaction (so commit
 * order is revision order), logs a change row and sends NOTIFY. Readers follow NOTIFY and, because a
 * notification can be lost with its connection, also read the revision periodically to catch up.
 */
import { eq, gt, lt, sql } from 'drizzle-orm';
import type { Database, Db } from './db.ts';
import { changes, meshRevision } from './schema.ts';

export const CHANGES_CHANNEL = 'apg_changes';

export interface ChangeInput {
  kind: 'service' | 'endpoint' | 'route' | 'authz' | 'ca' | 'certificate';
  op: 'create' | 'update' | 'delete';
  namespace: string;
  name: string;
}

/** Records a change inside transaction `tx` and returns its revision; NOTIFY is delivered at commit. */
export async function recordChange(tx: Db, change: ChangeInput): Promise<number> {
  const [row] = await tx
    .update(meshRevision)
    .set({ value: sql`${meshRevision.value} + 1` })
    .where(eq(meshRevision.id, 1))
    .returning({ value: meshRevision.value });
  if (!row) throw new Error('mesh_revision row is missing: migrations did not run');
  await tx.insert(changes).values({ revision: row.value, ...change });
  await tx.execute(sql`select pg_notify(${CHANGES_CHANNEL}, ${String(row.value)})`);
  return row.value;
}

/** The latest committed revision. */
export async function currentRevision(db: Db): Promise<number> {
  const [row] = await db.select({ value: meshRevision.value }).from(meshRevision).where(eq(meshRevision.id, 1));
  return row?.value ?? 0;
}

/** Changes after `revision`, oldest first (at most `limit`). */
export async function changesSince(db: Db, revision: number, limit = 1000) {
  return db.select().from(changes).where(gt(changes.revision, revision)).orderBy(changes.revision).limit(limit);
}

/** Deletes change rows older than `before`; the revision row keeps counting. */
export async function pruneChanges(db: Db, before: Date): Promise<number> {
  const deleted = await db.delete(changes).where(lt(changes.at, before)).returning({ r: changes.revision });
  return deleted.length;
}

export interface ChangeFeedOptions {
  /** How often to read the revision in case a notification was lost (ms). */
  catchUpIntervalMs: number;
  onRevision: (revision: number) => void;
  onError?: (err: Error) => void;
}

/** Follows the registry revision through NOTIFY plus a periodic catch-up read; calls `onRevision` when it advances. */
export class ChangeFeed {
  private seen = 0;
  private timer: NodeJS.Timeout | undefined;
  private unlisten: (() => Promise<void>) | undefined;

  constructor(
    private readonly database: Database,
    private readonly opts: ChangeFeedOptions,
  ) {}

  /** Starts listening; resolves once the first revision was read. */
  async start(): Promise<number> {
    this.unlisten = await this.database.listen(
      CHANGES_CHANNEL,
      (payload) => this.advance(Number(payload)),
      (err) => this.opts.onError?.(err),
      () => void this.catchUp(), // notifications sent while the connection was down were lost
    );
    await this.catchUp();
    this.timer = setInterval(() => void this.catchUp(), this.opts.catchUpIntervalMs);
    this.timer.unref();
    return this.seen;
  }

  /** Reads the current revision now; a failure is reported and retried at the next tick. */
  async catchUp(): Promise<void> {
    try {
      this.advance(await currentRevision(this.database.db));
    } catch (err) {
      this.opts.onError?.(err as Error);
    }
  }

  private advance(revision: number): void {
    if (!Number.isFinite(revision) || revision <= this.seen) return;
    this.seen = revision;
    this.opts.onRevision(revision);
  }

  /** The highest revision seen so far. */
  get revision(): number {
    return this.seen;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.unlisten?.();
  }
}
