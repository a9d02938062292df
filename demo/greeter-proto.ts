/** The demo's Greeter service (demo/greeter.proto), loaded at run time with @grpc/proto-loader: no generated code. */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface HelloRequest {
  name: string;
}

export interface HelloReply {
  message: string;
  instance: string;
}

/** The client surface the demo uses (proto-loader's clients are untyped). */
export interface GreeterClient extends grpc.Client {
  SayHello(req: HelloRequest, options: grpc.CallOptions, callback: grpc.requestCallback<HelloReply>): grpc.ClientUnaryCall;
}

/** How the demo service is registered in the mesh: clients dial `xds:///greeter.default:50051`. */
export const GREETER = { namespace: 'default', name: 'greeter', protocol: 'grpc', port: 50051 } as const;

const PROTO = fileURLToPath(new URL('./greeter.proto', import.meta.url));
// keepCase: the field names on the wire objects stay as written in the .proto.
const definition = protoLoader.loadSync(PROTO, { keepCase: true, defaults: true });
const loaded = grpc.loadPackageDefinition(definition) as unknown as { apg: { demo: { Greeter: grpc.ServiceClientConstructor } } };

/** The Greeter client constructor; `Greeter.service` is the definition a server adds. */
export const Greeter = loaded.apg.demo.Greeter;
