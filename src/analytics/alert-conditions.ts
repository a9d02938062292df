/**
 * What each kind of rule measures and when its condition holds: from the measurements of one round
 * (traffic per service, endpoint health, expiring certificates, NACKs, ingestion drops) to the
 * subjects that breach the rule, each with its value and a message. Pure: `now` is passed in.
 */
import type { AlertRule } from './alert-rules.ts';

/** One service's traffic over a rule's window (from the rollups). */
export interface ServiceTraffic {
  /** `<namespace>/<name>`. */
  service: string;
  requests: number;
  status5xx: number;
  /** A latency histogram of the window's requests (src/analytics/histogram.ts); quantile in ms. */
  latency: { quantile(q: number): number | undefined };
}

/** One service's endpoints, as the registry holds them. */
export interface ServiceEndpoints {
  service: string;
  endpoints: number;
  healthy: number;
}

/** A workload certificate not renewed, or a CA certificate in use, and when it expires. */
export interface ExpiringCertificate {
  /** The SPIFFE ID of a workload certificate, `ca/<role>/<id>` for an authority. */
  subject: string;
  /** The workload's `<namespace>/<name>`; null for an authority. */
  service: string | null;
  notAfter: Date;
}

/** The types a proxy's last response was NACKed for. */
export interface ProxyNacks {
  proxy: string;
  service: string | null;
  nacks: { type: string; version: string | null; errorDetail: string | null }[];
}

/** What one rule is evaluated against, by the family of its kind. */
export type Observation =
  /** `known`: every service of the registry; one missing from `services` had no traffic. */
  | { kind: 'traffic'; services: ServiceTraffic[]; known: string[] }
  | { kind: 'endpoints'; services: ServiceEndpoints[] }
  | { kind: 'certificates'; certificates: ExpiringCertificate[] }
  | { kind: 'nacks'; proxies: ProxyNacks[] }
  | { kind: 'drops'; dropped: number };

/** A subject for which a rule's condition holds now. */
export interface Breach {
  subject: string;
  value: number;
  message: string;
}

/** The observation family each kind reads. */
const OBSERVATION_OF: Record<AlertRule['kind'], Observation['kind']> = {
  'error-rate': 'traffic',
  latency: 'traffic',
  'request-rate': 'traffic',
  'endpoint-health': 'endpoints',
  'certificate-expiry': 'certificates',
  nacks: 'nacks',
  'ingestion-drops': 'drops',
};

const percent = (ratio: number) => `${Number((ratio * 100).toFixed(2))}%`;
const round = (n: number) => Number(n.toFixed(n < 10 ? 3 : 1));

/** A duration as people read it: `5m`, `1h30m`, `2d`. */
export function formatDuration(ms: number): string {
  if (Math.abs(ms) < 60_000) return `${Math.round(Math.abs(ms) / 1000)}s`;
  const minutes = Math.round(Math.abs(ms) / 60_000);
  const [d, h, m] = [Math.floor(minutes / 1440), Math.floor((minutes % 1440) / 60), minutes % 60];
  return [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : ''].join('');
}

const forService = (rule: AlertRule) => (service: string | null) => rule.service === null || service === rule.service;

/** Services with their traffic; a known service without rollups had none. */
function withIdle(obs: { services: ServiceTraffic[]; known: string[] }): ServiceTraffic[] {
  const seen = new Set(obs.services.map((s) => s.service));
  const idle = obs.known.filter((k) => !seen.has(k)).map((service) => ({ service, requests: 0, status5xx: 0, latency: { quantile: () => undefined } }));
  return [...obs.services, ...idle];
}

/** The breaches of a traffic rule (error rate, latency or request rate). */
function trafficBreaches(rule: AlertRule, services: ServiceTraffic[]): Breach[] {
  const out: Breach[] = [];
  for (const s of services) {
    if (rule.kind === 'error-rate') {
      const { threshold, windowMs, minRequests } = rule.params;
      if (s.requests === 0 || s.requests < minRequests) continue;
      const ratio = s.status5xx / s.requests;
      const message = `${s.service}: ${percent(ratio)} of ${s.requests} requests failed with 5xx in the last ${formatDuration(windowMs)} (threshold ${percent(threshold)})`;
      if (ratio > threshold) out.push({ subject: s.service, value: ratio, message });
    } else if (rule.kind === 'latency') {
      const { percentile, thresholdMs, windowMs, minRequests } = rule.params;
      const ms = s.requests === 0 || s.requests < minRequests ? undefined : s.latency.quantile(percentile / 100);
      const message = `${s.service}: p${percentile} latency ${round(ms ?? 0)} ms over the last ${formatDuration(windowMs)} (threshold ${thresholdMs} ms)`;
      if (ms !== undefined && ms > thresholdMs) out.push({ subject: s.service, value: ms, message });
    } else if (rule.kind === 'request-rate') {
      const { below, above, windowMs } = rule.params;
      const rate = s.requests / (windowMs / 1000);
      const bound = below !== undefined && rate < below ? `below ${below}` : above !== undefined && rate > above ? `above ${above}` : undefined;
      const message = `${s.service}: ${round(rate)} requests/s over the last ${formatDuration(windowMs)} (${bound})`;
      if (bound) out.push({ subject: s.service, value: rate, message });
    }
  }
  return out;
}

