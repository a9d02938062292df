/** A real xDS server on port 0 over a cache the test publishes meshes into, plus clients of both variants. */
import { Registry } from 'prom-client';
import { afterAll, afterEach } from 'vitest';
import type { Service } from '../../src/model/mesh.ts';
import { ResourceEncoder } from '../../src/xds/cache/resource.ts';
import { SnapshotCache } from '../../src/xds/cache/snapshot-cache.ts';
import { XdsServer, type XdsServerOptions } from '../../src/xds/server/grpc-server.ts';
import { XdsMetrics } from '../../src/xds/server/metrics.ts';
import { ProxyStatusTracker } from '../../src/xds/server/proxy-status.ts';
import { AdsClient, DeltaClient } from './ads-client.ts';
import { endpoint, meshOf, publishMesh, service } from './mesh-fixtures.ts';

export const grpcNode = (id = 'client-1') => ({ id, metadata: { role: 'grpc' } });
export const gatewayNode = { id: 'gw-1', metadata: { role: 'gateway' } };

/** Two services in two namespaces: a grpc one and an http one. */
export const greeter = service({ endpoints: [endpoint({ address: '10.0.0.1', port: 50051 })] });
export const billing = service({ name: 'billing', namespace: 'shop', protocol: 'http', port: 8080, endpoints: [endpoint({ address: '10.0.0.2' })] });
/** Their EDS resource names. */
export const greeterEds = `greeter.default~${greeter.uid.slice(0, 8)}`;
export const billingEds = `billing.shop~${billing.uid.slice(0, 8)}`;
/** Greeter with another endpoint. */
export const greeterAt = (address: string) => ({ ...greeter, endpoints: [endpoint({ address, port: 50051 })] });

export interface Harness {
  cache: SnapshotCache;
  server: XdsServer;
  status: ProxyStatusTracker;
  metrics: Registry;
  port: number;
  publish(services: Service[]): void;
  client(path?: string): AdsClient;
  delta(path?: string): DeltaClient;
}

const silent = { warn() {}, debug() {} };
let revision = 0;
const clients: (AdsClient | DeltaClient)[] = [];
const servers: XdsServer[] = [];

/** Closes the clients after each test and the servers after the file (call once at the top of a test file). */
export function cleanUpHarnesses(): void {
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close(50)));
  });
}

/** Starts a server with `services` published; `options` adds server options (an authenticator, TLS). */
export async function harness(services: Service[] = [greeter, billing], options: Partial<XdsServerOptions> = {}): Promise<Harness> {
  const cache = new SnapshotCache();
  const encoder = new ResourceEncoder();
  const metrics = new Registry();
  const status = new ProxyStatusTracker(new XdsMetrics(metrics), silent);
  const server = new XdsServer({ cache, status, controlPlaneId: 'test-cp', ...options });
  servers.push(server);
  const track = <C extends AdsClient | DeltaClient>(c: C): C => {
    clients.push(c);
    return c;
  };
  const h: Harness = {
    cache,
    server,
    status,
    metrics,
    port: await server.listen('127.0.0.1', 0),
    publish: (svcs) => void publishMesh(cache, meshOf(svcs, ++revision), encoder),
    client: (path) => track(new AdsClient(h.port, path)),
    delta: (path) => track(new DeltaClient(h.port, path)),
  };
  h.publish(services);
  return h;
}
