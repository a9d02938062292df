/**
 * Writes over HTTP: ETag carries a resource's revision, If-Match makes a write conditional, and
 * `?dryRun=true` runs it in a transaction that is rolled back, answering with what it would change.
 */
import type { FastifyReply } from 'fastify';
import { fail, issue, ok, type Issue, type Result } from '../lib/result.ts';
import type { Db, Tx } from '../registry/db.ts';
import { dryRun } from '../registry/dry-run.ts';
import type { WriteResult } from '../registry/services.ts';
import type { Preview } from '../xds/preview.ts';
import { problem, sendIssues, sendProblem } from './problems.ts';

/** The revision an `If-Match` header asks for; undefined when absent or `*`. */
export function ifMatchRevision(header: string | string[] | undefined): Result<number | undefined> {
  if (header === undefined || header === '*') return ok(undefined);
  const text = Array.isArray(header) ? header[0] ?? '' : header;
  const m = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(text);
  return m ? ok(Number(m[1])) : fail(issue('header.if-match', `"${text.slice(0, 40)}" is not an ETag this API issued (a quoted revision number such as "3")`));
}

/** What a dry run answers with: the Envoy resources a write would change, computed in its transaction. */
export type PreviewWrite = (tx: Tx) => Promise<Preview>;

/** A repository write's outcome: the value, or why not (`invalid` lists the fields a registry check refused). */
export type WriteOutcome<T> = WriteResult<T> | { ok: false; reason: 'invalid'; issues: Issue[] };

/** How the value of a kind of resource is shown: the same for each of its writes. */
export interface Shown<T> {
  /** What the value is called in a dry run's answer: `route`, `service`, `endpoint`. */
  key: string;
  /** The API view of the value. */
  view: (value: T) => { revision: number };
  /** Where a created resource can be read (the Location of a 201). */
  location?: (value: T) => string;
}

/** One write: how to run it and how to answer it. */
export interface Write<T> extends Shown<T> {
  /** The repository call; a dry run hands it the transaction it rolls back. */
  run: (db: Db) => Promise<WriteOutcome<T>>;
  /** 201 for a create, 200 for a replace, 204 (no body) for a delete. */
  status: 200 | 201 | 204;
}

/** Sends a write's outcome: the view with its ETag (no body for 204), or the problem its reason maps to. */
function answer<T>(reply: FastifyReply, result: WriteOutcome<T>, write: Write<T>): FastifyReply {
  const url = reply.request.url;
  if (!result.ok) return result.reason === 'invalid' ? sendIssues(reply, result.issues, url) : sendProblem(reply, problem(result.reason, result.detail, undefined, url));
  if (write.status === 204) return reply.code(204).send();
  const body = write.view(result.value);
  reply.header('etag', `"${body.revision}"`);
  if (write.location) reply.header('location', write.location(result.value));
  return reply.code(write.status).send(body);
}

/** The function every write route answers with, bound to the registry and the dry-run preview. */
export function writeSender(db: Db, previewWrite: PreviewWrite) {
  /**
   * Runs a write and answers it. With `dry` the write runs in a transaction that is rolled back, and
   * the answer is 200 with what it would store and the Envoy resources it would change; a write that
   * is refused answers the same problem either way.
   */
  return async function sendWrite<T>(reply: FastifyReply, dry: boolean, write: Write<T>): Promise<FastifyReply> {
    if (!dry) return answer(reply, await write.run(db), write);
    const { result, preview } = await dryRun(db, write.run, previewWrite);
    if (!result.ok) return answer(reply, result, write);
    // No ETag and no Location: nothing was stored, so there is no revision a later If-Match could name
    // (the body's `revision` is only the one the write would take).
    return reply.code(200).send({ dryRun: true, [write.key]: write.view(result.value), ...preview });
  };
}
