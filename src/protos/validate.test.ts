import { describe, expect, it } from 'vitest';
import { messageType } from './loader.ts';
import { validateEncoded, validateMessage } from './validate.ts';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const HCM_PATH = `api_listener.api_listener<${HCM.slice(HCM.indexOf('/') + 1)}>`;
const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const CLA = 'envoy.config.endpoint.v3.ClusterLoadAssignment';
const edsCluster = {
  name: 'backend',
  type: 'EDS',
  edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: 'V3' } },
  connectTimeout: { seconds: 1 },
};
const lbEndpoint = { endpoint: { address: { socketAddress: { address: '10.0.0.1', portValue: 8080 } } } };
const hcm = (extra: object): object => ({ '@type': HCM, statPrefix: 'ingress', ...extra });
const listener = (config: object): object => ({ name: 'api', apiListener: { apiListener: config } });
const routeConfig = (route: object, vhost: object = {}): object => ({
  name: 'local',
  virtualHosts: [{ name: 'vh', domains: ['*'], routes: [{ route: { cluster: 'backend' }, ...route }], ...vhost }],
});
const ROUTE0 = 'virtual_hosts[0].routes[0]';

interface Case { name: string; type: string; value: object; issues: [path: string, message?: string][] }

const cases: Case[] = [
  { name: 'a valid EDS cluster', type: CLUSTER, value: edsCluster, issues: [] },
  { name: 'string min_len', type: CLUSTER, value: { ...edsCluster, name: '' }, issues: [['name', 'length must be at least 1']] },
  { name: 'duration gt 0s', type: CLUSTER, value: { ...edsCluster, connectTimeout: { seconds: 0 } }, issues: [['connect_timeout', 'must be > 0s']] },
  {
    name: 'enum defined_only',
    type: CLUSTER,
    value: { ...edsCluster, lbPolicy: 99 },
    issues: [['lb_policy', 'value must be one of the defined enum values']],
  },
  {
    name: 'several issues at once',
    type: CLUSTER,
    value: { ...edsCluster, name: '', connectTimeout: {}, lbPolicy: 42 },
    issues: [['name'], ['connect_timeout'], ['lb_policy']],
  },
  {
    name: 'the set member of a oneof is checked',
    type: CLUSTER,
    value: { name: 'c', clusterType: { name: '' }, connectTimeout: { seconds: 1 } },
    issues: [['cluster_type.name', 'length must be at least 1']],
  },
  {
    name: 'wrapper rules apply to .value',
    type: CLA,
    value: { clusterName: 'c', endpoints: [{ lbEndpoints: [lbEndpoint, { ...lbEndpoint, loadBalancingWeight: { value: 0 } }] }] },
    issues: [['endpoints[0].lb_endpoints[1].load_balancing_weight.value', 'must be >= 1']],
  },
  { name: 'an unset wrapper is not checked', type: CLA, value: { clusterName: 'c', endpoints: [{ lbEndpoints: [lbEndpoint] }] }, issues: [] },
  {
    name: 'double range on a DoubleValue',
    type: CLUSTER,
    value: { ...edsCluster, preconnectPolicy: { perUpstreamPreconnectRatio: { value: 5 } } },
    issues: [['preconnect_policy.per_upstream_preconnect_ratio.value', 'must be inside range [1, 3]']],
  },
  { name: 'an empty optional message: rules inside do not fire', type: CLUSTER, value: { ...edsCluster, preconnectPolicy: {} }, issues: [] },
  {
    name: 'uint64 wrapper given as a string',
    type: 'envoy.config.core.v3.UdpSocketConfig',
    value: { maxRxDatagramSize: { value: '70000' } },
    issues: [['max_rx_datagram_size.value', 'must be inside range (0, 65536)']],
  },
  {
    name: 'recursion into an Any (api_listener)',
    type: 'envoy.config.listener.v3.Listener',
    value: listener(hcm({ rds: { routeConfigName: 'r', configSource: { ads: {} } }, httpFilters: [{ name: 'ok' }, { name: '' }] })),
    issues: [[`${HCM_PATH}.http_filters[1].name`, 'length must be at least 1']],
  },
  {
    name: 'required oneof inside an Any',
    type: 'envoy.config.listener.v3.Listener',
    value: listener(hcm({})),
    issues: [[`${HCM_PATH}.route_specifier`, 'exactly one of [rds, route_config, scoped_routes] is required']],
  },
  {
    name: 'required oneof at top level',
    type: 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    value: { statPrefix: 'x' },
    issues: [['route_specifier', 'exactly one of [rds, route_config, scoped_routes] is required']],
  },
  {
    name: 'Any with an unknown type URL',
    type: CLUSTER,
    value: { ...edsCluster, transportSocket: { name: 't', typedConfig: { type_url: 'type.googleapis.com/does.not.Exist', value: new Uint8Array() } } },
    issues: [['transport_socket.typed_config', 'unknown type type.googleapis.com/does.not.Exist']],
  },
  {
    name: 'any required + string min_len',
    type: 'envoy.config.core.v3.TypedExtensionConfig',
    value: {},
    issues: [['name', 'length must be at least 1'], ['typed_config', 'is required']],
  },
  { name: 'a valid route configuration', type: 'envoy.config.route.v3.RouteConfiguration', value: routeConfig({ match: { prefix: '/' } }), issues: [] },
  {
    name: 'string pattern',
    type: 'envoy.config.route.v3.RouteConfiguration',
    value: routeConfig({ match: { pathSeparatedPrefix: '/api/' } }),
    issues: [[`${ROUTE0}.match.path_separated_prefix`, 'must match pattern "^[^?#]+[^?#/]$"']],
  },
  {
    name: 'HTTP_HEADER_NAME (strict: false) on a header key',
    type: 'envoy.config.route.v3.RouteConfiguration',
    value: routeConfig({ match: { prefix: '/' }, requestHeadersToAdd: [{ header: { key: 'x-a\nb', value: 'v' } }] }),
    issues: [[`${ROUTE0}.request_headers_to_add[0].header.key`, 'must be a valid HTTP header name']],
  },
  {
    name: 'required oneof (route match) and repeated min_items',
    type: 'envoy.config.route.v3.RouteConfiguration',
    value: routeConfig({ match: {} }, { domains: [] }),
    issues: [['virtual_hosts[0].domains', 'must contain at least 1 item(s)'], [`${ROUTE0}.match.path_specifier`]],
  },
  { name: 'repeated min_items', type: 'envoy.config.route.v3.VirtualHost', value: { name: 'vh' }, issues: [['domains', 'must contain at least 1 item(s)']] },
  {
    name: 'HTTP_HEADER_VALUE (strict) and enum not_in',
    type: 'envoy.config.core.v3.HealthCheck.HttpHealthCheck',
    value: { path: '/health', host: 'a\u0001', method: 'CONNECT' },
    issues: [['host', 'must be a valid HTTP header value'], ['method', 'must not be in list [6]']],
  },
  { name: 'strict header values allow tabs', type: 'envoy.config.core.v3.HealthCheck.HttpHealthCheck', value: { path: '/', host: 'a\tb' }, issues: [] },
  {
    name: 'HTTP_HEADER_NAME (strict)',
    type: 'envoy.config.core.v3.UpstreamHttpProtocolOptions',
    value: { overrideAutoSniHeader: 'bad name' },
    issues: [['override_auto_sni_header', 'must be a valid HTTP header name']],
  },
  { name: 'ignore_empty skips the default', type: 'envoy.config.core.v3.UpstreamHttpProtocolOptions', value: { overrideAutoSniHeader: '' }, issues: [] },
  {
    name: 'uint32 lt/gte range',
    type: 'envoy.config.route.v3.DirectResponseAction',
    value: { status: 100 },
    issues: [['status', 'must be inside range [200, 600)']],
  },
  { name: 'a proto3 scalar at its default still gets its rules', type: 'envoy.config.route.v3.DirectResponseAction', value: {}, issues: [['status']] },
  {
    name: 'repeated unique and items',
    type: 'envoy.config.metrics.v3.HistogramBucketSettings',
    value: { match: { exact: 'x' }, buckets: [1, 1, -1] },
    issues: [['buckets[1]', 'repeated value must contain unique items'], ['buckets[2]', 'must be > 0']],
  },
  {
    name: 'repeated items string in',
    type: 'envoy.extensions.filters.http.router.v3.Router',
    value: { strictCheckHeaders: ['x-envoy-max-retries', 'x-other'] },
    issues: [['strict_check_headers[1]']],
  },
  {
    name: 'message required',
    type: 'envoy.config.metrics.v3.HistogramBucketSettings',
    value: { buckets: [1] },
    issues: [['match', 'is required']],
  },
  {
    name: 'map keys',
    type: 'envoy.config.core.v3.Metadata',
    value: { filterMetadata: { '': {}, ok: {} } },
    issues: [['filter_metadata[""]', 'key length must be at least 1']],
  },
  {
    name: 'duration range and bool const in a set oneof',
    type: 'envoy.config.bootstrap.v3.Bootstrap',
    value: { statsFlushInterval: { nanos: 1000 }, statsFlushOnAdmin: false },
    issues: [['stats_flush_interval', 'must be inside range [0.001s, 300s)'], ['stats_flush_on_admin', 'must equal true']],
  },
  { name: 'an unset oneof member is not checked', type: 'envoy.config.bootstrap.v3.Bootstrap', value: {}, issues: [] },
];

