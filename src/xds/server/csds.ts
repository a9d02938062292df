/**
 * CSDS, `envoy.service.status.v3.ClientStatusDiscoveryService`: for each proxy stream, what it was
 * sent and whether it ACKed or NACKed it, read from the proxy status tracker. Served on the xDS port.
 */
import { shownEncoded } from '../redact.ts';
import * as grpc from '@grpc/grpc-js';
import { fail, issue, ok, type Result } from '../../lib/result.ts';
import type { ProxyIdentity } from '../../model/proxy.ts';
import { messageType } from '../../protos/loader.ts';
import { plainToStruct } from '../../protos/struct.ts';
import { PUSH_ORDER, SHORT_NAMES } from '../../protos/type-urls.ts';
import type { HeldResource } from './held-resources.ts';
import type { ProxyStatus, ProxyStatusTracker } from './proxy-status.ts';
import type { Variant } from './stream-base.ts';

const SERVICE = 'envoy.service.status.v3.ClientStatusDiscoveryService';

/** `type.matcher.v3.StringMatcher` as protobufjs decodes it; `matchPattern` names the oneof member set. */
interface StringMatcherMsg {
  matchPattern?: string;
  exact?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  ignoreCase?: boolean;
}

/** `ClientStatusRequest` as protobufjs decodes it (camelCase). */
export interface ClientStatusRequest {
  nodeMatchers?: { nodeId?: StringMatcherMsg | null; nodeMetadatas?: unknown[] }[];
  excludeResourceContents?: boolean;
}

const STRING_TESTS: Record<string, (value: string, pattern: string) => boolean> = {
  exact: (v, p) => v === p,
  prefix: (v, p) => v.startsWith(p),
  suffix: (v, p) => v.endsWith(p),
  contains: (v, p) => v.includes(p),
};

const snake = (camel: string) => camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** One `StringMatcher` as a predicate; regex and custom matchers are refused, naming the field. */
function stringMatcher(m: StringMatcherMsg, path: string): Result<(value: string) => boolean> {
  const kind = m.matchPattern;
  const test = kind ? STRING_TESTS[kind] : undefined;
  if (!kind) return fail(issue(path, 'must set one of exact, prefix, suffix, contains'));
  if (!test) return fail(issue(`${path}.${snake(kind)}`, 'is not supported (use exact, prefix, suffix or contains)'));
  const pattern = String(m[kind as keyof StringMatcherMsg] ?? '');
  if (!m.ignoreCase) return ok((v) => test(v, pattern));
  return ok((v) => test(v.toLowerCase(), pattern.toLowerCase()));
}

/** `node_matchers` as a predicate on node ids: none matches everything, several match if any does. */
export function nodeMatcher(req: ClientStatusRequest): Result<(nodeId: string) => boolean> {
  const tests: ((id: string) => boolean)[] = [];
  for (const [i, m] of (req.nodeMatchers ?? []).entries()) {
    const path = `node_matchers[${i}]`;
    if (m.nodeMetadatas?.length) return fail(issue(`${path}.node_metadatas`, 'is not supported (match on node_id)'));
    if (!m.nodeId) {
      tests.push(() => true);
      continue;
    }
    const matcher = stringMatcher(m.nodeId, `${path}.node_id`);
    if (!matcher.ok) return matcher;
    tests.push(matcher.value);
  }
  return ok(tests.length === 0 ? () => true : (id) => tests.some((t) => t(id)));
}

const timestamp = (d: Date) => ({ seconds: Math.floor(d.getTime() / 1000), nanos: (d.getTime() % 1000) * 1e6 });

/** The `Node` a proxy announced, as far as its identity keeps it. */
function nodeOf(p: ProxyIdentity) {
  const metadata = Object.fromEntries(Object.entries({ role: p.role, service: p.service, namespace: p.namespace }).filter(([, v]) => v));
  return {
    id: p.id,
    cluster: p.cluster,
    metadata: plainToStruct(metadata),
    ...(p.region || p.zone ? { locality: { ...(p.region ? { region: p.region } : {}), ...(p.zone ? { zone: p.zone } : {}) } } : {}),
    ...(p.userAgent ? { userAgentName: p.userAgent } : {}),
  };
}

/** ConfigStatus and ClientResourceStatus of a resource, from the outcome of the response that carried it. */
const STATUS = {
  acked: { configStatus: 'SYNCED', clientStatus: 'ACKED' },
  nacked: { configStatus: 'ERROR', clientStatus: 'NACKED' },
  sent: { configStatus: 'STALE', clientStatus: 'REQUESTED' },
} as const;

