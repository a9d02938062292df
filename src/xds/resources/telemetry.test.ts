/**
 * Telemetry in whole built meshes: which resources log and trace (Envoy's HCMs and TCP proxies, never
 * proxyless gRPC's listeners), the clusters served for it and to whom, the span service of each
 * sidecar, and that all of it passes the publish gate. Goldens show the config with it all on.
 */
import { describe, expect, it } from 'vitest';
import { ACCESS_LOG_STREAM_BUFFER_BYTES } from '../../envoy/access-log.ts';
import type { Plain } from '../../envoy/common.ts';
import { DEFAULT_MESH_SETTINGS, type MeshSettings, type TelemetrySettings, type TracingSettings } from '../../model/mesh.ts';
import { variantKeys, type Role } from '../../model/proxy.ts';
import type { RouteSpec } from '../../model/traffic.ts';
import { messageType } from '../../protos/loader.ts';
import { decodeToPlain, messageNameOf, TYPE_URLS, type ResourceKind } from '../../protos/type-urls.ts';
import { expectValidEnvoy } from '../../../test/support/envoy.ts';
import { expectGolden } from '../../../test/support/golden.ts';
import { endpoint, meshOf, publishMesh, sampleMesh, service } from '../../../test/support/mesh-fixtures.ts';
import { ResourceEncoder } from '../cache/resource.ts';
import { emptySnapshot, SnapshotCache } from '../cache/snapshot-cache.ts';
import { passGate } from '../publish-gate.ts';
import { buildResources, type ResourceSet } from './index.ts';
import type { BuiltResource } from './types.ts';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const OTEL = { host: 'otel-collector', port: 4317 };

/** The default settings with telemetry and tracing as given (each a new object, as the server makes one per run). */
const settingsWith = (telemetry: TelemetrySettings, tracing: Partial<TracingSettings> = {}, over: Partial<MeshSettings> = {}): MeshSettings => ({
  ...DEFAULT_MESH_SETTINGS,
  telemetry,
  tracing: { ...DEFAULT_MESH_SETTINGS.tracing, ...tracing },
  ...over,
});
const ALL_ON = () => settingsWith({ accessLog: true, address: { host: 'telemetry.mesh', port: 18001 } }, { provider: 'opentelemetry', address: OTEL, samplePercent: 10 });

/** Every HCM and TCP proxy config in a listener, over all its filter chains (and API listener), with where it is. */
function reporters(listener: Plain): { kind: 'hcm' | 'tcp'; config: Plain }[] {
  const out: { kind: 'hcm' | 'tcp'; config: Plain }[] = [];
  const api = (listener.apiListener as { apiListener?: Plain } | undefined)?.apiListener;
  if (api) out.push({ kind: 'hcm', config: api });
  for (const chain of (listener.filterChains ?? []) as { filters: { typedConfig: Plain }[] }[]) {
    for (const f of chain.filters) {
      if (f.typedConfig['@type'] === HCM) out.push({ kind: 'hcm', config: f.typedConfig });
      if (f.typedConfig['@type'] === TCP_PROXY) out.push({ kind: 'tcp', config: f.typedConfig });
    }
  }
  return out;
}

/** Each listener (variants included) with the roles that see it. */
function listenersOf(set: ResourceSet): { name: string; roles: readonly Role[]; resource: Plain }[] {
  return set.listener.flatMap((b) => [
    { name: b.name, roles: b.roles, resource: b.resource },
    ...(b.variants ?? []).map((v) => ({ name: `${b.name} (${v.key})`, roles: v.roles ?? b.roles, resource: v.resource })),
  ]);
}

