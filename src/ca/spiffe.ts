/**
 * SPIFFE IDs (https://github.com/spiffe/spiffe/blob/main/standards/SPIFFE-ID.md): the identity a
 * workload certificate carries as its one URI SAN. The rules are the spec's, no stricter, so a trust
 * domain that SPIRE or go-spiffe accepts is accepted here too (and the other way round).
 */
import { fail, issue, ok, type Result } from '../lib/result.ts';

/** The spec's interoperability limits: 255 bytes for the host part, 2048 for the whole URI. */
const MAX_TRUST_DOMAIN = 255;
const MAX_SPIFFE_ID = 2048;
const SCHEME = 'spiffe://';
const TRUST_DOMAIN_CHARS = /^[a-z0-9._-]+$/;
const SEGMENT_CHARS = /^[A-Za-z0-9._-]+$/;

/** A parsed SPIFFE ID: its trust domain and its path (`''` for the trust domain's own ID). */
export interface SpiffeId {
  trustDomain: string;
  path: string;
}

/** Why a trust domain is refused, worded for the mistake people actually make (a port, capitals, a URL). */
function trustDomainProblem(td: string): string | undefined {
  if (td === '') return 'must not be empty';
  if (td.length > MAX_TRUST_DOMAIN) return `must be at most ${MAX_TRUST_DOMAIN} characters`;
  if (TRUST_DOMAIN_CHARS.test(td)) return undefined;
  if (td.includes('://')) return 'is a bare name such as example.org, not a URI';
  if (td.includes(':')) return 'must not include a port';
  if (td.includes('@')) return 'must not include user info';
  if (/[A-Z]/.test(td)) return `must be lower case (${td.toLowerCase()})`;
  return 'may contain only lower-case letters, digits, dots, dashes and underscores';
}

/** Checks a trust domain name against the SPIFFE spec. */
export function validateTrustDomain(trustDomain: string, path = 'trustDomain'): Result<string> {
  const problem = trustDomainProblem(trustDomain);
  return problem === undefined ? ok(trustDomain) : fail(issue(path, problem));
}

/** Why one path segment is refused, if it is. */
function segmentProblem(segment: string): string | undefined {
  if (segment === '') return 'must not be empty';
  if (segment === '.' || segment === '..') return 'must not be a dot segment';
  if (!SEGMENT_CHARS.test(segment)) return 'may contain only letters, digits, dots, dashes and underscores';
  return undefined;
}

/** The mesh's identity for a service: `spiffe://<trust domain>/ns/<namespace>/sa/<service>` (Istio's shape). */
export function spiffeIdOf(trustDomain: string, namespace: string, service: string): Result<string> {
  const problems = {
    trustDomain: trustDomainProblem(trustDomain),
    namespace: segmentProblem(namespace),
    service: segmentProblem(service),
  };
  const issues = Object.entries(problems).flatMap(([field, problem]) => (problem === undefined ? [] : [issue(field, problem)]));
  if (issues.length > 0) return fail(...issues);
  const id = `${SCHEME}${trustDomain}/ns/${namespace}/sa/${service}`;
  return id.length > MAX_SPIFFE_ID ? fail(issue('service', `makes the SPIFFE ID longer than ${MAX_SPIFFE_ID} bytes`)) : ok(id);
}

/** Parses and checks a SPIFFE ID; `requirePath` is for workload IDs, which must name more than the trust domain. */
export function parseSpiffeId(id: string, options: { path?: string; requirePath?: boolean } = {}): Result<SpiffeId> {
  const at = options.path ?? 'spiffeId';
  if (!id.startsWith(SCHEME)) return fail(issue(at, `must start with ${SCHEME}`));
  if (id.length > MAX_SPIFFE_ID) return fail(issue(at, `must be at most ${MAX_SPIFFE_ID} bytes`));
  const rest = id.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  const tdProblem = trustDomainProblem(trustDomain);
  if (tdProblem !== undefined) return fail(issue(at, `trust domain ${tdProblem}`));
  if (path === '' && options.requirePath) return fail(issue(at, 'must have a path after the trust domain (a workload ID)'));
  for (const segment of path === '' ? [] : path.slice(1).split('/')) {
    const problem = segmentProblem(segment);
    if (problem !== undefined) return fail(issue(at, `path segment "${segment}" ${problem}`));
  }
  return ok({ trustDomain, path });
}

/** The workload a mesh SPIFFE ID names (`spiffe://<trust domain>/ns/<namespace>/sa/<service>`); undefined for any other ID. */
export function workloadOfSpiffeId(uri: string): { trustDomain: string; namespace: string; service: string } | undefined {
  const parsed = parseSpiffeId(uri, { requirePath: true });
  if (!parsed.ok) return undefined;
  const [, ns, namespace, sa, service, ...rest] = parsed.value.path.split('/');
  return ns === 'ns' && sa === 'sa' && namespace && service && rest.length === 0 ? { trustDomain: parsed.value.trustDomain, namespace, service } : undefined;
}
