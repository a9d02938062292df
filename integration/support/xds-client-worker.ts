/**
 * A proxyless gRPC client in its own process (grpc-js-xds caches its bootstrap per process).
 * The parent sends `{ id, cmd: 'call', target, count, deadlineMs }` over IPC and gets back which
 * backends answered and which status codes failed.
 */
import * as grpc from '@grpc/grpc-js';
import { register } from '@grpc/grpc-js-xds';
import { EchoClient } from './echo.ts';

register();

interface CallCommand {
  id: number;
  cmd: 'call';
  target: string;
  count: number;
  deadlineMs: number;
  /** Request headers (gRPC metadata) sent with every call. */
  metadata?: Record<string, string>;
  /** Calls in flight at once (default 1: one after the other); each starts 20 ms after the previous one. */
  concurrency?: number;
}

/** Concurrent calls start this far apart: grpc-js counts a call in flight only once it has started on a connection. */
const STAGGER_MS = 20;

export interface CallResult {
  id: number;
  answers: Record<string, number>;
  errors: Record<string, number>;
  lastError?: string;
}

const clients = new Map<string, grpc.Client>();

function clientFor(target: string): grpc.Client {
  let c = clients.get(target);
  if (!c) {
    c = new EchoClient(target, grpc.credentials.createInsecure());
    clients.set(target, c);
  }
  return c;
}

function callOnce(client: grpc.Client, deadlineMs: number, headers: Record<string, string> = {}): Promise<{ answer?: string; code?: number; details?: string }> {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  return new Promise((resolve) => {
    (client as unknown as { Call: Function }).Call(Buffer.from('ping'), metadata, { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, res: Buffer) =>
      resolve(err ? { code: err.code, details: err.details } : { answer: res.toString() }),
    );
  });
}

process.on('message', async (msg: CallCommand) => {
  const client = clientFor(msg.target);
  const result: CallResult = { id: msg.id, answers: {}, errors: {} };
  const width = Math.max(1, msg.concurrency ?? 1);
  for (let done = 0; done < msg.count; done += width) {
    const batch = Array.from({ length: Math.min(width, msg.count - done) }, (_, i) =>
      new Promise<void>((r) => setTimeout(r, width > 1 ? i * STAGGER_MS : 0)).then(() => callOnce(client, msg.deadlineMs, msg.metadata)),
    );
    for (const r of await Promise.all(batch)) {
      if (r.answer !== undefined) result.answers[r.answer] = (result.answers[r.answer] ?? 0) + 1;
      else {
        const name = grpc.status[r.code ?? 2] ?? String(r.code);
        result.errors[name] = (result.errors[name] ?? 0) + 1;
        result.lastError = r.details;
      }
    }
  }
  process.send!(result);
});

process.send!({ ready: true });