/** A mesh of every kind: grpc with endpoints (so proxyless server listeners), http with a traced route, tcp. */
function fullMesh() {
  const routes: RouteSpec[] = [
    { namespace: 'shop', name: 'cart', hosts: [], priority: 0, match: { path: { prefix: '/cart' } }, destinations: [{ namespace: 'shop', name: 'web', weight: 100 }], tracing: { samplePercent: 100 } },
  ];
  return meshOf(
    [
      service({ endpoints: [endpoint({ address: '10.0.0.1', port: 50051 })] }),
      service({ namespace: 'shop', name: 'web', protocol: 'http', port: 8080, endpoints: [endpoint({ address: '10.1.0.1' })] }),
      service({ namespace: 'shop', name: 'db', protocol: 'tcp', port: 5432, endpoints: [endpoint({ address: '10.1.0.9', port: 5432 })] }),
    ],
    1,
    routes,
  );
}

describe('with the default settings', () => {
  it('nothing logs or traces, and no telemetry cluster is served (the existing goldens stay as they are)', () => {
    const set = buildResources(sampleMesh(), DEFAULT_MESH_SETTINGS);
    const text = JSON.stringify(set.listener);
    expect(text).not.toContain('accessLog');
    expect(text).not.toContain('"tracing"');
    expect(set.cluster.map((b) => b.name).filter((n) => n.startsWith('apg-'))).toEqual([]);
  });
});

