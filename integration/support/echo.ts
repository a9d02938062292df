/**
 * A tiny real gRPC service for tests: `/apg.test.Echo/Call` answers with the server's name, and can be
 * told to delay or fail on purpose. Raw-byte serializers, so no proto file is needed.
 */
import * as grpc from '@grpc/grpc-js';

export const ECHO_METHOD = '/apg.test.Echo/Call';

const bytes = {
  serialize: (b: Buffer) => b,
  deserialize: (b: Buffer) => b,
};

/** The service definition shared by the test server and the client. */
export const echoService: grpc.ServiceDefinition = {
  Call: {
    path: ECHO_METHOD,
    requestStream: false,
    responseStream: false,
    requestSerialize: bytes.serialize,
    requestDeserialize: bytes.deserialize,
    responseSerialize: bytes.serialize,
    responseDeserialize: bytes.deserialize,
  },
};

export interface EchoBehaviour {
  delayMs?: number;
  failWith?: grpc.status;
}

export interface EchoServer {
  name: string;
  port: number;
  calls: number;
  behaviour: EchoBehaviour;
  close(): Promise<void>;
}

/** Starts an echo server on 127.0.0.1 (port 0 picks a free one). */
export async function startEchoServer(name: string, port = 0): Promise<EchoServer> {
  const server = new grpc.Server();
  const state: EchoServer = {
    name,
    port: 0,
    calls: 0,
    behaviour: {},
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
  server.addService(echoService, {
    Call: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      state.calls++;
      const { delayMs = 0, failWith } = state.behaviour;
      setTimeout(() => {
        if (failWith !== undefined) callback({ code: failWith, details: `${name} fails on purpose` });
        else callback(null, Buffer.from(name));
      }, delayMs);
    },
  });
  state.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return state;
}

/** A client constructor for the echo service. */
export const EchoClient = grpc.makeGenericClientConstructor(echoService, 'Echo');
