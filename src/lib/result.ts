/** Validation returns data, not exceptions: a value, or the issues that stop it, each naming its field. */

/** One problem with an input, located by a field path such as `endpoints[2].port` or `body.name`. */
export interface Issue {
  path: string;
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; issues: Issue[] };

/** A successful result. */
export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

/** A failed result with one or more issues. */
export function fail<T = never>(...issues: Issue[]): Result<T> {
  return { ok: false, issues };
}

/** An issue at `path`. */
export function issue(path: string, message: string): Issue {
  return { path, message };
}

/** Issues as one line, `path: message; …` (`message:` for an issue about the whole value), as a gRPC status details them. */
export function issuesText(issues: readonly Issue[]): string {
  return issues.map((i) => `${i.path || 'message'}: ${i.message}`).join('; ');
}