describe('access logging and tracing on', () => {
  const settings = ALL_ON();
  const set = buildResources(fullMesh(), { ...settings, mtlsDefault: 'permissive' });

  it('every HCM and TCP proxy served to Envoy logs (to the telemetry cluster); Envoy HCMs trace; proxyless listeners do neither', () => {
    const seen: string[] = [];
    for (const l of listenersOf(set)) {
      const envoy = !l.roles.includes('grpc');
      for (const r of reporters(l.resource)) {
        seen.push(`${l.name} ${r.kind}`);
        const logs = r.config.accessLog as { name: string; typedConfig: { commonConfig: { grpcService: Plain } } }[] | undefined;
        if (!envoy) {
          expect(logs, l.name).toBeUndefined();
          expect(r.config.tracing, l.name).toBeUndefined();
          continue;
        }
        expect(logs?.map((a) => a.name), l.name).toEqual([r.kind === 'hcm' ? 'envoy.access_loggers.http_grpc' : 'envoy.access_loggers.tcp_grpc']);
        expect(logs?.[0]?.typedConfig.commonConfig.grpcService).toEqual({ envoyGrpc: { clusterName: 'apg-telemetry' } });
        if (r.kind === 'hcm') expect(r.config.tracing, l.name).toBeDefined();
      }
    }
    // Every kind of listener was looked at: API, gateway, proxyless server, and each sidecar one.
    expect(seen).toEqual(expect.arrayContaining([
      'greeter.default hcm', 'gateway hcm', 'virtualOutbound tcp', 'outbound:5432 tcp', 'outbound:8080 hcm', 'inbound:db.shop tcp', 'inbound:web.shop hcm',
      'grpc/server?xds.resource.listening_address=10.0.0.1:50051 (service:default/greeter) hcm',
    ]));
  });

  it('leaves what proxyless gRPC clients see exactly as with telemetry off (grpc-js-xds must keep accepting it)', () => {
    const forGrpc = (r: ResourceSet) =>
      Object.fromEntries(Object.entries(r).map(([k, list]) => [k, (list as BuiltResource[]).flatMap((b) => [b, ...(b.variants ?? []).map((v) => ({ ...v, roles: v.roles ?? b.roles }))]).filter((b) => b.roles.includes('grpc')).map((b) => b.resource)]));
    const off = buildResources(fullMesh(), { ...DEFAULT_MESH_SETTINGS, mtlsDefault: 'permissive' });
    expect(forGrpc(set)).toEqual(forGrpc(off));
  });

  it('logs both chains of a permissive inbound listener (mTLS and plain text)', () => {
    const inbound = set.listener.find((b) => b.name === 'inbound:web.shop')!;
    expect(reporters(inbound.resource).map((r) => Boolean(r.config.accessLog))).toEqual([true, true]);
  });

  it('serves the telemetry cluster (HTTP/2) and the tracing cluster (HTTP/2 for OTLP) to gateways and sidecars, not to proxyless clients', () => {
    const served = set.cluster.filter((b) => b.name.startsWith('apg-'));
    expect(served.map((b) => [b.name, b.roles, (b.resource as { type: string }).type])).toEqual([
      ['apg-telemetry', ['gateway', 'sidecar'], 'STRICT_DNS'],
      ['apg-tracing', ['gateway', 'sidecar'], 'STRICT_DNS'],
    ]);
    for (const b of served) expect(b.resource.typedExtensionProtocolOptions).toBeDefined();
    // A log stream holds at most 8 MiB in the proxy before Envoy drops logs (not its default 256 MiB).
    const http2 = (c: Plain) => (Object.values(c.typedExtensionProtocolOptions as Plain)[0] as { explicitHttpConfig: { http2ProtocolOptions: Plain } }).explicitHttpConfig.http2ProtocolOptions;
    expect(served.map((b) => http2(b.resource))).toEqual([{ initialStreamWindowSize: { value: ACCESS_LOG_STREAM_BUFFER_BYTES } }, {}]);
  });

  it("names the spans' service: apg-gateway, each inbound listener's service, and per service on shared outbound listeners", () => {
    const serviceName = (l: Plain) => ((reporters(l).find((r) => r.kind === 'hcm')?.config.tracing as Plain).provider as { typedConfig: { serviceName: string } }).typedConfig.serviceName;
    const byName = new Map(set.listener.map((b) => [b.name, b]));
    expect(serviceName(byName.get('gateway')!.resource)).toBe('apg-gateway');
    expect(serviceName(byName.get('inbound:web.shop')!.resource)).toBe('web.shop');
    const outbound = byName.get('outbound:8080')!;
    expect(serviceName(outbound.resource)).toBe('apg-sidecar');
    expect(outbound.variants?.map((v) => [v.key, v.owner, serviceName(v.resource)])).toEqual([
      ['service:default/greeter', 'default/greeter', 'greeter.default'],
      ['service:shop/db', 'shop/db', 'db.shop'],
      ['service:shop/web', 'shop/web', 'web.shop'],
    ]);
    // A TCP port's listener has no HCM, so nothing to name: no variants.
    expect(byName.get('outbound:5432')!.variants).toBeUndefined();
  });

  it("keeps a route's own sampling for Envoy, and none for proxyless clients", () => {
    const gatewayRoutes = JSON.stringify(set.route.find((b) => b.name === 'gateway')!.resource);
    expect(gatewayRoutes).toContain('"tracing":{"randomSampling":{"numerator":100,"denominator":"HUNDRED"}}');
    const api = JSON.stringify(set.listener.filter((b) => b.roles.includes('grpc')).map((b) => b.resource));
    expect(api).toContain('shop/cart');
    expect(api).not.toContain('randomSampling');
  });

  it('passes the publish gate: every resource and variant encodes and validates against Envoy\'s protos', () => {
    expect(passGate(set, new ResourceEncoder(), emptySnapshot(), 1).issues).toEqual([]);
    for (const l of listenersOf(set)) expectValidEnvoy('envoy.config.listener.v3.Listener', l.resource);
    for (const b of set.cluster) expectValidEnvoy('envoy.config.cluster.v3.Cluster', b.resource);
  });

  it('builds the same objects again for the same settings and mesh (encoded once)', () => {
    const again = buildResources(fullMesh(), { ...settings, mtlsDefault: 'permissive' });
    expect(again.cluster.filter((b) => b.name.startsWith('apg-'))).toStrictEqual(set.cluster.filter((b) => b.name.startsWith('apg-')));
    const s = ALL_ON();
    const mesh = fullMesh();
    const [a, b] = [buildResources(mesh, s), buildResources(mesh, s)];
    expect(b.cluster.find((c) => c.name === 'apg-tracing')!.resource).toBe(a.cluster.find((c) => c.name === 'apg-tracing')!.resource);
    const variant = (r: ResourceSet) => r.listener.find((l) => l.name === 'outbound:8080')!.variants![0]!.resource;
    expect(variant(b)).toBe(variant(a));
  });
});

