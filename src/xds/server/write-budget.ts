/**
 * Back-pressure for responses: a response is assembled (its cached bytes copied into one buffer) only
 * when the bytes already handed to gRPC and not yet flushed stay under a budget. A cold start of
 * thousands of proxies then holds a bounded amount of response memory instead of every proxy's
 * full config at once; each stream's responses keep their order.
 */

/** Assembles a response; called when the budget allows. */
export type Build = () => Buffer;
/** Hands bytes to the transport; `done` runs once they are flushed (or the stream is gone). */
export type Send = (bytes: Buffer, done: () => void) => void;

interface Lane {
  send: Send;
  queue: Build[];
  /** Bytes of the response in flight on this stream (0 when none). */
  sending: number;
  closed: boolean;
}

export class WriteBudget {
  private inFlight = 0;
  private readonly waiting: Lane[] = [];
  private readonly lanes = new Map<string, Lane>();

  constructor(private readonly maxBytes: number) {}

  /** Bytes handed to the transport and not yet flushed. */
  get bytesInFlight(): number {
    return this.inFlight;
  }

  /** Queues a response for stream `key`; it is built and sent now if the budget allows. */
  submit(key: string, send: Send, build: Build): void {
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = { send, queue: [], sending: 0, closed: false }));
    lane.queue.push(build);
    if (lane.queue.length === 1) this.pump(lane);
  }

  /** Forgets a stream's queued responses (the stream ended). */
  close(key: string): void {
    const lane = this.lanes.get(key);
    if (!lane) return;
    lane.closed = true;
    lane.queue.length = 0;
    this.lanes.delete(key);
    // A write to a dead stream may never report back: give its bytes back now.
    this.inFlight -= lane.sending;
    lane.sending = 0;
    this.release();
  }

  private pump(lane: Lane): void {
    // Over budget, a lane waits its turn; one response may always be in flight so nothing starves.
    if (this.inFlight >= this.maxBytes && this.inFlight > 0) {
      if (!this.waiting.includes(lane)) this.waiting.push(lane);
      return;
    }
    const build = lane.queue[0];
    if (!build || lane.closed) return;
    const bytes = build();
    this.inFlight += bytes.length;
    lane.sending = bytes.length;
    lane.send(bytes, () => {
      if (lane.closed || lane.sending === 0) return;
      this.inFlight -= lane.sending;
      lane.sending = 0;
      lane.queue.shift();
      if (lane.queue.length > 0) this.pump(lane);
      this.release();
    });
  }

  private release(): void {
    while (this.waiting.length > 0 && this.inFlight < this.maxBytes) {
      const lane = this.waiting.shift()!;
      if (!lane.closed && lane.queue.length > 0) this.pump(lane);
    }
  }
}
