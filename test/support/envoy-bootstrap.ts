/**
 * Checks an Envoy bootstrap file of ours end to end: YAML → protobufjs plain (envoy-yaml.ts) → encoded
 * `envoy.config.bootstrap.v3.Bootstrap` → PGV validation → decoded back and compared with what was
 * sent → the rules our bootstraps follow (a known node role, ADS over HTTP/2 to a static cluster,
 * stats to the control plane's metrics service over that cluster).
 */
import { parseDocument } from 'yaml';
import { issue, type Issue } from '../../src/lib/result.ts';
import { proxyFromNode } from '../../src/model/proxy.ts';
import { messageType } from '../../src/protos/loader.ts';
import { structToPlain, type StructMsg } from '../../src/protos/struct.ts';
import { decodeToPlain, encodeMessage } from '../../src/protos/type-urls.ts';
import { validateEncoded } from '../../src/protos/validate.ts';
import { envoyYamlToPlain, lostInRoundTrip } from './envoy-yaml.ts';

export const BOOTSTRAP_TYPE = 'envoy.config.bootstrap.v3.Bootstrap';
export const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
export const METRICS_SERVICE_SINK = 'envoy.stat_sinks.metrics_service';
export const METRICS_SERVICE_CONFIG = 'envoy.config.metrics.v3.MetricsServiceConfig';

interface SocketAddress { address?: string; portValue?: number }
interface StaticCluster {
  name?: string;
  type?: string;
  loadAssignment?: { clusterName?: string; endpoints?: { lbEndpoints?: { endpoint?: { address?: { socketAddress?: SocketAddress } } }[] }[] };
  typedExtensionProtocolOptions?: Record<string, { '@type'?: string; explicitHttpConfig?: { http2ProtocolOptions?: object } }>;
}
interface ConfigSource { ads?: object; resourceApiVersion?: string }
interface StatsSink {
  name?: string;
  typedConfig?: { '@type'?: string; grpcService?: { envoyGrpc?: { clusterName?: string } }; transportApiVersion?: string; reportCountersAsDeltas?: { value?: boolean }; emitTagsAsLabels?: boolean };
}

/** The parts of a decoded Bootstrap (camelCase, as `decodeToPlain` returns it) that the checks read. */
export interface DecodedBootstrap {
  node?: { id?: string; cluster?: string; metadata?: StructMsg };
  dynamicResources?: {
    adsConfig?: { apiType?: string; transportApiVersion?: string; grpcServices?: { envoyGrpc?: { clusterName?: string } }[] };
    cdsConfig?: ConfigSource;
    ldsConfig?: ConfigSource;
  };
  staticResources?: { clusters?: StaticCluster[] };
  statsSinks?: StatsSink[];
  statsFlushInterval?: { seconds?: number | string; nanos?: number };
  admin?: { address?: { socketAddress?: SocketAddress } };
}

export interface BootstrapCheck {
  issues: Issue[];
  /** The bootstrap as Envoy would read it back from the wire (absent when it could not be encoded). */
  decoded?: DecodedBootstrap;
}

/** Runs every check on a parsed bootstrap document. */
export function checkBootstrap(doc: unknown): BootstrapCheck {
  const type = messageType(BOOTSTRAP_TYPE);
  const plain = envoyYamlToPlain(type, doc);
  if (!plain.ok) return { issues: plain.issues };
  let bytes: Uint8Array;
  try {
    bytes = encodeMessage(type, plain.value);
  } catch (e) {
    return { issues: [issue('', `cannot encode: ${(e as Error).message}`)] };
  }
  const decoded = decodeToPlain(type, bytes);
  const issues = [...validateEncoded(type, bytes), ...lostInRoundTrip(plain.value, decoded), ...meshRules(decoded as DecodedBootstrap)];
  return { issues, decoded: decoded as DecodedBootstrap };
}

/** Parses YAML text strictly (a duplicate key or a syntax error is an issue, not a silent last-wins). */
export function parseYaml(text: string): { doc: unknown; issues: Issue[] } {
  const parsed = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const issues = [...parsed.errors, ...parsed.warnings].map((e) => issue(`yaml:${e.linePos?.[0]?.line ?? '?'}`, e.message));
  return { doc: parsed.toJS(), issues };
}

