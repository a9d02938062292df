/**
 * Every Envoy bootstrap under envoy/ must be what Envoy would accept and what the control plane
 * expects: converted from YAML with unknown keys refused, encoded as a v3 Bootstrap, PGV-valid,
 * unchanged by the protobuf round trip, and pointing its ADS stream at the control plane.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../src/config.ts';
import type { Role } from '../src/model/proxy.ts';
import { ACCESS_LOG_STREAM_BUFFER_BYTES } from '../src/envoy/access-log.ts';
import { BOOTSTRAP_XDS_CLUSTER } from '../src/model/names.ts';
import {
  adsCluster,
  checkBootstrap,
  firstAddress,
  HTTP_PROTOCOL_OPTIONS,
  METRICS_SERVICE_CONFIG,
  METRICS_SERVICE_SINK,
  metricsServiceSink,
  nodeIdentity,
  parseYaml,
} from './support/envoy-bootstrap.ts';

const ENVOY_DIR = fileURLToPath(new URL('../envoy/', import.meta.url));
const FILES = readdirSync(ENVOY_DIR).filter((f) => f.endsWith('.yaml')).sort();

/** The role each file announces; a new bootstrap must be added here. */
const ROLES: Record<string, Role> = { 'gateway.yaml': 'gateway', 'sidecar.yaml': 'sidecar' };
const XDS_PORT = SETTINGS.find((s) => s.env === 'XDS_PORT')?.default;

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function load(file: string): Doc {
  const { doc, issues } = parseYaml(readFileSync(path.join(ENVOY_DIR, file), 'utf8'));
  expect(issues).toEqual([]);
  return doc as Doc;
}

describe('envoy/*.yaml bootstraps', () => {
  it('are the files the role table lists', () => {
    expect(FILES).toEqual(Object.keys(ROLES).sort());
  });

  describe.each(FILES)('%s', (file) => {
    it('encodes as a v3 Bootstrap with no validation issue and nothing lost in the round trip', () => {
      const { issues, decoded } = checkBootstrap(load(file));
      expect(issues).toEqual([]);
      expect(decoded).toBeDefined();
    });

    it(`announces the role the control plane should serve it (${ROLES[file]})`, () => {
      const doc = load(file);
      const node = nodeIdentity(checkBootstrap(doc).decoded!);
      // What the control plane reads from the wire is what the file says, and what the file should say.
      expect(node.ok && node.value.role).toBe(doc.node.metadata.role);
      expect(node.ok && node.value.role).toBe(ROLES[file]);
      if (!node.ok) return;
      expect(node.value.id).not.toBe('');
      expect(node.value.cluster).not.toBe('');
      if (node.value.role === 'sidecar') {
        expect(node.value.service).toMatch(/^[a-z0-9-]+$/);
        expect(node.value.namespace).toMatch(/^[a-z0-9-]+$/);
        expect(node.value.cluster).toBe(`${node.value.service}.${node.value.namespace}`);
      }
    });

    it('opens one ADS stream over HTTP/2 to the control plane, and takes CDS and LDS from it', () => {
      const doc = load(file);
      const { decoded } = checkBootstrap(doc);
      const b = decoded!;
      const ads = b.dynamicResources?.adsConfig;
      expect(ads).toMatchObject({ apiType: 'GRPC', transportApiVersion: 'V3' });
      const cluster = adsCluster(b);
      // The cluster ads_config names is the static one, checked against the YAML as written too.
      expect(cluster?.name).toBe(ads?.grpcServices?.[0]?.envoyGrpc?.clusterName);
      expect(cluster?.name).toBe(doc.static_resources.clusters[0].name);
      expect(cluster?.type).toBe('STRICT_DNS');
      expect(cluster?.loadAssignment?.clusterName).toBe(cluster?.name);
      // The gateway of the compose demo shares the control plane's network namespace (xDS on loopback).
      expect(firstAddress(cluster)).toEqual({ address: file === 'gateway.yaml' ? '127.0.0.1' : 'control-plane', portValue: XDS_PORT });
      const http = cluster?.typedExtensionProtocolOptions?.[HTTP_PROTOCOL_OPTIONS];
      expect(http?.['@type']).toBe(`type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`);
      expect(http?.explicitHttpConfig?.http2ProtocolOptions).toBeDefined();
      for (const src of [b.dynamicResources?.cdsConfig, b.dynamicResources?.ldsConfig]) expect(src).toEqual({ ads: {}, resourceApiVersion: 'V3' });
      expect(b.admin?.address?.socketAddress?.portValue).toBe(9901);
    });

    it('is what generated access loggers fall back to: its ADS cluster is the xds_cluster they name, its log streams bounded as the served telemetry cluster\'s', () => {
      const cluster = adsCluster(checkBootstrap(load(file)).decoded!);
      expect(cluster?.name).toBe(BOOTSTRAP_XDS_CLUSTER);
      const http2 = cluster?.typedExtensionProtocolOptions?.[HTTP_PROTOCOL_OPTIONS]?.explicitHttpConfig?.http2ProtocolOptions as { initialStreamWindowSize?: { value: number } } | undefined;
      expect(http2?.initialStreamWindowSize).toEqual({ value: ACCESS_LOG_STREAM_BUFFER_BYTES });
    });

    it('sends its stats every 10 s to the control plane\'s metrics service over the ADS cluster, counters as totals, tags in names', () => {
      const b = checkBootstrap(load(file)).decoded!;
      expect(b.statsSinks).toHaveLength(1);
      expect(metricsServiceSink(b)).toEqual({
        name: METRICS_SERVICE_SINK,
        typedConfig: {
          '@type': `type.googleapis.com/${METRICS_SERVICE_CONFIG}`,
          grpcService: { envoyGrpc: { clusterName: BOOTSTRAP_XDS_CLUSTER } },
          transportApiVersion: 'V3',
          // A BoolValue: false must be said, as an unset one means Envoy's default.
          reportCountersAsDeltas: { value: false },
          emitTagsAsLabels: false,
        },
      });
      expect(b.statsFlushInterval).toEqual({ seconds: '10', nanos: 0 });
    });
  });
});

