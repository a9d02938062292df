/**
 * The leader keeps one live SDS certificate per service: it issues one for a service that has none
 * (new, or revoked), and a new one when the current one is past its renewal point, about half its
 * lifetime (50-60%, spread by serial so that certificates issued together are not all renewed in the
 * same tick). One change is recorded per batch, so every replica rebuilds its secrets once. The
 * same tick keeps every replica's CA in step with rotations and, on the leader, retires CA
 * certificates whose overlap is over.
 */
import { createHash } from 'node:crypto';
import type { MeshCa } from '../ca/mesh-ca.ts';
import { activeSdsCertificates } from '../registry/ca.ts';
import { recordChange } from '../registry/changes.ts';
import type { Db } from '../registry/db.ts';
import { services } from '../registry/schema.ts';
import { startPeriodicJob, type PeriodicJob } from './periodic.ts';

export interface SdsCertificateOptions {
  db: Db;
  /** The CA to issue with (a function: a rotation replaces it). */
  ca: () => MeshCa;
  isLeader: () => boolean;
  intervalMs: number;
  /** Most certificates issued per run, so one run never holds the job for long. */
  batch?: number;
  now?: () => Date;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/** When a certificate is due for renewal: between 50% and 60% of its lifetime, by its serial. */
export function renewalTime(cert: { serial: string; notBefore: Date; notAfter: Date }): Date {
  const jitter = createHash('sha256').update(cert.serial).digest().readUInt16BE(0) / 0x10000;
  const life = cert.notAfter.getTime() - cert.notBefore.getTime();
  return new Date(cert.notBefore.getTime() + life * (0.5 + 0.1 * jitter));
}

/** The services that need a certificate now, by `<namespace>/<name>`. */
export async function dueIdentities(db: Db, now: Date): Promise<{ namespace: string; name: string; reason: 'missing' | 'renewal' }[]> {
  const all = await db.select({ namespace: services.namespace, name: services.name }).from(services).orderBy(services.namespace, services.name);
  const current = new Map((await activeSdsCertificates(db)).map((c) => [`${c.namespace}/${c.service}`, c]));
  const due: { namespace: string; name: string; reason: 'missing' | 'renewal' }[] = [];
  for (const svc of all) {
    const cert = current.get(`${svc.namespace}/${svc.name}`);
    if (!cert || cert.notAfter <= now) due.push({ ...svc, reason: 'missing' });
    else if (renewalTime(cert) <= now) due.push({ ...svc, reason: 'renewal' });
  }
  return due;
}

/** Runs every interval (issuing only while this replica leads); `runOnce` resolves with the number issued. */
export function startSdsCertificates(opts: SdsCertificateOptions): PeriodicJob {
  return startPeriodicJob(opts.intervalMs, () => issueDue(opts), (err) => opts.log.warn({ err: err.message }, 'SDS certificate job failed; will retry'));
}

async function issueDue(opts: SdsCertificateOptions): Promise<number> {
  // Every replica follows CA rotations (it signs with the newest intermediate); the leader also
  // ends overlaps whose last certificate expired, and issues.
  const reloaded = await opts.ca().reload();
  if (!reloaded.ok) opts.log.warn({ issues: reloaded.issues }, 'cannot reload the CA; signing with the one loaded before');
  if (!opts.isLeader()) return 0;
  const retired = await opts.ca().retireExpired(opts.now?.());
  if (retired.ok && retired.value.length > 0) opts.log.info({ retired: retired.value.map((a) => `${a.role} ${a.id}`) }, 'CA certificates retired after their overlap');
  const due = (await dueIdentities(opts.db, opts.now?.() ?? new Date())).slice(0, opts.batch ?? 500);
  let issued = 0;
  for (const id of due) {
    const cert = await opts.ca().issue(id.namespace, id.name, 'sds');
    if (cert.ok) issued++;
    else opts.log.warn({ service: `${id.namespace}/${id.name}`, issues: cert.issues }, 'cannot issue the SDS certificate');
  }
  if (issued > 0) {
    await recordChange(opts.db, { kind: 'certificate', op: 'update', namespace: '', name: `${issued} SDS certificates` });
    opts.log.info({ issued, renewed: due.filter((d) => d.reason === 'renewal').length }, 'issued SDS certificates');
  }
  return issued;
}
