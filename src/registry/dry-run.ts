/**
 * Dry runs of any registry write: the write runs inside an outer transaction (its own transaction
 * becomes a savepoint), `inspect` sees the registry as the write left it, and the outer transaction
 * is rolled back, so nothing is stored, no revision is taken and no notification is sent.
 */
import type { Db, Tx } from './db.ts';

class RolledBack<R, P> extends Error {
  constructor(
    readonly result: R,
    readonly preview: P | undefined,
  ) {
    super('dry run rolled back');
  }
}

/** Runs `write` and, when it succeeds, `inspect`; then undoes everything. */
export async function dryRun<R extends { ok: boolean }, P>(db: Db, write: (db: Db) => Promise<R>, inspect: (tx: Tx) => Promise<P>): Promise<{ result: R; preview?: P }> {
  try {
    await db.transaction(async (tx) => {
      const result = await write(tx);
      throw new RolledBack(result, result.ok ? await inspect(tx) : undefined);
    });
  } catch (err) {
    if (err instanceof RolledBack) return { result: err.result as R, preview: err.preview as P | undefined };
    throw err;
  }
  throw new Error('unreachable: a dry run always rolls back');
}
