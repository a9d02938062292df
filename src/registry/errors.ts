/** Recognises database errors the API answers differently: conflicts (409) and an unreachable database (503). */

function codeOf(err: unknown): string | undefined {
  let e = err as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 4; depth++) {
    if (typeof e.code === 'string') return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

/** PostgreSQL unique_violation. */
export function isUniqueViolation(err: unknown): boolean {
  return codeOf(err) === '23505';
}

/** The database cannot be reached: refused or dropped connections, pool timeouts, admin shutdown. */
export function isUnavailable(err: unknown): boolean {
  const code = codeOf(err);
  // 53300: too many connections; 3D000: the database is gone (dropped, or not created yet).
  if (code && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08003', '08006', '53300', '3D000'].includes(code)) {
    return true;
  }
  const text = String((err as Error)?.message ?? '') + String(((err as { cause?: Error })?.cause)?.message ?? '');
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed|Cannot use a pool after calling end|is not currently accepting connections/i.test(text);
}
