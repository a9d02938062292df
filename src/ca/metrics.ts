/**
 * The CA's Prometheus metrics, read when scraped: active workload certificates close to expiry (the
 * alert source for certificates the rotation has not renewed), and when each CA certificate in use
 * expires.
 */
import { Gauge, type Registry } from 'prom-client';
import { countExpiringCertificates } from '../registry/ca.ts';
import type { Db } from '../registry/db.ts';
import type { CaAuthorityRow } from '../registry/schema.ts';

/** "Close to expiry": within this long. Renewal happens at about half a certificate's life, so only a stuck renewal gets here. */
export const EXPIRY_WARNING_MS = 6 * 3_600_000;

/** Registers the CA gauges on `registry`; `inUse` is read at each scrape (it changes with rotations). */
export function registerCaMetrics(registry: Registry, db: Db, inUse: () => readonly CaAuthorityRow[], now: () => number = Date.now): void {
  new Gauge({
    name: 'apg_ca_certificates_expiring',
    help: `Active workload certificates that expire within ${EXPIRY_WARNING_MS / 3_600_000} h`,
    registers: [registry],
    async collect() {
      this.set(await countExpiringCertificates(db, new Date(now() + EXPIRY_WARNING_MS)));
    },
  });
  new Gauge({
    name: 'apg_ca_authority_expiry_timestamp_seconds',
    help: 'When each CA certificate in use expires (Unix time)',
    labelNames: ['role', 'id'],
    registers: [registry],
    collect() {
      this.reset();
      for (const a of inUse()) this.set({ role: a.role, id: a.id }, Math.floor(a.notAfter.getTime() / 1000));
    },
  });
}
