import { describe, expect, it } from 'vitest';
import { breachesOf, formatDuration, type Observation, type ServiceTraffic } from './alert-conditions.ts';
import { checkAlertRule, type AlertRule } from './alert-rules.ts';
import { LatencyHistogram } from './histogram.ts';
import { proxyNacksOf } from './proxy-nacks.ts';

const NOW = new Date('2025-03-01T12:00:00Z');
const HOUR = 3_600_000;

/** A valid rule from a body (defaults filled in by the validator). */
function rule(kind: string, params: Record<string, unknown>, extra: Record<string, unknown> = {}): AlertRule {
  const r = checkAlertRule({ name: 'r', kind, params, ...extra });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return { ...r.value, id: 'rule-1' };
}

/** Traffic of one service: `latencies` recorded once each. */
function traffic(service: string, requests: number, status5xx: number, latencies: number[] = []): ServiceTraffic {
  const latency = new LatencyHistogram();
  for (const ms of latencies) latency.record(ms);
  return { service, requests, status5xx, latency };
}

const trafficOf = (services: ServiceTraffic[], known: string[] = []): Observation => ({ kind: 'traffic', services, known });
const subjects = (r: AlertRule, o: Observation) => breachesOf(r, o, NOW).map((b) => [b.subject, b.value]);

