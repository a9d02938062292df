/**
 * Traffic management with the real client: routes and splits written over REST change where a real
 * @grpc/grpc-js-xds client (its own process) sends its RPCs. Runs on PGlite (the registry engine
 * plays no part in what is measured here; the PostgreSQL paths are covered by the other suites).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/main.ts';
import { testConfig } from '../test/support/config.ts';
import { apiCaller } from '../test/support/http.ts';
import { startEchoServer, type EchoServer } from './support/echo.ts';
import type { CallResult } from './support/xds-client-worker.ts';
import { XdsClientProcess } from './support/xds-client.ts';

const TARGET = 'xds:///greeter.default:50051';

/** The share of a batch's answers that came from `name`, in percent. */
const share = (r: CallResult, name: string) => (100 * (r.answers[name] ?? 0)) / Object.values(r.answers).reduce((a, b) => a + b, 0);
const onlyFrom = (...names: string[]) => (r: CallResult) => Object.keys(r.answers).sort().join() === [...names].sort().join() && Object.keys(r.errors).length === 0;

describe('traffic management through a proxyless gRPC client', () => {
  let dataDir: string;
  let server: RunningServer;
  let client: XdsClientProcess;
  const echo: Record<string, EchoServer> = {};

  const api = apiCaller(() => server.apiPort);

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'apg-traffic-'));
    server = await startServer(testConfig({ dataDir, catchUpIntervalMs: 5000, leaderRetryMs: 5000, replicaId: 'traffic-it' }));
    expect((await api('POST', '/api/v1/services', { name: 'greeter', protocol: 'grpc', port: 50051 })).status).toBe(201);
    for (const [name, version] of [['v1-a', 'v1'], ['v2-a', 'v2']] as const) {
      echo[name] = await startEchoServer(name);
      const res = await api('POST', '/api/v1/services/default/greeter/endpoints', { address: '127.0.0.1', port: echo[name]!.port, labels: { version } });
      expect(res.status).toBe(201);
    }
    client = await XdsClientProcess.start({ xdsPort: server.xdsPort, nodeId: 'traffic-client' });
    await client.until(TARGET, 20, onlyFrom('v1-a', 'v2-a'));
  });

  afterAll(async () => {
    client?.stop();
    await server?.close();
    await Promise.all(Object.values(echo).map((e) => e.close()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('splits 90/10 between two subsets, measured over 2,000 RPCs within ±3 points', async () => {
    const split = await api('POST', '/api/v1/traffic/split', { service: 'greeter', weights: { v1: 90, v2: 10 } });
    expect(split.status, JSON.stringify(split.body)).toBe(201);
    // Wait until the client routes by the split (both subsets still answer, v1 far more often).
    await client.until(TARGET, 200, (r) => share(r, 'v1-a') > 75 && Object.keys(r.errors).length === 0);
    const result = await client.call(TARGET, 2000);
    expect(result.errors).toEqual({});
    expect(share(result, 'v1-a')).toBeGreaterThanOrEqual(87);
    expect(share(result, 'v1-a')).toBeLessThanOrEqual(93);

    // Moving all traffic to v2 is one more call of the same short form.
    expect((await api('POST', '/api/v1/traffic/split', { service: 'greeter', weights: { v1: 0, v2: 100 } })).status).toBe(200);
    const moved = await client.until(TARGET, 50, onlyFrom('v2-a'));
    expect(onlyFrom('v2-a')(moved)).toBe(true);
    expect((await api('DELETE', '/api/v1/routes/default/greeter-split')).status).toBe(204);
    await client.until(TARGET, 40, onlyFrom('v1-a', 'v2-a'));
  });

  it('routes requests carrying a header to a subset, and the rest as before', async () => {
    const canary = {
      name: 'greeter-canary',
      priority: 10,
      match: { headers: [{ name: 'x-canary', exact: 'yes' }] },
      destinations: [{ namespace: 'default', name: 'greeter', subset: { version: 'v2' }, weight: 100 }],
    };
    expect((await api('POST', '/api/v1/routes', canary)).status).toBe(201);
    const tagged = await client.until(TARGET, 40, onlyFrom('v2-a'), 10_000, { 'x-canary': 'yes' });
    expect(onlyFrom('v2-a')(tagged)).toBe(true);
    // Without the header (or with another value) the default route still balances over both.
    expect(onlyFrom('v1-a', 'v2-a')(await client.call(TARGET, 40))).toBe(true);
    expect(onlyFrom('v1-a', 'v2-a')(await client.call(TARGET, 40, 2000, { 'x-canary': 'no' }))).toBe(true);
    expect((await api('DELETE', '/api/v1/routes/default/greeter-canary')).status).toBe(204);
  });

  /** A route for all of greeter's traffic with `extra` (timeouts, retries, faults), created; returns its deleter. */
  async function routeAll(name: string, extra: object): Promise<() => Promise<void>> {
    const body = { name, match: { path: { prefix: '/' } }, destinations: [{ namespace: 'default', name: 'greeter', weight: 100 }], ...extra };
    const res = await api('POST', '/api/v1/routes', body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return async () => expect((await api('DELETE', `/api/v1/routes/default/${name}`)).status).toBe(204);
  }

  it('ends calls at the route timeout when the server is slow', async () => {
    const remove = await routeAll('greeter-timeout', { timeoutMs: 200 });
    echo['v1-a']!.behaviour.delayMs = 1500;
    echo['v2-a']!.behaviour.delayMs = 1500;
    try {
      // The client gives each call 2 s: only the route's 200 ms timeout can end them while the server takes 1.5 s.
      const r = await client.until(TARGET, 4, (b) => b.errors.DEADLINE_EXCEEDED === 4, 15_000);
      expect(r.errors).toEqual({ DEADLINE_EXCEEDED: 4 });
    } finally {
      echo['v1-a']!.behaviour.delayMs = 0;
      echo['v2-a']!.behaviour.delayMs = 0;
      await remove();
    }
    await client.until(TARGET, 10, onlyFrom('v1-a', 'v2-a'));
  });

  it('retries a failed call on the other endpoint, so the client never sees the failure', async () => {
    echo['v1-a']!.behaviour.failWith = 14; // UNAVAILABLE
    try {
      // Without a retry policy, about half the calls fail.
      const before = await client.call(TARGET, 40);
      expect(before.errors.UNAVAILABLE).toBeGreaterThan(0);
      const remove = await routeAll('greeter-retries', { retries: { attempts: 3, retryOn: ['unavailable'], backoff: { baseMs: 10, maxMs: 50 } } });
      const failedBefore = echo['v1-a']!.calls;
      const r = await client.until(TARGET, 40, onlyFrom('v2-a'), 10_000);
      expect(onlyFrom('v2-a')(r)).toBe(true);
      expect(echo['v1-a']!.calls).toBeGreaterThan(failedBefore); // v1 was still tried, and its failures retried
      await remove();
    } finally {
      delete echo['v1-a']!.behaviour.failWith;
    }
    await client.until(TARGET, 10, onlyFrom('v1-a', 'v2-a'));
  });

  it('injects faults: aborts with the configured status, and delays past the deadline', async () => {
    let remove = await routeAll('greeter-fault', { fault: { abort: { grpcStatus: 8, percent: 100 } } });
    const aborted = await client.until(TARGET, 20, (r) => r.errors.RESOURCE_EXHAUSTED === 20);
    expect(aborted.errors).toEqual({ RESOURCE_EXHAUSTED: 20 });
    const served = echo['v1-a']!.calls + echo['v2-a']!.calls;
    await client.call(TARGET, 10);
    expect(echo['v1-a']!.calls + echo['v2-a']!.calls).toBe(served); // aborted before reaching any server
    await remove();
    remove = await routeAll('greeter-delay', { fault: { delay: { fixedMs: 3000, percent: 100 } } });
    const delayed = await client.until(TARGET, 2, (r) => r.errors.DEADLINE_EXCEEDED === 2, 20_000);
    expect(delayed.errors).toEqual({ DEADLINE_EXCEEDED: 2 }); // each call's 2 s deadline passes inside the 3 s delay
    await remove();
    await client.until(TARGET, 10, onlyFrom('v1-a', 'v2-a'));
  });

  /** Sets greeter's traffic policy (null clears it). */
  async function setPolicy(trafficPolicy: object | null): Promise<void> {
    const svc = await api('GET', '/api/v1/services/default/greeter');
    const { namespace: _n, name: _m, revision: _r, health: _h, endpointCount: _e, healthyEndpointCount: _he, createdAt: _c, updatedAt: _u, ...fields } = svc.body;
    const res = await api('PUT', '/api/v1/services/default/greeter', { ...fields, trafficPolicy });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }

  it('ring hash on a header keeps each user on one endpoint', async () => {
    await setPolicy({ loadBalancer: { algorithm: 'ring_hash', hashOn: [{ header: 'x-user' }] } });
    try {
      // Once the policy is in, every user sticks to one endpoint; across users both endpoints serve.
      const owners = new Set<string>();
      for (let u = 0; u < 16; u++) {
        const sticky = await client.until(TARGET, 20, (r) => Object.keys(r.answers).length === 1 && Object.keys(r.errors).length === 0, 10_000, { 'x-user': `user-${u}` });
        expect(Object.keys(sticky.answers)).toHaveLength(1);
        owners.add(Object.keys(sticky.answers)[0]!);
      }
      expect([...owners].sort()).toEqual(['v1-a', 'v2-a']);
    } finally {
      await setPolicy(null);
    }
    await client.until(TARGET, 10, onlyFrom('v1-a', 'v2-a'));
  });

  it('outlier detection ejects an endpoint that keeps failing', async () => {
    await setPolicy({ outlierDetection: { intervalMs: 300, baseEjectionTimeMs: 30_000, maxEjectionPercent: 50, failurePercentage: { threshold: 50, minimumHosts: 2, requestVolume: 5 } } });
    echo['v1-a']!.behaviour.failWith = 14;
    try {
      // Failing calls are seen first; once an interval has counted them, v1 is ejected and v2 takes everything.
      const r = await client.until(TARGET, 30, onlyFrom('v2-a'), 15_000);
      expect(onlyFrom('v2-a')(r)).toBe(true);
      const calls = echo['v1-a']!.calls;
      await client.call(TARGET, 30);
      expect(echo['v1-a']!.calls).toBe(calls); // ejected: not even tried
    } finally {
      delete echo['v1-a']!.behaviour.failWith;
      await setPolicy(null);
    }
    await client.until(TARGET, 10, onlyFrom('v1-a', 'v2-a'), 15_000);
  });

  it('circuit breaking: calls beyond max requests in flight fail at once instead of queueing', async () => {
    echo['v1-a']!.behaviour.delayMs = 300;
    echo['v2-a']!.behaviour.delayMs = 300;
    try {
      const wide = await client.call(TARGET, 10, 2000, undefined, 10);
      expect(wide.errors).toEqual({}); // no limit yet: all 10 in flight succeed
      await setPolicy({ connectionPool: { maxRequests: 2 } });
      await client.until(TARGET, 10, (r) => (r.errors.UNAVAILABLE ?? 0) > 0, 10_000);
      const r = await client.call(TARGET, 10, 2000, undefined, 10);
      expect(Object.values(r.answers).reduce((a, b) => a + b, 0)).toBe(2);
      expect(r.errors).toEqual({ UNAVAILABLE: 8 });
    } finally {
      echo['v1-a']!.behaviour.delayMs = 0;
      echo['v2-a']!.behaviour.delayMs = 0;
      await setPolicy(null);
    }
  });
});
