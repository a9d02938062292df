/**
 * The error catalogue: every error the API returns is RFC 9457 problem+json with a stable `code`,
 * and validation problems list each offending field in `errors`.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Issue } from '../lib/result.ts';
import { isUnavailable } from '../registry/errors.ts';

export const PROBLEMS = {
  'validation-failed': { status: 400, title: 'The request is not valid' },
  'malformed-json': { status: 400, title: 'The request body is not valid JSON' },
  unauthenticated: { status: 401, title: 'Authentication required' },
  'not-found': { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'Conflict with the current state' },
  'precondition-failed': { status: 412, title: 'The resource changed since it was read' },
  'payload-too-large': { status: 413, title: 'The request body is too large' },
  'unsupported-media-type': { status: 415, title: 'The request body must be application/json' },
  'database-unavailable': { status: 503, title: 'The registry database is unavailable; configuration keeps being served' },
  'not-ready': { status: 503, title: 'Not ready' },
  'replica-unreachable': { status: 502, title: 'The replica holding the proxy did not answer' },
  internal: { status: 500, title: 'Internal error' },
} as const;

export type ProblemCode = keyof typeof PROBLEMS;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: ProblemCode;
  errors?: Issue[];
}

/** Builds a problem document. */
export function problem(code: ProblemCode, detail?: string, errors?: Issue[], instance?: string): Problem {
  const { status, title } = PROBLEMS[code];
  return { type: `urn:apg-mesh:problem:${code}`, title, status, code, ...(detail ? { detail } : {}), ...(instance ? { instance } : {}), ...(errors ? { errors } : {}) };
}

/** Sends a problem with its status and media type. */
export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type('application/problem+json').send(p);
}

/** Sends a 400 listing each field's issue. */
export function sendIssues(reply: FastifyReply, issues: Issue[], instance?: string): FastifyReply {
  const detail = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  return sendProblem(reply, problem('validation-failed', detail, issues, instance));
}

interface AjvError {
  instancePath: string;
  schemaPath?: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** Fastify's validation contexts, named as our issue paths name them (`query.label` like the selector's issues). */
const CONTEXTS: Record<string, string> = { querystring: 'query' };

/** Keywords whose issue path names a field below the value they were reported at. */
const FIELD_KEYWORDS = new Set(['additionalProperties', 'required']);

/**
 * A union (`string | null`, `object | null`) makes ajv report every branch plus the `anyOf` itself.
 * Keep what names the field: the errors below the union's value when a branch got that far
 * (`body.health`), otherwise one "must be string or null" at the value.
 */
function tidyUnions(errors: AjvError[]): AjvError[] {
  let out = errors;
  for (const union of errors.filter((e) => e.keyword === 'anyOf' && e.schemaPath)) {
    const inBranch = (e: AjvError) => e !== union && !!e.schemaPath?.startsWith(`${union.schemaPath}/`);
    const branches = out.filter(inBranch);
    const deeper = branches.filter((e) => e.instancePath.startsWith(`${union.instancePath}/`) || FIELD_KEYWORDS.has(e.keyword));
    const types = branches.every((e) => e.keyword === 'type') ? branches.map((e) => String(e.params.type)) : [];
    const merged = deeper.length ? deeper : types.length ? [{ ...union, message: `must be ${types.join(' or ')}` }] : [union];
    out = out.flatMap((e) => (e === union ? merged : inBranch(e) ? [] : [e]));
  }
  return out;
}

/** Turns ajv's errors into issues whose paths name the field (`body.endpoints[0].port`, `body.foo`). */
export function ajvIssues(context: string, errors: AjvError[]): Issue[] {
  return tidyUnions(errors).map((e) => {
    const parts = e.instancePath.split('/').filter(Boolean).map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`));
    let path = (CONTEXTS[context] ?? context) + parts.join('');
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties') {
      path += `.${String(e.params.additionalProperty)}`;
      message = 'is not a known field';
    } else if (e.keyword === 'required') {
      path += `.${String(e.params.missingProperty)}`;
      message = 'is required';
    } else if (e.keyword === 'enum' && Array.isArray(e.params.allowedValues)) {
      message = `must be one of ${e.params.allowedValues.join(', ')}`;
    }
    return { path, message };
  });
}

/** The app-wide error handler: validation, parsing, size, database outages, and everything else as 500. */
export function handleError(error: FastifyError & { validation?: AjvError[]; validationContext?: string }, request: FastifyRequest, reply: FastifyReply) {
  const instance = request.url;
  if (error.validation) return sendIssues(reply, dedupe(ajvIssues(error.validationContext ?? 'body', error.validation)), instance);
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return sendProblem(reply, problem('malformed-json', error.message, [{ path: 'body', message: error.message }], instance));
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendProblem(reply, problem('payload-too-large', error.message, undefined, instance));
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return sendProblem(reply, problem('unsupported-media-type', error.message, undefined, instance));
  }
  if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
    return sendProblem(reply, problem('malformed-json', error.message, [{ path: 'body', message: error.message }], instance));
  }
  if (isUnavailable(error)) {
    request.log.warn({ err: error.message }, 'database unavailable');
    return sendProblem(reply, problem('database-unavailable', 'the write may not have been applied; read the resource back or retry when the database is back', undefined, instance));
  }
  if (error.statusCode && error.statusCode < 500) {
    return sendProblem(reply, { ...problem('validation-failed', error.message, undefined, instance), status: error.statusCode });
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendProblem(reply, problem('internal', 'an unexpected error occurred; it has been logged', undefined, instance));
}

/** The issues without repeats (same path and message), in their first order. */
export function dedupe(issues: Issue[]): Issue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\0${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