const paths = (issues: { path: string }[]): string[] => issues.map((i) => i.path);

describe('validateMessage', () => {
  it.each(cases)('$name', ({ type, value, issues }) => {
    const t = messageType(type);
    const got = validateMessage(t, t.fromObject(value));
    expect(paths(got)).toEqual(issues.map(([p]) => p));
    issues.forEach(([, message], i) => message !== undefined && expect(got[i]?.message).toBe(message));
  });

  it('accepts plain objects as well as messages', () => {
    const t = messageType(CLUSTER);
    expect(validateMessage(t, { ...edsCluster, name: '' })).toEqual([{ path: 'name', message: 'length must be at least 1' }]);
  });

  it('gives the same answer on repeated runs (cached plans)', () => {
    const t = messageType(CLA);
    const value = t.fromObject({ clusterName: 'c', endpoints: [{ lbEndpoints: [{ ...lbEndpoint, loadBalancingWeight: { value: 0 } }] }] });
    const first = validateMessage(t, value);
    for (let i = 0; i < 50; i++) expect(validateMessage(t, value)).toEqual(first);
  });
});

describe('validateEncoded', () => {
  it.each(cases)('$name (encoded)', ({ type, value, issues }) => {
    const t = messageType(type);
    expect(paths(validateEncoded(t, t.encode(t.fromObject(value)).finish()))).toEqual(issues.map(([p]) => p));
  });

  it('reports bytes that do not decode', () => {
    const got = validateEncoded(messageType(CLUSTER), new Uint8Array([0x0a, 0xff]));
    expect(paths(got)).toEqual(['']);
    expect(got[0]?.message).toMatch(/^cannot decode envoy\.config\.cluster\.v3\.Cluster/);
  });
});
