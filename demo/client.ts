/**
 * Demo proxyless gRPC client for APG Service Mesh: no Envoy in the path. @grpc/grpc-js-xds asks the
 * control plane (ADS) for the listener `greeter.default:50051`, its cluster and endpoints, then
 * balances the calls itself; each answer says which greeter instance served it.
 *
 *   npx tsx demo/client.ts
 *
 *   GRPC_XDS_BOOTSTRAP         path to an xDS bootstrap file; wins over the two below
 *   GRPC_XDS_BOOTSTRAP_CONFIG  the bootstrap JSON itself
 *   XDS_SERVER                 host:port of the control plane's xDS port, for the bootstrap this
 *                              client builds when neither is set (default 127.0.0.1:18000)
 *   TARGET                     what to dial (default xds:///greeter.default:50051)
 *   INTERVAL_MS                pause between calls (default 1000)
 *   COUNT                      stop after this many calls; exit 1 if none succeeded (default: forever)
 *   ZONE                       this client's zone, sent in the bootstrap's node locality (default none)
 */
import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { register } from '@grpc/grpc-js-xds';
import { GREETER, Greeter, type GreeterClient, type HelloReply } from './greeter-proto.ts';

const env = process.env;
const target = env.TARGET ?? `xds:///${GREETER.name}.${GREETER.namespace}:${GREETER.port}`;
const intervalMs = Number(env.INTERVAL_MS ?? 1000);
const count = Number(env.COUNT ?? 0);

if (!env.GRPC_XDS_BOOTSTRAP && !env.GRPC_XDS_BOOTSTRAP_CONFIG) {
  // grpc-js-xds reads the bootstrap when the first xds: channel is made, so setting it here is in time.
  env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [{ server_uri: env.XDS_SERVER ?? '127.0.0.1:18000', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: {
      id: `demo-client-${hostname()}-${process.pid}`,
      cluster: 'demo-client',
      // grpc-js-xds refuses a node without a locality; the zone is optional.
      locality: env.ZONE ? { zone: env.ZONE } : {},
      // role grpc: the control plane serves this node API listeners (it is also the default role).
      metadata: { role: 'grpc' },
    },
  });
}
register(); // adds the xds: scheme to @grpc/grpc-js

const client = new Greeter(target, grpc.credentials.createInsecure()) as unknown as GreeterClient;
const answers = new Map<string, number>();

function sayHello(): Promise<HelloReply> {
  return new Promise((resolve, reject) =>
    client.SayHello({ name: 'demo-client' }, { deadline: Date.now() + 5000 }, (err, reply) => (err || !reply ? reject(err) : resolve(reply))),
  );
}

function tally(): string {
  return [...answers].sort(([a], [b]) => a.localeCompare(b)).map(([name, n]) => `${name}: ${n}`).join(', ');
}

function finish(): never {
  console.log(`answers by instance: ${tally() || 'none'}`);
  client.close();
  process.exit(answers.size > 0 ? 0 : 1);
}

async function main(): Promise<void> {
  console.log(`calling ${target}`);
  for (let n = 1; count === 0 || n <= count; n++) {
    try {
      const reply = await sayHello();
      answers.set(reply.instance, (answers.get(reply.instance) ?? 0) + 1);
      console.log(`#${n} ${reply.message}   (${tally()})`);
    } catch (err) {
      const e = err as grpc.ServiceError;
      console.log(`#${n} failed: ${grpc.status[e.code] ?? 'ERROR'} ${e.details ?? e.message}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  finish();
}

process.once('SIGINT', finish);
process.once('SIGTERM', finish);
void main();