describe('settings, one at a time', () => {
  const clusterNames = (s: MeshSettings) => buildResources(sampleMesh(), s).cluster.filter((b) => b.name.startsWith('apg-'));
  const loggerClusters = (s: MeshSettings) =>
    [...JSON.stringify(buildResources(sampleMesh(), s).listener).matchAll(/"envoyGrpc":\{"clusterName":"([^"]+)"\}/g)].map((m) => m[1]);

  it("access logging without an address: the bootstrap's xds_cluster, no cluster served", () => {
    const s = settingsWith({ accessLog: true });
    expect(clusterNames(s)).toEqual([]);
    expect(new Set(loggerClusters(s))).toEqual(new Set(['xds_cluster']));
  });

  it('opted out: no access logger anywhere and no telemetry cluster, even with an address', () => {
    const s = settingsWith({ accessLog: false, address: { host: '10.0.0.5', port: 18001 } });
    expect(clusterNames(s)).toEqual([]);
    expect(JSON.stringify(buildResources(sampleMesh(), s).listener)).not.toContain('accessLog');
  });

  it('Zipkin: an HTTP/1.1 tracing cluster at an IP (STATIC), no per-service variants (Zipkin names spans by node.cluster)', () => {
    const s = settingsWith({ accessLog: false }, { provider: 'zipkin', address: { host: '10.0.0.9', port: 9411 }, samplePercent: 1 });
    const [tracing] = clusterNames(s) as [BuiltResource];
    expect([tracing.name, tracing.resource.type, tracing.resource.typedExtensionProtocolOptions]).toEqual(['apg-tracing', 'STATIC', undefined]);
    expect(buildResources(sampleMesh(), s).listener.filter((b) => b.variants?.length && !b.name.startsWith('grpc/'))).toEqual([]);
    expect(passGate(buildResources(sampleMesh(), s), new ResourceEncoder(), emptySnapshot(), 1).issues).toEqual([]);
  });
});

describe('golden files (access logging and OpenTelemetry tracing on)', () => {
  const golden = (file: string) => new URL(`./__golden__/${file}`, import.meta.url);

  it("the gateway: its listener, its routes (a route's own sampling) and the clusters only Envoy proxies get", () => {
    const set = buildResources(fullMesh(), ALL_ON());
    const sees = (b: BuiltResource) => b.roles.includes('gateway');
    expectGolden(golden('telemetry-gateway.json'), {
      listener: set.listener.filter(sees).map((b) => b.resource),
      routeConfiguration: set.route.filter(sees).map((b) => b.resource),
      telemetryClusters: set.cluster.filter((b) => sees(b) && !b.roles.includes('grpc')).map((b) => b.resource),
    });
  });

  it("web's sidecar's listeners and telemetry clusters, as sent on the wire (its own span service on every HCM)", () => {
    const cache = new SnapshotCache();
    publishMesh(cache, fullMesh(), new ResourceEncoder(), ALL_ON());
    const keys = variantKeys({ id: 'web-1-sidecar', cluster: 'web.shop', role: 'sidecar', service: 'web', namespace: 'shop' });
    const visible = (k: ResourceKind) => cache.visible(TYPE_URLS[k], 'sidecar', 'shop/web', keys);
    const decoded = (k: ResourceKind) => visible(k).map((r) => decodeToPlain(messageType(messageNameOf(TYPE_URLS[k])), r.encoded));
    expectGolden(golden('telemetry-sidecar-view.json'), {
      listener: decoded('listener'),
      telemetryClusters: decoded('cluster').filter((c) => String(c.name).startsWith('apg-')),
    });
  });
});
