/** Runs a grpc-js-xds client in a child process, with a bootstrap that points at our xDS port. */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CallResult } from './xds-client-worker.ts';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'xds-client-worker.ts');

export interface XdsClientOptions {
  xdsPort: number;
  nodeId: string;
  /** The node's locality: zone `z1` and no region unless told. */
  region?: string;
  zone?: string;
  metadata?: Record<string, string>;
}

/** The proxyless client process. */
export class XdsClientProcess {
  private constructor(
    private readonly child: ChildProcess,
    private nextId = 0,
  ) {}

  /** Starts the child process and waits until it is ready. */
  static async start(opts: XdsClientOptions): Promise<XdsClientProcess> {
    const bootstrap = {
      xds_servers: [{ server_uri: `127.0.0.1:${opts.xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: opts.nodeId, locality: { ...(opts.region ? { region: opts.region } : {}), zone: opts.zone ?? 'z1' }, metadata: { role: 'grpc', ...opts.metadata } },
    };
    const child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap), GRPC_XDS_BOOTSTRAP: '' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`xds client exited with ${code}`)));
    });
    return new XdsClientProcess(child);
  }

  /** Makes `count` sequential RPCs to `target` (with `metadata` as request headers) and reports who answered. */
  call(target: string, count: number, deadlineMs = 2000, metadata?: Record<string, string>, concurrency = 1): Promise<CallResult> {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      const onMessage = (m: CallResult) => {
        if (m.id !== id) return;
        this.child.off('message', onMessage);
        resolve(m);
      };
      this.child.on('message', onMessage);
      this.child.send({ id, cmd: 'call', target, count, deadlineMs, metadata, concurrency });
    });
  }

  /** Repeats `count` RPCs until `accept` holds for a batch or `timeoutMs` passes; returns the last batch. */
  async until(target: string, count: number, accept: (r: CallResult) => boolean, timeoutMs = 10_000, metadata?: Record<string, string>): Promise<CallResult> {
    const end = Date.now() + timeoutMs;
    let last = await this.call(target, count, 2000, metadata);
    while (!accept(last) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      last = await this.call(target, count, 2000, metadata);
    }
    return last;
  }

  stop(): void {
    this.child.kill();
  }
}
