/** Binding and stopping a grpc-js server, shared by the xDS and telemetry servers. */
import * as grpc from '@grpc/grpc-js';

/** Binds a gRPC server to `host:port` (0 picks a free port) and resolves with the port. */
export function bindServer(server: grpc.Server, host: string, port: number, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, credentials, (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}

/** Stops accepting calls; open streams (which never end by themselves) are cut after `graceMs`. */
export function shutdownServer(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    // After a force shutdown grpc-js may never call tryShutdown's callback (a client in this
    // process still holding its session), so the close ends there too.
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
