/** A job that runs every interval, never twice at once; a failed run is logged and the next one tries again. */

export interface PeriodicJob {
  stop(): void;
  /** Runs now, after the run in flight if there is one (tests use it instead of waiting for the timer); resolves with its result. */
  runOnce(): Promise<number>;
}

/** Starts `run` every `intervalMs` (a tick while a run is in flight is skipped); a run that throws counts as `idle` after `onError` heard of it. */
export function startPeriodicJob(intervalMs: number, run: () => Promise<number>, onError: (err: Error) => void, idle = 0): PeriodicJob {
  let inFlight: Promise<number> | undefined;
  const start = (): Promise<number> => {
    const current = run().catch((err: Error) => {
      onError(err);
      return idle;
    });
    inFlight = current.finally(() => {
      if (inFlight === tracked) inFlight = undefined;
    });
    const tracked = inFlight;
    return current;
  };
  const runOnce = async (): Promise<number> => {
    while (inFlight) await inFlight;
    return start();
  };
  const timer = setInterval(() => void (inFlight ? undefined : start()), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer), runOnce };
}