/** One `GenericXdsConfig`: a SotW resource reports its response's version_info, a Delta one its own version. */
function genericXdsConfig({ resource, response }: HeldResource, variant: Variant, withContents: boolean) {
  const versionInfo = variant === 'delta' ? resource.version : response.version;
  return {
    typeUrl: resource.typeUrl,
    name: resource.name,
    versionInfo,
    ...(withContents ? { xdsConfig: { type_url: resource.typeUrl, value: shownEncoded(resource.typeUrl, resource.encoded) } } : {}),
    lastUpdated: timestamp(response.at),
    ...STATUS[response.outcome ?? 'sent'],
    ...(response.nack
      ? { errorState: { lastUpdateAttempt: timestamp(response.nack.at), details: response.nack.errorDetail, versionInfo } }
      : {}),
  };
}

/** One `ClientConfig` for a stream, its resources in push order then by name. */
function clientConfig(s: ProxyStatus & { proxy: ProxyIdentity }, withContents: boolean) {
  const configs = PUSH_ORDER.flatMap((url) => s.types[SHORT_NAMES[url]]?.held.list() ?? []);
  return { node: nodeOf(s.proxy), genericXdsConfigs: configs.map((h) => genericXdsConfig(h, s.variant, withContents)) };
}

/** The `ClientStatusResponse` for a request (plain, for protobufjs): one ClientConfig per matching stream. */
export function clientStatus(tracker: ProxyStatusTracker, req: ClientStatusRequest): Result<Record<string, unknown>> {
  const matches = nodeMatcher(req);
  if (!matches.ok) return matches;
  const streams = tracker
    .list()
    .filter((s): s is ProxyStatus & { proxy: ProxyIdentity } => !!s.proxy && matches.value(s.proxy.id))
    .sort((a, b) => (a.proxy.id < b.proxy.id ? -1 : a.proxy.id > b.proxy.id ? 1 : a.connectedAt.getTime() - b.connectedAt.getTime()));
  return ok({ config: streams.map((s) => clientConfig(s, !req.excludeResourceContents)) });
}

type Incoming = ClientStatusRequest | { decodeError: string };

/** The CSDS service definition and handlers, for `grpc.Server.addService`. */
export function csdsService(tracker: ProxyStatusTracker): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation] {
  const requestType = messageType('envoy.service.status.v3.ClientStatusRequest');
  const responseType = messageType('envoy.service.status.v3.ClientStatusResponse');
  const method = (name: string, stream: boolean) => ({
    path: `/${SERVICE}/${name}`,
    requestStream: stream,
    responseStream: stream,
    requestSerialize: (m: object) => Buffer.from(requestType.encode(requestType.fromObject(m)).finish()),
    requestDeserialize: (bytes: Buffer): Incoming => {
      try {
        return requestType.decode(bytes) as ClientStatusRequest;
      } catch (err) {
        return { decodeError: `ClientStatusRequest could not be decoded: ${(err as Error).message}` };
      }
    },
    responseSerialize: (bytes: Buffer) => bytes,
    responseDeserialize: (bytes: Buffer) => bytes,
  });
  /** The encoded response, or the gRPC error to end the call with. */
  const answer = (req: Incoming): { bytes: Buffer } | { error: Partial<grpc.StatusObject> } => {
    if ('decodeError' in req) return { error: { code: grpc.status.INVALID_ARGUMENT, details: req.decodeError } };
    const result = clientStatus(tracker, req);
    if (!result.ok) {
      return { error: { code: grpc.status.INVALID_ARGUMENT, details: result.issues.map((i) => `${i.path} ${i.message}`).join('; ') } };
    }
    return { bytes: Buffer.from(responseType.encode(responseType.fromObject(result.value)).finish()) };
  };
  const definition: grpc.ServiceDefinition = { StreamClientStatus: method('StreamClientStatus', true), FetchClientStatus: method('FetchClientStatus', false) };
  const implementation: grpc.UntypedServiceImplementation = {
    FetchClientStatus: (call: grpc.ServerUnaryCall<Incoming, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const a = answer(call.request);
      if ('error' in a) callback(a.error);
      else callback(null, a.bytes);
    },
    StreamClientStatus: (call: grpc.ServerDuplexStream<Incoming, Buffer>) => {
      let ended = false;
      call.on('data', (req: Incoming) => {
        if (ended) return;
        const a = answer(req);
        if ('bytes' in a) return void call.write(a.bytes);
        ended = true;
        call.emit('error', a.error);
      });
      call.on('end', () => {
        if (!ended) call.end();
        ended = true;
      });
      call.on('error', () => {
        ended = true;
      });
    },
  };
  return [definition, implementation];
}
