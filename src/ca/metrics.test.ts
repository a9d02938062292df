/** The CA gauges as a scrape reads them: certificates close to expiry, and the CA certificates' expiry. */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../test/support/test-db.ts';
import { DEVELOPMENT_SEALING_KEY, MeshCa } from './mesh-ca.ts';
import { registerCaMetrics } from './metrics.ts';

const fixture = useTestDatabase();

const HOUR = 3_600_000;
/** The value of a metric line in Prometheus text, by its name and labels as written. */
const valueOf = (text: string, series: string) => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1]);

describe('CA metrics', () => {
  it('counts active certificates within 6 h of expiry and shows when each CA certificate expires', async () => {
    const shortLived = await MeshCa.open({ db: fixture.db, trustDomain: 'mesh.local', algorithm: 'ecdsa-p256', certTtlMs: 2 * HOUR, sealingKey: DEVELOPMENT_SEALING_KEY });
    if (!shortLived.ok) throw new Error('no CA');
    const ca = shortLived.value;
    const registry = new Registry();
    registerCaMetrics(registry, fixture.db, () => ca.inUse);
    expect(valueOf(await registry.metrics(), 'apg_ca_certificates_expiring')).toBe(0);

    await ca.issue('shop', 'web', 'cli');
    await ca.issue('shop', 'cart', 'sds');
    await ca.issue('shop', 'cart', 'sds'); // supersedes the first: no longer active, not counted
    const text = await registry.metrics();
    expect(valueOf(text, 'apg_ca_certificates_expiring')).toBe(2);
    const [root, inter] = ca.inUse;
    expect(valueOf(text, `apg_ca_authority_expiry_timestamp_seconds{role="root",id="${root!.id}"}`)).toBe(Math.floor(root!.notAfter.getTime() / 1000));
    expect(valueOf(text, `apg_ca_authority_expiry_timestamp_seconds{role="intermediate",id="${inter!.id}"}`)).toBe(Math.floor(inter!.notAfter.getTime() / 1000));
  });

  it('counts none while the certificates have more than 6 h to live', async () => {
    const registry = new Registry();
    const earlier = Date.now() - 20 * HOUR; // 20 h before now, the 2 h certificates had 22 h left
    registerCaMetrics(registry, fixture.db, () => [], () => earlier);
    expect(valueOf(await registry.metrics(), 'apg_ca_certificates_expiring')).toBe(0);
  });
});