/** The node the control plane would see: its identity as `proxyFromNode` reads it. */
export function nodeIdentity(b: DecodedBootstrap) {
  return proxyFromNode({ ...b.node, metadata: structToPlain(b.node?.metadata) });
}

/** The static cluster that ads_config's first gRPC service names, if there is one. */
export function adsCluster(b: DecodedBootstrap): StaticCluster | undefined {
  const name = b.dynamicResources?.adsConfig?.grpcServices?.[0]?.envoyGrpc?.clusterName;
  return b.staticResources?.clusters?.find((c) => c.name === name);
}

/** The first endpoint address of a static cluster. */
export function firstAddress(c: StaticCluster | undefined): SocketAddress | undefined {
  return c?.loadAssignment?.endpoints?.[0]?.lbEndpoints?.[0]?.endpoint?.address?.socketAddress;
}

/** The stats sink that streams to the control plane's metrics service, if there is one. */
export function metricsServiceSink(b: DecodedBootstrap): StatsSink | undefined {
  return b.statsSinks?.find((s) => s.name === METRICS_SERVICE_SINK);
}

/** The metrics service sink: present, typed, over the ADS cluster (the telemetry services share the xDS port), v3. */
function statsSinkRules(b: DecodedBootstrap): Issue[] {
  const sink = metricsServiceSink(b);
  if (!sink) return [issue('stats_sinks', `must have ${METRICS_SERVICE_SINK}: stats reach the control plane only through it`)];
  const at = `stats_sinks[${b.statsSinks!.indexOf(sink)}].typed_config`;
  const config = sink.typedConfig;
  if (config?.['@type'] !== `type.googleapis.com/${METRICS_SERVICE_CONFIG}`) return [issue(`${at}.@type`, `must be ${METRICS_SERVICE_CONFIG}`)];
  const out: Issue[] = [];
  const ads = b.dynamicResources?.adsConfig?.grpcServices?.[0]?.envoyGrpc?.clusterName;
  const named = config.grpcService?.envoyGrpc?.clusterName;
  if (named !== ads) out.push(issue(`${at}.grpc_service.envoy_grpc.cluster_name`, `must be the ADS cluster ${JSON.stringify(ads)}, not ${JSON.stringify(named)}`));
  if (config.transportApiVersion !== 'V3') out.push(issue(`${at}.transport_api_version`, 'must be V3'));
  return out;
}

/** What our bootstraps must say beyond Envoy's own rules; paths are snake_case like the validator's. */
function meshRules(b: DecodedBootstrap): Issue[] {
  const out: Issue[] = [];
  const node = nodeIdentity(b);
  if (!node.ok) out.push(...node.issues);
  else if (!b.node?.metadata?.fields?.role) out.push(issue('node.metadata.role', 'must be set: a missing role means a proxyless gRPC client'));
  const ads = b.dynamicResources?.adsConfig;
  if (ads?.apiType !== 'GRPC') out.push(issue('dynamic_resources.ads_config.api_type', 'must be GRPC (the control plane serves state-of-the-world ADS)'));
  if (ads?.transportApiVersion !== 'V3') out.push(issue('dynamic_resources.ads_config.transport_api_version', 'must be V3'));
  const cluster = adsCluster(b);
  const named = ads?.grpcServices?.[0]?.envoyGrpc?.clusterName;
  if (!cluster) out.push(issue('dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name', `names no static cluster: ${JSON.stringify(named)}`));
  else {
    const options = cluster.typedExtensionProtocolOptions?.[HTTP_PROTOCOL_OPTIONS];
    if (!options?.explicitHttpConfig?.http2ProtocolOptions) out.push(issue(`static_resources.clusters[${named}]`, 'must use HTTP/2: xDS is gRPC'));
    if (!firstAddress(cluster)?.address) out.push(issue(`static_resources.clusters[${named}].load_assignment`, 'must have an endpoint'));
  }
  for (const key of ['cdsConfig', 'ldsConfig'] as const) {
    const src = b.dynamicResources?.[key];
    const path = `dynamic_resources.${key === 'cdsConfig' ? 'cds' : 'lds'}_config`;
    if (!src?.ads || src.resourceApiVersion !== 'V3') out.push(issue(path, 'must be {ads: {}, resource_api_version: V3}'));
  }
  return [...out, ...statsSinkRules(b)];
}