/** Services whose share of healthy endpoints is under the rule's minimum (a service without endpoints has nothing to measure). */
function endpointBreaches(minHealthyRatio: number, services: ServiceEndpoints[]): Breach[] {
  return services
    .filter((s) => s.endpoints > 0 && s.healthy / s.endpoints < minHealthyRatio)
    .map((s) => {
      const ratio = s.healthy / s.endpoints;
      const message = `${s.service}: ${s.healthy} of ${s.endpoints} endpoints healthy (${percent(ratio)}, minimum ${percent(minHealthyRatio)})`;
      return { subject: s.service, value: ratio, message };
    });
}

/** Certificates that expire within the window (or have expired without being renewed); value: ms left. */
function expiryBreaches(withinMs: number, certificates: ExpiringCertificate[], now: Date): Breach[] {
  const soonest = new Map<string, ExpiringCertificate>();
  for (const c of certificates) {
    if (c.notAfter.getTime() - now.getTime() > withinMs) continue;
    const seen = soonest.get(c.subject);
    if (!seen || c.notAfter < seen.notAfter) soonest.set(c.subject, c);
  }
  return [...soonest.values()].map((c) => {
    const left = c.notAfter.getTime() - now.getTime();
    const when = left > 0 ? `expires in ${formatDuration(left)}` : `expired ${formatDuration(left)} ago`;
    const what = c.service === null ? 'CA certificate' : 'certificate';
    return { subject: c.subject, value: left, message: `${what} ${c.subject} ${when} (${c.notAfter.toISOString()}) and has not been renewed` };
  });
}

/** Proxies whose last response of some type was NACKed; value: how many types. */
function nackBreaches(proxies: ProxyNacks[]): Breach[] {
  return proxies
    .filter((p) => p.nacks.length > 0)
    .map((p) => {
      const what = p.nacks.map((n) => `${n.type}${n.version ? ` version ${n.version}` : ''}${n.errorDetail ? `: ${n.errorDetail.slice(0, 200)}` : ''}`);
      return { subject: p.proxy, value: p.nacks.length, message: `proxy ${p.proxy} rejected its configuration (${what.join('; ')})` };
    });
}

/** The subjects for which `rule`'s condition holds, given what its kind observes; sorted by subject. */
export function breachesOf(rule: AlertRule, obs: Observation, now: Date): Breach[] {
  if (OBSERVATION_OF[rule.kind] !== obs.kind) throw new Error(`a ${rule.kind} rule cannot read a ${obs.kind} observation`);
  const mine = forService(rule);
  let out: Breach[] = [];
  if (obs.kind === 'traffic') out = trafficBreaches(rule, withIdle(obs).filter((s) => mine(s.service)));
  else if (obs.kind === 'endpoints' && rule.kind === 'endpoint-health') out = endpointBreaches(rule.params.minHealthyRatio, obs.services.filter((s) => mine(s.service)));
  else if (obs.kind === 'certificates' && rule.kind === 'certificate-expiry') {
    const certificates = obs.certificates.filter((c) => rule.service === null || c.service === rule.service);
    out = expiryBreaches(rule.params.withinMs, certificates, now);
  } else if (obs.kind === 'nacks') out = nackBreaches(obs.proxies.filter((p) => mine(p.service)));
  else if (obs.kind === 'drops' && rule.kind === 'ingestion-drops' && obs.dropped > rule.params.threshold) {
    const message = `${obs.dropped} access-log entries dropped in the last ${formatDuration(rule.params.windowMs)} (threshold ${rule.params.threshold})`;
    out = [{ subject: 'mesh', value: obs.dropped, message }];
  }
  return out.sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
}
