/**
 * `apg-mesh cert issue --service S [--namespace N] --out DIR [--api URL]`: asks the control plane's
 * API for a workload certificate and writes what a workload that reads certificates from disk needs
 * (gRPC's file_watcher certificate provider, Envoy's file-based SDS): `cert.pem` (the certificate
 * and its chain), `key.pem` (owner-only) and `ca.pem` (the trust bundle).
 */
import { mkdir, writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { fail, issue, ok, type Issue, type Result } from './lib/result.ts';

export interface CertIssueOptions {
  namespace: string;
  service: string;
  out: string;
  api: string;
}

const FLAGS = ['--service', '--namespace', '--out', '--api'] as const;

/** Reads the flags of `cert issue`; the API address defaults to APG_API_URL, then http://127.0.0.1:8080. */
export function parseCertIssue(argv: string[], env: NodeJS.ProcessEnv): Result<CertIssueOptions> {
  const values = new Map<string, string>();
  const issues: Issue[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    if (!(FLAGS as readonly string[]).includes(flag)) {
      issues.push(issue(flag, 'is not an option of cert issue (--service, --namespace, --out, --api)'));
      continue;
    }
    const value = inline ?? (argv[i + 1]?.startsWith('--') ? undefined : argv[++i]);
    if (value === undefined || value === '') issues.push(issue(flag, 'needs a value'));
    else values.set(flag, value);
  }
  for (const required of ['--service', '--out']) if (!values.has(required) && !issues.some((i) => i.path === required)) issues.push(issue(required, 'is required'));
  const api = values.get('--api') ?? env.APG_API_URL ?? 'http://127.0.0.1:8080';
  if (!/^https?:\/\/[^/\s]+\/?$/.test(api)) issues.push(issue(values.has('--api') ? '--api' : 'APG_API_URL', `must be an http:// or https:// URL with no path, got ${JSON.stringify(api)}`));
  if (issues.length) return fail(...issues);
  return ok({ namespace: values.get('--namespace') ?? 'default', service: values.get('--service')!, out: values.get('--out')!, api: api.replace(/\/$/, '') });
}

/** Issues the certificate through the API and writes the three files; returns a line to print, or throws with the API's reason. */
export async function issueToDirectory(o: CertIssueOptions): Promise<string> {
  let res: Response;
  try {
    res = await fetch(`${o.api}/api/v1/certificates`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ namespace: o.namespace, service: o.service }),
    });
  } catch (e) {
    // fetch says only "fetch failed"; the reason (refused, no such host) is its cause.
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach the API at ${o.api}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, any>;
  if (res.status !== 201) throw new Error(`the API refused (${res.status}): ${body.detail ?? body.title ?? 'no reason given'}`);
  await mkdir(o.out, { recursive: true });
  // Each file is written beside its final name and renamed, so a watcher never reads half a file.
  await writeAtomically(path.join(o.out, 'key.pem'), body.keyPem, 0o600);
  await writeAtomically(path.join(o.out, 'cert.pem'), body.chainPem, 0o644);
  await writeAtomically(path.join(o.out, 'ca.pem'), body.bundlePem, 0o644);
  const c = body.certificate;
  return `issued ${c.spiffeId} (serial ${c.serial}, valid until ${c.notAfter}) into ${o.out}: cert.pem, key.pem, ca.pem\n`;
}

async function writeAtomically(file: string, content: string, mode: number): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, content, { mode });
  await rename(temp, file);
}
