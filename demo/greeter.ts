/**
 * Demo gRPC service for APG Service Mesh: answers Greeter.SayHello with "hello from <instance>",
 * registers itself with the control plane's REST API on start, keeps its endpoint alive with
 * heartbeats (it turns unhealthy if they stop: a crashed instance leaves the mesh by itself), and
 * deregisters on SIGTERM so a clean stop takes it out of rotation at once.
 *
 *   npx tsx demo/greeter.ts
 *
 *   CONTROL_PLANE_URL  the control plane's REST API (default http://127.0.0.1:8080)
 *   PORT               port to serve on (default 50051)
 *   ADVERTISE_ADDRESS  address registered for this instance (default: the first non-loopback IPv4)
 *   INSTANCE_NAME      the name in answers (default: the host name, the container's under compose)
 */
import { hostname, networkInterfaces } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { GREETER, Greeter, type HelloReply, type HelloRequest } from './greeter-proto.ts';

const TTL_SECONDS = 15;
// Three heartbeats per TTL, so one lost request does not mark a live instance unhealthy.
const HEARTBEAT_MS = (TTL_SECONDS * 1000) / 3;

const env = process.env;
const controlPlane = (env.CONTROL_PLANE_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
const port = Number(env.PORT ?? GREETER.port);
const instance = env.INSTANCE_NAME ?? hostname();
const address = env.ADVERTISE_ADDRESS ?? firstIPv4();
const endpoints = `${controlPlane}/api/v1/services/${GREETER.namespace}/${GREETER.name}/endpoints`;

const log = (msg: string) => console.log(`[${instance}] ${msg}`);

/** The address other containers reach us at; loopback only when there is nothing else. */
function firstIPv4(): string {
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  return all.find((i) => i.family === 'IPv4' && !i.internal)?.address ?? '127.0.0.1';
}

/** One JSON call to the control plane's REST API. */
function call(method: string, url: string, body?: unknown): Promise<Response> {
  const json = body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  return fetch(url, { method, ...json, signal: AbortSignal.timeout(5000) });
}

async function failure(what: string, res: Response): Promise<Error> {
  return new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
}

/** Registers the service (409: another instance already did) and this endpoint; returns the endpoint id. */
async function register(): Promise<string> {
  const svc = await call('POST', `${controlPlane}/api/v1/services`, GREETER);
  if (!svc.ok && svc.status !== 409) throw await failure('register service', svc);
  const ep = await call('POST', endpoints, { address, port, ttlSeconds: TTL_SECONDS });
  if (ep.ok) return ((await ep.json()) as { id: string }).id;
  if (ep.status !== 409) throw await failure('register endpoint', ep);
  // Left over from a run that died without deregistering: adopt it; the heartbeats revive it.
  const list = await call('GET', endpoints);
  const items = list.ok ? ((await list.json()) as { items: { id: string; address: string; port: number }[] }).items : [];
  const mine = items.find((e) => e.address === address && e.port === port);
  if (!mine) throw await failure('register endpoint', ep);
  return mine.id;
}

/** Registers, retrying while the control plane is not up yet. */
async function registerUntilDone(): Promise<string> {
  for (;;) {
    try {
      return await register();
    } catch (err) {
      log(`registration failed (${(err as Error).message}); retrying in 2s`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

/** Starts serving Greeter; resolves once the port is bound. */
async function serve(): Promise<grpc.Server> {
  const server = new grpc.Server();
  server.addService(Greeter.service, {
    SayHello: (_call: grpc.ServerUnaryCall<HelloRequest, HelloReply>, done: grpc.sendUnaryData<HelloReply>) => {
      done(null, { message: `hello from ${instance}`, instance });
    },
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`0.0.0.0:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  log(`serving ${GREETER.name}.${GREETER.namespace} on :${bound}`);
  return server;
}

/** Sends heartbeats until the returned function is called; re-registers if the endpoint was deleted. */
function keepAlive(registration: { id: string }): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  // A chain of timeouts rather than an interval: a slow heartbeat or a re-registration never overlaps the next.
  const beat = async () => {
    try {
      const res = await call('PUT', `${endpoints}/${registration.id}/heartbeat`, {});
      if (res.status === 404) registration.id = await registerUntilDone(); // deleted behind our back: come back
      else if (!res.ok) log(`heartbeat: HTTP ${res.status}`);
    } catch (err) {
      log(`heartbeat failed: ${(err as Error).message}`);
    }
    if (!stopped) timer = setTimeout(beat, HEARTBEAT_MS);
  };
  timer = setTimeout(beat, HEARTBEAT_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** Deregisters first, so the mesh stops sending calls here, then lets calls in flight finish and exits. */
async function shutdown(server: grpc.Server, id: string, signal: string): Promise<void> {
  log(`${signal}: deregistering`);
  const res = await call('DELETE', `${endpoints}/${id}`).catch((err: Error) => err);
  log(res instanceof Error ? `deregister failed: ${res.message}` : `deregistered (HTTP ${res.status})`);
  // Do not hang the stop on a stuck call.
  setTimeout(() => {
    server.forceShutdown();
    process.exit(0);
  }, 5000).unref();
  server.tryShutdown(() => process.exit(0));
}

async function main(): Promise<void> {
  // Serve before registering, so no call is routed here before we can answer it.
  const server = await serve();
  const registration = { id: await registerUntilDone() };
  log(`registered ${address}:${port} as endpoint ${registration.id} (TTL ${TTL_SECONDS}s) at ${controlPlane}`);
  const stopHeartbeats = keepAlive(registration);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      stopHeartbeats();
      void shutdown(server, registration.id, signal);
    });
  }
}

main().catch((err: Error) => {
  log(`fatal: ${err.message}`);
  process.exit(1);
});