describe('breachesOf', () => {
  it.each<[string, AlertRule, Observation, [string, number][]]>([
    [
      'error rate above the threshold, with enough requests',
      rule('error-rate', { threshold: 0.05 }),
      trafficOf([traffic('shop/web', 100, 10), traffic('shop/cart', 100, 5), traffic('shop/idle', 9, 9)]),
      [['shop/web', 0.1]],
    ],
    ['error rate of one service only', rule('error-rate', { threshold: 0.05 }, { service: 'shop/cart' }), trafficOf([traffic('shop/web', 100, 50), traffic('shop/cart', 100, 6)]), [['shop/cart', 0.06]]],
    ['error rate with no requests at all', rule('error-rate', { threshold: 0, minRequests: 0 }), trafficOf([traffic('shop/web', 0, 0)]), []],
    [
      'latency percentile above the threshold',
      rule('latency', { percentile: 50, thresholdMs: 100, minRequests: 1 }),
      trafficOf([traffic('shop/web', 3, 0, [200, 200, 200]), traffic('shop/cart', 3, 0, [10, 10, 10])]),
      [['shop/web', 200]],
    ],
    ['latency with too few requests', rule('latency', { percentile: 99, thresholdMs: 100, minRequests: 10 }), trafficOf([traffic('shop/web', 3, 0, [900, 900, 900])]), []],
    [
      'request rate below the floor, a known service without rollups counting as idle',
      rule('request-rate', { below: 1, windowMs: 60_000 }),
      trafficOf([traffic('shop/web', 600, 0), traffic('shop/cart', 30, 0)], ['shop/web', 'shop/cart', 'shop/idle']),
      [['shop/cart', 0.5], ['shop/idle', 0]],
    ],
    ['request rate above the ceiling', rule('request-rate', { above: 5, windowMs: 60_000 }), trafficOf([traffic('shop/web', 600, 0)]), [['shop/web', 10]]],
    [
      'endpoint health under the minimum; a service without endpoints is not judged',
      rule('endpoint-health', { minHealthyRatio: 0.5 }),
      {
        kind: 'endpoints',
        services: [
          { service: 'shop/web', endpoints: 4, healthy: 1 },
          { service: 'shop/cart', endpoints: 2, healthy: 1 },
          { service: 'shop/new', endpoints: 0, healthy: 0 },
        ],
      },
      [['shop/web', 0.25]],
    ],
    [
      'certificates expiring within the window, the soonest per subject',
      rule('certificate-expiry', { withinMs: 6 * HOUR }),
      {
        kind: 'certificates',
        certificates: [
          { subject: 'spiffe://mesh.local/ns/shop/sa/web', service: 'shop/web', notAfter: new Date(NOW.getTime() + 2 * HOUR) },
          { subject: 'spiffe://mesh.local/ns/shop/sa/web', service: 'shop/web', notAfter: new Date(NOW.getTime() + HOUR) },
          { subject: 'spiffe://mesh.local/ns/shop/sa/cart', service: 'shop/cart', notAfter: new Date(NOW.getTime() + 7 * HOUR) },
          { subject: 'ca/intermediate/x', service: null, notAfter: new Date(NOW.getTime() - HOUR) },
        ],
      },
      [['ca/intermediate/x', -HOUR], ['spiffe://mesh.local/ns/shop/sa/web', HOUR]],
    ],
    [
      'certificates of one service leave the CA out',
      rule('certificate-expiry', { withinMs: 6 * HOUR }, { service: 'shop/web' }),
      {
        kind: 'certificates',
        certificates: [
          { subject: 'spiffe://mesh.local/ns/shop/sa/web', service: 'shop/web', notAfter: NOW },
          { subject: 'ca/root/y', service: null, notAfter: NOW },
        ],
      },
      [['spiffe://mesh.local/ns/shop/sa/web', 0]],
    ],
    [
      'proxies that NACKed',
      rule('nacks', {}),
      {
        kind: 'nacks',
        proxies: [
          { proxy: 'web-1', service: 'shop/web', nacks: [{ type: 'cds', version: 'v1', errorDetail: 'bad cluster' }] },
          { proxy: 'web-2', service: 'shop/web', nacks: [] },
        ],
      },
      [['web-1', 1]],
    ],
    ['ingestion drops above the threshold', rule('ingestion-drops', { threshold: 10 }), { kind: 'drops', dropped: 11 }, [['mesh', 11]]],
    ['ingestion drops at the threshold', rule('ingestion-drops', { threshold: 10 }), { kind: 'drops', dropped: 10 }, []],
  ])('%s', (_what, r, observation, expected) => {
    expect(subjects(r, observation)).toEqual(expected);
  });

  it('writes messages that say what crossed which threshold', () => {
    const [b] = breachesOf(rule('error-rate', { threshold: 0.05 }), trafficOf([traffic('shop/web', 80, 10)]), NOW);
    expect(b!.message).toBe('shop/web: 12.5% of 80 requests failed with 5xx in the last 5m (threshold 5%)');
    const [n] = breachesOf(rule('nacks', {}), { kind: 'nacks', proxies: [{ proxy: 'p', service: null, nacks: [{ type: 'lds', version: 'abc', errorDetail: 'no' }] }] }, NOW);
    expect(n!.message).toBe('proxy p rejected its configuration (lds version abc: no)');
  });

  it('refuses an observation of another family', () => {
    expect(() => breachesOf(rule('nacks', {}), { kind: 'drops', dropped: 1 }, NOW)).toThrow(/nacks rule cannot read a drops/);
  });

  it.each([
    [30_000, '30s'],
    [300_000, '5m'],
    [5_400_000, '1h30m'],
    [2 * 86_400_000, '2d'],
  ])('formats %i ms as %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('proxyNacksOf', () => {
  const view = (id: string, types: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ id, namespace: 'shop', service: 'web', streams: [{ id: 's', types }], ...extra });

  it('lists every proxy of every replica with the types whose last response was NACKed', () => {
    const nacked = { state: 'error', lastNack: { version: 'v2', errorDetail: 'unknown field', at: NOW.toISOString() } };
    const replicaA = [view('web-1', { cds: { state: 'synced' }, lds: nacked }), view('web-2', { cds: { state: 'stale' } })];
    const replicaB = [view('web-1', { eds: { ...nacked, lastNack: { version: 'v9', errorDetail: null } } }), { bogus: true }, 'text'];
    expect(proxyNacksOf([replicaA, replicaB])).toEqual([
      {
        proxy: 'web-1',
        service: 'shop/web',
        nacks: [
          { type: 'eds', version: 'v9', errorDetail: null },
          { type: 'lds', version: 'v2', errorDetail: 'unknown field' },
        ],
      },
      { proxy: 'web-2', service: 'shop/web', nacks: [] },
    ]);
  });

  it('takes a proxy without a service for one of none', () => {
    expect(proxyNacksOf([[{ id: 'gw', namespace: null, service: null, streams: [] }]])).toEqual([{ proxy: 'gw', service: null, nacks: [] }]);
  });
});
