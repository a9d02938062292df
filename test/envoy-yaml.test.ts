/** The Envoy YAML → protobufjs converter used by the bootstrap tests: each proto3 JSON rule, and each refusal. */
import { describe, expect, it } from 'vitest';
import { messageType } from '../src/protos/loader.ts';
import { decodeToPlain, encodeMessage } from '../src/protos/type-urls.ts';
import { envoyYamlToPlain, lostInRoundTrip } from './support/envoy-yaml.ts';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const NODE = 'envoy.config.core.v3.Node';
const ANY = 'google.protobuf.Any';

const convert = (type: string, value: unknown) => envoyYamlToPlain(messageType(type), value);

describe('envoyYamlToPlain converts', () => {
  it.each([
    ['5s', { seconds: 5, nanos: 0 }],
    ['0.250s', { seconds: 0, nanos: 250_000_000 }],
    ['1.000000001s', { seconds: 1, nanos: 1 }],
    ['-1.5s', { seconds: -1, nanos: -500_000_000 }],
    ['0s', { seconds: 0, nanos: 0 }],
  ])('the duration %s', (text, want) => {
    expect(convert(CLUSTER, { name: 'c', connect_timeout: text })).toEqual({ ok: true, value: { name: 'c', connectTimeout: want } });
  });

  it.each([
    ['snake_case names', { name: 'c', dns_lookup_family: 'V4_ONLY' }, { name: 'c', dnsLookupFamily: 'V4_ONLY' }],
    ['lowerCamel names (the JSON names)', { name: 'c', dnsLookupFamily: 'V4_ONLY' }, { name: 'c', dnsLookupFamily: 'V4_ONLY' }],
    ['bare wrapper scalars', { per_connection_buffer_limit_bytes: 1024 }, { perConnectionBufferLimitBytes: { value: 1024 } }],
    ['64-bit integers (kept as text)', { ring_hash_lb_config: { minimum_ring_size: 1024 } }, { ringHashLbConfig: { minimumRingSize: { value: '1024' } } }],
    ['null as "not set"', { name: 'c', connect_timeout: null }, { name: 'c' }],
  ])('%s', (_, input, want) => {
    expect(convert(CLUSTER, input)).toEqual({ ok: true, value: want });
  });

  it('names with a digit after the underscore', () => {
    const got = convert('envoy.extensions.upstreams.http.v3.HttpProtocolOptions', { explicit_http_config: { http2_protocol_options: {} } });
    expect(got).toEqual({ ok: true, value: { explicitHttpConfig: { http2ProtocolOptions: {} } } });
  });

  it('Structs from plain objects, keys untouched', () => {
    const got = convert(NODE, { id: 'n', metadata: { role: 'gateway', some_key: { list: [1, true, null] } } });
    expect(got).toEqual({
      ok: true,
      value: {
        id: 'n',
        metadata: {
          fields: {
            role: { stringValue: 'gateway' },
            some_key: { structValue: { fields: { list: { listValue: { values: [{ numberValue: 1 }, { boolValue: true }, { nullValue: 'NULL_VALUE' }] } } } } },
          },
        },
      },
    });
  });

  it('map keys untouched and Anys by their @type', () => {
    const url = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
    const got = convert(CLUSTER, { typed_extension_protocol_options: { some_ext: { '@type': url, explicit_http_config: { http2_protocol_options: {} } } } });
    expect(got).toEqual({
      ok: true,
      value: { typedExtensionProtocolOptions: { some_ext: { '@type': url, explicitHttpConfig: { http2ProtocolOptions: {} } } } },
    });
  });

  it('a stats sink as the bootstraps write it: its Any, and a bare false for a BoolValue kept (unset would mean true)', () => {
    const url = 'type.googleapis.com/envoy.config.metrics.v3.MetricsServiceConfig';
    const sink = {
      name: 'envoy.stat_sinks.metrics_service',
      typed_config: { '@type': url, grpc_service: { envoy_grpc: { cluster_name: 'xds_cluster' } }, transport_api_version: 'V3', report_counters_as_deltas: false, emit_tags_as_labels: false },
    };
    expect(convert('envoy.config.metrics.v3.StatsSink', sink)).toEqual({
      ok: true,
      value: {
        name: 'envoy.stat_sinks.metrics_service',
        typedConfig: { '@type': url, grpcService: { envoyGrpc: { clusterName: 'xds_cluster' } }, transportApiVersion: 'V3', reportCountersAsDeltas: { value: false }, emitTagsAsLabels: false },
      },
    });
  });

  it.each([
    ['Duration', '2.5s', { seconds: 2, nanos: 500_000_000 }],
    ['Timestamp', '2024-01-02T03:04:05.5Z', { seconds: 1704164645, nanos: 500_000_000 }],
    ['UInt32Value', 7, { value: 7 }],
    ['Struct', { a: 'b' }, { fields: { a: { stringValue: 'b' } } }],
  ])('an Any holding a %s (its JSON in `value`)', (name, value, want) => {
    const url = `type.googleapis.com/google.protobuf.${name}`;
    expect(convert(ANY, { '@type': url, value })).toEqual({ ok: true, value: { '@type': url, ...want } });
  });
});