/** Deliberately broken copies of a bootstrap, and where and how each must be reported. */
const XDS = (d: Doc) => d.static_resources.clusters[0];
const GRPC_SERVICE = (d: Doc) => d.dynamic_resources.ads_config.grpc_services[0].envoy_grpc;
const BROKEN: { name: string; path: string; message: RegExp; breakIt: (d: Doc) => void }[] = [
  { name: 'the xds cluster has no name', path: 'static_resources.clusters[0].name', message: /length must be at least 1/, breakIt: (d) => delete XDS(d).name },
  { name: 'connect_timeout is 0s', path: 'static_resources.clusters[0].connect_timeout', message: /must be > 0s/, breakIt: (d) => (XDS(d).connect_timeout = '0s') },
  {
    name: 'connect_timeout is a bare number',
    path: 'static_resources.clusters[0].connect_timeout',
    message: /must be a duration/,
    breakIt: (d) => (XDS(d).connect_timeout = 5),
  },
  {
    name: 'a misspelt key (protobufjs alone would drop it)',
    path: 'static_resources.clusters[0].conect_timeout',
    message: /is not a field of envoy\.config\.cluster\.v3\.Cluster/,
    breakIt: (d) => (XDS(d).conect_timeout = '5s'),
  },
  { name: 'an unknown enum name', path: 'static_resources.clusters[0].type', message: /must be one of .*STRICT_DNS/, breakIt: (d) => (XDS(d).type = 'STRICT_DSN') },
  {
    name: 'ads_config names a cluster that does not exist',
    path: 'dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name',
    message: /names no static cluster/,
    breakIt: (d) => (GRPC_SERVICE(d).cluster_name = 'xds-cluster'),
  },
  {
    name: 'ads_config names no cluster at all',
    path: 'dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name',
    message: /length must be at least 1/,
    breakIt: (d) => (GRPC_SERVICE(d).cluster_name = ''),
  },
  { name: 'an unknown role', path: 'node.metadata.role', message: /must be one of grpc, gateway, sidecar/, breakIt: (d) => (d.node.metadata.role = 'gatewy') },
  { name: 'no role', path: 'node.metadata.role', message: /must be set/, breakIt: (d) => delete d.node.metadata.role },
  { name: 'no node id', path: 'node.id', message: /is required/, breakIt: (d) => delete d.node.id },
  {
    name: 'the xds cluster speaks HTTP/1.1',
    path: 'static_resources.clusters[xds_cluster]',
    message: /must use HTTP\/2/,
    breakIt: (d) => delete XDS(d).typed_extension_protocol_options,
  },
  {
    name: 'an Any whose @type is unknown',
    path: `static_resources.clusters[0].typed_extension_protocol_options["${HTTP_PROTOCOL_OPTIONS}"].@type`,
    message: /names no known message type/,
    breakIt: (d) => (XDS(d).typed_extension_protocol_options[HTTP_PROTOCOL_OPTIONS]['@type'] = 'type.googleapis.com/envoy.Nope'),
  },
  {
    name: 'a port above 65535',
    path: 'static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value',
    message: /must be <= 65535/,
    breakIt: (d) => (XDS(d).load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value = 70000),
  },
  { name: 'LDS not over ADS', path: 'dynamic_resources.lds_config', message: /must be \{ads: \{\}/, breakIt: (d) => delete d.dynamic_resources.lds_config },
  {
    name: 'no metrics service sink',
    path: 'stats_sinks',
    message: /must have envoy\.stat_sinks\.metrics_service/,
    breakIt: (d) => delete d.stats_sinks,
  },
  {
    name: 'the metrics service sink names another cluster than ADS',
    path: 'stats_sinks[0].typed_config.grpc_service.envoy_grpc.cluster_name',
    message: /must be the ADS cluster "xds_cluster"/,
    breakIt: (d) => (d.stats_sinks[0].typed_config.grpc_service.envoy_grpc.cluster_name = 'metrics'),
  },
  {
    name: 'the metrics service sink has no gRPC service',
    path: `stats_sinks[0].typed_config<${METRICS_SERVICE_CONFIG}>.grpc_service`,
    message: /is required/,
    breakIt: (d) => delete d.stats_sinks[0].typed_config.grpc_service,
  },
  {
    name: 'a deprecated transport version',
    path: 'dynamic_resources.ads_config.transport_api_version',
    message: /is deprecated/,
    breakIt: (d) => (d.dynamic_resources.ads_config.transport_api_version = 'V2'),
  },
];

describe.each(FILES)('a broken copy of %s is reported', (file) => {
  it('(the unbroken copy has no issue)', () => {
    expect(checkBootstrap(load(file)).issues).toEqual([]);
  });

  it.each(BROKEN)('$name', ({ path: where, message, breakIt }) => {
    const doc = structuredClone(load(file));
    breakIt(doc);
    expect(checkBootstrap(doc).issues).toContainEqual({ path: where, message: expect.stringMatching(message) });
  });
});
