/**
 * Request/reply over Node's IPC channel between the benchmark's processes: `call(cmd, args)` sends
 * `{ id, cmd, ...args }` and resolves with the `{ id, reply }` the other side sends back; messages
 * without an id are events.
 */
import type { ChildProcess } from 'node:child_process';

/** The one method of the bare grpc-js server that measures the transport floor. */
export const FLOOR_METHOD = '/bench.Floor/Stream';

type Port = Pick<ChildProcess, 'send' | 'on'> | NodeJS.Process;

export interface Message {
  id?: number;
  cmd?: string;
  event?: string;
  reply?: unknown;
  error?: string;
  [key: string]: unknown;
}

/** One end of an IPC channel. */
export class Channel {
  private next = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly handlers = new Map<string, (msg: Message) => unknown>();
  private readonly listeners = new Map<string, ((msg: Message) => void)[]>();

  constructor(private readonly port: Port) {
    (port as NodeJS.EventEmitter).on('message', (raw: unknown) => void this.receive(raw as Message));
  }

  /** Sends a command and waits for its reply. */
  call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.next;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.port.send!({ id, cmd, ...args });
    });
  }

  /** Answers command `cmd` with what `fn` returns (or resolves to). */
  handle(cmd: string, fn: (msg: Message) => unknown): void {
    this.handlers.set(cmd, fn);
  }

  /** Sends an event (no reply expected). */
  emit(event: string, args: Record<string, unknown> = {}): void {
    this.port.send!({ event, ...args });
  }

  /** Calls `fn` for each event named `event`. */
  on(event: string, fn: (msg: Message) => void): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), fn]);
  }

  /** Resolves with the next event named `event` that satisfies `match`. */
  once(event: string, match: (msg: Message) => boolean = () => true): Promise<Message> {
    return new Promise((resolve) => {
      const fn = (msg: Message) => {
        if (!match(msg)) return;
        this.listeners.set(event, (this.listeners.get(event) ?? []).filter((f) => f !== fn));
        resolve(msg);
      };
      this.on(event, fn);
    });
  }

  private async receive(msg: Message): Promise<void> {
    if (msg.cmd !== undefined && msg.id !== undefined) {
      const fn = this.handlers.get(msg.cmd);
      try {
        if (!fn) throw new Error(`no handler for ${msg.cmd}`);
        this.port.send!({ id: msg.id, reply: (await fn(msg)) ?? null });
      } catch (err) {
        this.port.send!({ id: msg.id, error: (err as Error).stack ?? String(err) });
      }
    } else if (msg.id !== undefined) {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p?.reject(new Error(msg.error));
      else p?.resolve(msg.reply);
    } else if (msg.event !== undefined) {
      for (const fn of this.listeners.get(msg.event) ?? []) fn(msg);
    }
  }
}

/** Wall clock in milliseconds with sub-millisecond precision, comparable across processes. */
export const now = (): number => performance.timeOrigin + performance.now();

/** CPU and memory of the current process, for the run's report. */
export function processStats() {
  const cpu = process.cpuUsage();
  const usage = process.resourceUsage();
  const mem = process.memoryUsage();
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    /** Peak resident set (kernel's ru_maxrss, same as VmHWM), in MiB. */
    peakRssMiB: usage.maxRSS / 1024,
    rssMiB: mem.rss / 1048576,
    heapUsedMiB: mem.heapUsed / 1048576,
  };
}

export type ProcessStats = ReturnType<typeof processStats>;