describe('envoyYamlToPlain refuses what protobufjs would drop or coerce', () => {
  it.each([
    ['a misspelt key', { name: 'c', conect_timeout: '1s' }, 'conect_timeout', /is not a field of envoy\.config\.cluster\.v3\.Cluster/],
    ['an inherited property name', { constructor: 'x' }, 'constructor', /is not a field/],
    ['an unknown enum name', { type: 'STRICT_DSN' }, 'type', /must be one of STATIC, STRICT_DNS/],
    ['a number for a string', { name: 5 }, 'name', /must be a string/],
    ['text for a number', { load_assignment: { cluster_name: 'c', endpoints: [{ priority: 'high' }] } }, 'load_assignment.endpoints[0].priority', /must be an integer/],
    ['a negative unsigned', { load_assignment: { cluster_name: 'c', endpoints: [{ priority: -1 }] } }, 'load_assignment.endpoints[0].priority', /from 0 to 4294967295/],
    ['text for a bool', { respect_dns_ttl: 'yes' }, 'respect_dns_ttl', /must be true or false/],
    ['a number for a duration', { connect_timeout: 5 }, 'connect_timeout', /must be a duration/],
    ['a duration in ms', { connect_timeout: '5ms' }, 'connect_timeout', /must be a duration/],
    ['more than nine fractional digits', { connect_timeout: '1.0000000001s' }, 'connect_timeout', /must be a duration/],
    ['a scalar for a message', { load_assignment: 'c' }, 'load_assignment', /must be an object \(envoy\.config\.endpoint\.v3\.ClusterLoadAssignment\)/],
    ['an object for a list', { health_checks: {} }, 'health_checks', /must be a list/],
    ['two members of one oneof', { type: 'STATIC', cluster_type: { name: 'x' } }, 'cluster_type', /is in oneof cluster_discovery_type with type/],
    ['an Any of an unknown type', { typed_extension_protocol_options: { x: { '@type': 'type.googleapis.com/no.Such' } } }, 'typed_extension_protocol_options["x"].@type', /names no known/],
    ['an Any with fields but no @type', { typed_extension_protocol_options: { x: { explicit_http_config: {} } } }, 'typed_extension_protocol_options["x"].@type', /is required/],
    ['an unknown key inside an Any', { typed_extension_protocol_options: { x: { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http: {} } } }, 'typed_extension_protocol_options["x"].explicit_http', /is not a field/],
  ])('%s', (_, input, path, message) => {
    const got = convert(CLUSTER, input);
    expect(got.ok).toBe(false);
    if (!got.ok) expect(got.issues).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it('a deprecated field (HTTP/2 for a cluster belongs in typed_extension_protocol_options)', () => {
    expect(convert(CLUSTER, { http2_protocol_options: {} })).toEqual({ ok: false, issues: [{ path: 'http2_protocol_options', message: 'is deprecated in the Envoy API' }] });
  });

  it('a deprecated enum value, unless allowed', () => {
    const source = { api_config_source: { api_type: 'GRPC', transport_api_version: 'V2' } };
    const type = messageType('envoy.config.core.v3.ConfigSource');
    expect(envoyYamlToPlain(type, source)).toEqual({ ok: false, issues: [{ path: 'api_config_source.transport_api_version', message: 'is deprecated in the Envoy API' }] });
    expect(envoyYamlToPlain(type, source, { allowDeprecated: true }).ok).toBe(true);
  });
});

describe('lostInRoundTrip', () => {
  const node = messageType(NODE);
  const roundTrip = (plain: Record<string, unknown>) => decodeToPlain(node, encodeMessage(node, plain));

  it('finds a key protobufjs dropped without a word', () => {
    const sent = { id: 'n', clustr: 'typo' };
    expect(lostInRoundTrip(sent, roundTrip(sent))).toEqual([{ path: 'clustr', message: 'was "typo", came back as undefined' }]);
  });

  it('accepts defaults that proto3 leaves off the wire, and 64-bit integers coming back as text', () => {
    const cluster = messageType(CLUSTER);
    const sent = { name: '', connectTimeout: { seconds: 5, nanos: 0 }, respectDnsTtl: false };
    expect(lostInRoundTrip(sent, decodeToPlain(cluster, encodeMessage(cluster, sent)))).toEqual([]);
  });

  it('accepts Struct nulls and enums given by number', () => {
    const sent = envoyYamlToPlain(node, { id: 'n', metadata: { a: null, b: [null] } });
    expect(sent.ok && lostInRoundTrip(sent.value, roundTrip(sent.value))).toEqual([]);
    const source = messageType('envoy.config.core.v3.ApiConfigSource');
    const numeric = envoyYamlToPlain(source, { api_type: 2 });
    expect(numeric).toEqual({ ok: true, value: { apiType: 'GRPC' } });
    expect(numeric.ok && lostInRoundTrip(numeric.value, decodeToPlain(source, encodeMessage(source, numeric.value)))).toEqual([]);
  });

  it('notices an empty message that did not come back', () => {
    expect(lostInRoundTrip({ a: {} }, {})).toEqual([{ path: 'a', message: 'was an object, came back as undefined' }]);
  });
});
