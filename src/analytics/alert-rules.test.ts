import { describe, expect, it } from 'vitest';
import { ALERT_RULE_KINDS } from '../registry/schema.ts';
import { ALERT_KINDS, checkAlertRule } from './alert-rules.ts';

/** A valid body of `kind` with `params`, plus what a case changes. */
const body = (kind: string, params: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}) => ({ name: 'r1', kind, ...(params ? { params } : {}), ...extra });

/** The common fields with their defaults. */
const common = { name: 'r1', description: null, service: null, forMs: 0, severity: 'warning', webhookUrl: null, enabled: true };

describe('checkAlertRule', () => {
  it('knows the kinds the table stores', () => {
    expect([...ALERT_KINDS]).toEqual([...ALERT_RULE_KINDS]);
  });

  it.each([
    ['error-rate', { threshold: 0.05 }, { threshold: 0.05, windowMs: 300_000, minRequests: 10 }],
    ['error-rate', { threshold: 0, windowMs: 60_000, minRequests: 0 }, { threshold: 0, windowMs: 60_000, minRequests: 0 }],
    ['latency', { percentile: 99.9, thresholdMs: 250 }, { percentile: 99.9, thresholdMs: 250, windowMs: 300_000, minRequests: 10 }],
    ['request-rate', { below: 1 }, { below: 1, windowMs: 300_000 }],
    ['request-rate', { below: 1, above: 500, windowMs: 600_000 }, { below: 1, above: 500, windowMs: 600_000 }],
    ['endpoint-health', { minHealthyRatio: 0.5 }, { minHealthyRatio: 0.5 }],
    ['certificate-expiry', { withinMs: 21_600_000 }, { withinMs: 21_600_000 }],
    ['nacks', undefined, {}],
    ['nacks', {}, {}],
    ['ingestion-drops', { threshold: 0 }, { threshold: 0, windowMs: 300_000 }],
  ])('accepts %s %j, filling in defaults', (kind, params, expected) => {
    expect(checkAlertRule(body(kind, params))).toEqual({ ok: true, value: { ...common, kind, params: expected } });
  });

  it('keeps the common fields given', () => {
    const extra = { description: 'web errors', service: 'shop/web', forMs: 60_000, severity: 'critical', webhookUrl: 'https://hooks.example/x?k=1', enabled: false };
    expect(checkAlertRule(body('error-rate', { threshold: 0.1 }, extra))).toMatchObject({ ok: true, value: { ...extra, kind: 'error-rate' } });
  });

  it.each([
    ['an unknown kind', body('cpu', {}), ['body.kind']],
    ['a missing threshold', body('error-rate', {}), ['body.params.threshold']],
    ['a ratio above 1', body('error-rate', { threshold: 1.5 }), ['body.params.threshold']],
    ['a threshold as text', body('error-rate', { threshold: '0.1' }), ['body.params.threshold']],
    ['a window under a minute', body('error-rate', { threshold: 0.1, windowMs: 1000 }), ['body.params.windowMs']],
    ['a fractional window', body('ingestion-drops', { threshold: 1, windowMs: 60_000.5 }), ['body.params.windowMs']],
    ['a negative minRequests', body('latency', { percentile: 99, thresholdMs: 10, minRequests: -1 }), ['body.params.minRequests']],
    ['an unknown percentile', body('latency', { percentile: 98, thresholdMs: 10 }), ['body.params.percentile']],
    ['a zero latency threshold', body('latency', { percentile: 99, thresholdMs: 0 }), ['body.params.thresholdMs']],
    ['a request rate without bounds', body('request-rate', {}), ['body.params.below']],
    ['a band upside down', body('request-rate', { below: 10, above: 5 }), ['body.params.below']],
    ['a healthy ratio of 0', body('endpoint-health', { minHealthyRatio: 0 }), ['body.params.minHealthyRatio']],
    ['an expiry window of a second', body('certificate-expiry', { withinMs: 1000 }), ['body.params.withinMs']],
    ['params a nacks rule does not take', body('nacks', { threshold: 1 }), ['body.params.threshold']],
    ['params that are not an object', body('nacks', undefined, { params: [1] }), ['body.params']],
    ['a bad name', body('nacks', {}, { name: 'Not_A_Label' }), ['body.name']],
    ['a service that is not namespace/name', body('nacks', {}, { service: 'web' }), ['body.service']],
    ['a service on a mesh kind', body('ingestion-drops', { threshold: 1 }, { service: 'shop/web' }), ['body.service']],
    ['a negative forMs', body('nacks', {}, { forMs: -1 }), ['body.forMs']],
    ['an unknown severity', body('nacks', {}, { severity: 'page' }), ['body.severity']],
    ['a webhook that is not http', body('nacks', {}, { webhookUrl: 'ftp://example.com/x' }), ['body.webhookUrl']],
    ['a webhook that is not a URL', body('nacks', {}, { webhookUrl: '/relative' }), ['body.webhookUrl']],
    ['enabled as text', body('nacks', {}, { enabled: 'yes' }), ['body.enabled']],
    ['an unknown field', body('nacks', {}, { labels: {} }), ['body.labels']],
    ['several faults at once', body('error-rate', { threshold: 2, extra: 1 }, { severity: 'x' }), ['body.params.threshold', 'body.params.extra', 'body.severity']],
  ])('refuses %s, naming the field', (_what, input, paths) => {
    const result = checkAlertRule(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.path).sort()).toEqual([...paths].sort());
  });

  it('refuses a body that is not an object, and prefixes issues with the path given', () => {
    expect(checkAlertRule('rule')).toEqual({ ok: false, issues: [{ path: 'body', message: 'must be an object' }] });
    const r = checkAlertRule(body('error-rate', {}), 'rule');
    expect(r.ok ? [] : r.issues.map((i) => i.path)).toEqual(['rule.params.threshold']);
  });
});
