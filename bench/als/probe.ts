/**
 * The xDS probe of `bench:als`: what access-log ingestion costs the xDS server it shares a process
 * (and by default a port) with. One proxy holds an ADS stream on the telemetry port, as an Envoy's
 * would, subscribed to every cluster and ACKing each response; while a scenario runs, a new service
 * is added through the REST API every `everyMs`, and the probe times the API's answer to the CDS
 * response that carries the new cluster. Run idle first, the same figure is the baseline.
 */
import * as grpc from '@grpc/grpc-js';
import { messageType } from '../../src/protos/loader.ts';
import { plainToStruct } from '../../src/protos/struct.ts';
import { now } from '../xds/ipc.ts';
import { CDS } from '../xds/proxy.ts';
import { summarize, type Summary } from '../xds/report.ts';
import { anyValue, clusterInfo, encodeSotwRequest, parseSotwResponse, SOTW_ADS } from '../xds/wire.ts';

const identity = (b: Buffer) => b;
/** How long a push may take before the probe counts it as never arrived. */
const TIMEOUT_MS = 10_000;

export class XdsProbe {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  /** Who waits for a cluster to arrive. */
  private waiters: { cluster: string; resolve: (at: number) => void }[] = [];
  private next = 0;

  constructor(
    xdsPort: number,
    private readonly api: string,
  ) {
    this.client = new grpc.Client(`127.0.0.1:${xdsPort}`, grpc.credentials.createInsecure());
    this.call = this.client.makeBidiStreamRequest(SOTW_ADS, identity, identity);
    this.call.on('error', () => undefined);
    this.call.on('data', (buf: Buffer) => this.onResponse(buf));
    const nodeType = messageType('envoy.config.core.v3.Node');
    const node = nodeType.encode(nodeType.fromObject({ id: 'bench-xds-probe', cluster: 'probe', metadata: plainToStruct({ role: 'gateway' }) })).finish();
    this.call.write(encodeSotwRequest({ version: '', node, typeUrl: CDS, nonce: '' }));
  }

  private onResponse(buf: Buffer): void {
    const at = now();
    const r = parseSotwResponse(buf);
    this.call.write(encodeSotwRequest({ version: r.version, typeUrl: CDS, nonce: r.nonce }));
    if (r.typeUrl !== CDS) return;
    const clusters = new Set(r.resources.map((any) => clusterInfo(buf, anyValue(buf, any)).name));
    this.waiters = this.waiters.filter((w) => {
      if (!clusters.has(w.cluster)) return true;
      w.resolve(at);
      return false;
    });
  }

  /** Resolves with when a CDS response holding `cluster` arrived (NaN after the timeout). */
  private arrival(cluster: string): Promise<number> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(NaN), TIMEOUT_MS);
      this.waiters.push({ cluster, resolve: (at) => (clearTimeout(timer), resolve(at)) });
    });
  }

  /**
   * Adds a service every `everyMs` for `durationMs`; each change is timed from the API's answer to
   * its push (0 when the push came first), and one whose push never came within 10 s counts as missing.
   */
  async measure(durationMs: number, everyMs: number): Promise<Summary> {
    const latencies: Promise<number>[] = [];
    for (const end = now() + durationMs; now() < end; ) {
      const name = `probe-${this.next++}`;
      const arrived = this.arrival(`${name}.probe`);
      const res = await fetch(`${this.api}/api/v1/services`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ namespace: 'probe', name, protocol: 'grpc', port: 9000 }),
      });
      const answeredAt = now();
      if (!res.ok) throw new Error(`the probe's service was refused: ${res.status} ${await res.text()}`);
      latencies.push(arrived.then((at) => Math.max(0, at - answeredAt)));
      await new Promise((r) => setTimeout(r, everyMs));
    }
    return summarize(await Promise.all(latencies));
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}
