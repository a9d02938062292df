/**
 * Test helpers for the CA tests: the system `openssl` as an independent verifier, so the tests do not
 * only check the CA against the library that produced the certificates.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Issue, Result } from '../../src/lib/result.ts';

/** Whether an `openssl` command is on PATH; the openssl checks are skipped without one. */
export const hasOpenssl = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;

/** What an openssl run printed, and whether it succeeded. */
export interface OpensslRun {
  ok: boolean;
  output: string;
}

/**
 * Writes `files` (name → content) to a fresh directory under the OS temp dir, runs openssl with the
 * arguments `args` builds from their paths, and removes the directory again.
 */
export function opensslWith(files: Record<string, string>, args: (paths: Record<string, string>) => string[]): OpensslRun {
  const dir = mkdtempSync(join(tmpdir(), 'apg-ca-'));
  try {
    const paths: Record<string, string> = {};
    for (const [name, content] of Object.entries(files)) {
      paths[name] = join(dir, name);
      writeFileSync(paths[name], content);
    }
    const run = spawnSync('openssl', args(paths), { encoding: 'utf8' });
    return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `openssl verify -x509_strict` of a leaf against a root and untrusted intermediates, for one TLS purpose. */
export function opensslVerify(rootPem: string, intermediatesPem: string, leafPem: string, purpose = 'sslserver'): OpensslRun {
  const files = { 'root.pem': rootPem, 'leaf.pem': leafPem, ...(intermediatesPem ? { 'untrusted.pem': intermediatesPem } : {}) };
  return opensslWith(files, (p) => [
    'verify',
    '-x509_strict',
    '-purpose',
    purpose,
    '-CAfile',
    p['root.pem']!,
    ...(p['untrusted.pem'] ? ['-untrusted', p['untrusted.pem']] : []),
    p['leaf.pem']!,
  ]);
}

/** `openssl x509 -text` of a certificate. */
export function opensslText(certPem: string): string {
  const run = opensslWith({ 'cert.pem': certPem }, (p) => ['x509', '-in', p['cert.pem']!, '-noout', '-text']);
  if (!run.ok) throw new Error(`openssl x509 failed: ${run.output}`);
  return run.output;
}

/** Runs openssl in a temp dir and returns the files it wrote there (for CAs and CSRs made by OpenSSL itself). */
export function opensslMake(args: (dir: string) => string[], outputs: string[], inputs: Record<string, string> = {}): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'apg-ca-'));
  try {
    for (const [name, content] of Object.entries(inputs)) writeFileSync(join(dir, name), content);
    const run = spawnSync('openssl', args(dir), { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`openssl ${args(dir).join(' ')} failed: ${run.stderr}`);
    return Object.fromEntries(outputs.map((name) => [name, readFileSync(join(dir, name), 'utf8')]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The value of a result that must be ok; otherwise the test fails with its issues. */
export function must<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.issues)}`);
  return result.value;
}

/** The issues of a result that must have failed. */
export function issuesOf<T>(result: Result<T>): Issue[] {
  if (result.ok) throw new Error('expected issues, got a value');
  return result.issues;
}
