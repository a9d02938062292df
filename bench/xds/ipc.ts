/**
 * Request/reply over Node's IPC channel between the benchmark's processes: `call(cmd, args)` sends
 * `{ id, cmd, ...args }` and resolves with the `{ id, reply }` the other side sends back; messages
 * without an id are events.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

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

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

/** Forks a TypeScript child (`file`, absolute) with an IPC channel and waits for its `ready` event. */
export async function forkChild(file: string, env: NodeJS.ProcessEnv, execArgv: string[] = []): Promise<{ child: ChildProcess; ipc: Channel; ready: Message }> {
  const child = fork(file, [], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx', ...execArgv],
    env,
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ipc = new Channel(child);
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${path.basename(file)} exited with ${code} before it was ready`))));
  const ready = await Promise.race([ipc.once('ready'), exited]).catch((err: Error) => {
    child.kill();
    throw err;
  });
  exited.catch(() => {});
  return { child, ipc, ready };
}

/** Answers `profileStart` / `profileStop {file}` on the channel with a CPU profile of this process (PROFILE_DIR runs). */
export function serveProfiler(ipc: Channel): void {
  const inspector = new Session();
  inspector.connect();
  const post = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve, reject) => inspector.post(method, params, (err, out) => (err ? reject(err) : resolve(out))));
  ipc.handle('profileStart', async () => {
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 500 });
    await post('Profiler.start');
    return null;
  });
  ipc.handle('profileStop', async (msg) => {
    const { profile } = (await post('Profiler.stop')) as { profile: object };
    writeFileSync(msg.file as string, JSON.stringify(profile));
    return null;
  });
}
