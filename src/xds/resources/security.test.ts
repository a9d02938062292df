/** Mesh mTLS in the generated config: secrets per identity, cluster TLS variants, proxyless server listeners, sidecar inbound chains. */
import { describe, expect, it } from 'vitest';
import { expectValidEnvoy } from '../../../test/support/envoy.ts';
import { authzPolicy, endpoint, meshOf, service } from '../../../test/support/mesh-fixtures.ts';
import { DEFAULT_MESH_SETTINGS, type MeshSettings, type MtlsMode } from '../../model/mesh.ts';
import type { Plain } from '../../envoy/common.ts';
import type { MeshIdentities, WorkloadIdentity } from '../identities.ts';
import { buildClusters } from './clusters.ts';
import { buildListeners } from './listeners.ts';
import { buildSecrets, CERTIFICATE_PROVIDER, clusterTlsVariants, mergeVariants, serverListeners } from './security.ts';
import type { BuiltResource } from './types.ts';

const SECRET = 'envoy.extensions.transport_sockets.tls.v3.Secret';
const LISTENER = 'envoy.config.listener.v3.Listener';
const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const settings = (mtlsDefault: MtlsMode, over: Partial<MeshSettings> = {}): MeshSettings => ({ ...DEFAULT_MESH_SETTINGS, mtlsDefault, ...over });
const identity = (serial: string): WorkloadIdentity => ({ serial, chainPem: `chain ${serial}`, keyPem: `key ${serial}`, notAfter: new Date('2030-01-01') });
const identities = (byService: Record<string, WorkloadIdentity>): MeshIdentities => ({ bundlePem: 'roots', byService: new Map(Object.entries(byService)), problems: [] });
const json = (x: unknown) => JSON.stringify(x);

const orders = service({ namespace: 'shop', name: 'orders', endpoints: [endpoint({ address: '10.0.0.7', port: 9090 })] });
const web = service({ namespace: 'shop', name: 'web', protocol: 'http', port: 8080, endpoints: [endpoint({ address: '10.0.0.8' })] });

describe('buildSecrets', () => {
  it('has nothing to deliver before the CA has a root', () => {
    expect(buildSecrets(meshOf([orders]), { bundlePem: '', byService: new Map(), problems: [] })).toEqual([]);
  });

  it('shares ROOTCA with Envoy proxies, and gives each service its own certificate under the name default, seen by nobody else', () => {
    const ids = identities({ 'shop/orders': identity('01'), 'shop/web': identity('02'), 'shop/gone': identity('03') });
    const [rootCa, own] = buildSecrets(meshOf([orders, web]), ids);
    expect(rootCa).toMatchObject({ name: 'ROOTCA', roles: ['sidecar', 'gateway'], resource: { name: 'ROOTCA', validationContext: { trustedCa: { inlineString: 'roots' } } } });
    expect(own).toMatchObject({ name: 'default', roles: [] });
    // A certificate left of a service that no longer exists is not delivered.
    expect(own!.variants!.map((v) => [v.key, v.owner, v.roles])).toEqual([
      ['service:shop/orders', 'shop/orders', ['sidecar', 'gateway']],
      ['service:shop/web', 'shop/web', ['sidecar', 'gateway']],
    ]);
    expect(own!.variants![0]!.resource).toEqual({ name: 'default', tlsCertificate: { certificateChain: { inlineString: 'chain 01' }, privateKey: { inlineString: 'key 01' } } });
    for (const r of [rootCa!.resource, own!.resource, ...own!.variants!.map((v) => v.resource)]) expectValidEnvoy(SECRET, r);
  });

  it('builds a certificate\'s secret once: the next build hands back the same object (so it is not encoded again)', () => {
    const ids = identities({ 'shop/orders': identity('01') });
    const first = buildSecrets(meshOf([orders]), ids)[1]!.variants![0]!.resource;
    expect(buildSecrets(meshOf([orders]), ids)[1]!.variants![0]!.resource).toBe(first);
  });
});

describe('clusterTlsVariants', () => {
  const plain = { name: 'orders.shop', type: 'EDS' };

  it('leaves a service with mTLS disabled in plain text', () => {
    expect(clusterTlsVariants(orders, settings('disabled'), plain)).toEqual([]);
    expect(clusterTlsVariants({ ...orders, mtls: 'disabled' }, settings('strict'), plain)).toEqual([]);
  });

  it('leaves a service reached by host name (outside the mesh) in plain text unless it sets its own mode', () => {
    const external = service({ namespace: 'ext', name: 'payments', endpoints: [endpoint({ address: 'api.payments.example', port: 443 })] });
    expect(clusterTlsVariants(external, settings('strict'), plain)).toEqual([]);
    expect(clusterTlsVariants({ ...external, mtls: 'strict' }, settings('disabled'), plain).map((v) => v.key)).toEqual(['tls:sds', 'tls:a29']);
  });

  it('gives Envoy an SDS variant and proxyless gRPC a certificate-provider variant, both checking the service\'s SPIFFE identity', () => {
    const [sds, a29] = clusterTlsVariants({ ...orders, mtls: 'permissive' }, settings('disabled', { trustDomain: 'corp.example' }), plain);
    const peer = 'spiffe://corp.example/ns/shop/sa/orders';
    expect(sds).toMatchObject({ key: 'tls:sds', roles: ['sidecar', 'gateway'] });
    expect(json(sds!.resource)).toContain(`{"sanType":"URI","matcher":{"exact":"${peer}"}}`);
    expect(json(sds!.resource)).toContain('"tlsCertificateSdsSecretConfigs":[{"name":"default"');
    expect(a29).toMatchObject({ key: 'tls:a29', roles: ['grpc'] });
    expect(json(a29!.resource)).toContain(`"matchSubjectAltNames":[{"exact":"${peer}"}]`);
    expect(json(a29!.resource)).toContain(`"instanceName":"${CERTIFICATE_PROVIDER}"`);
  });

  it('is part of every service and subset cluster of buildClusters, which stay valid Envoy clusters', () => {
    const clusters = buildClusters(meshOf([orders]), settings('strict')).filter((c) => c.name === 'orders.shop');
    expect(clusters[0]!.variants!.map((v) => v.key)).toEqual(['tls:sds', 'tls:a29']);
    for (const v of clusters[0]!.variants!) expectValidEnvoy(CLUSTER, v.resource);
  });
});

describe('serverListeners (proxyless gRPC servers, gRFC A36)', () => {
  const names = (built: BuiltResource[]) => built.map((b) => b.name);

  it('names one listener per address a server may bind: each endpoint\'s and the wildcard ones, for grpc services only', () => {
    expect(names(serverListeners(orders, settings('strict')))).toEqual([
      'grpc/server?xds.resource.listening_address=10.0.0.7:9090',
      'grpc/server?xds.resource.listening_address=0.0.0.0:9090',
      'grpc/server?xds.resource.listening_address=[::]:9090',
    ]);
    expect(serverListeners(web, settings('strict'))).toEqual([]);
  });

  it('strict: only servers with the mesh certificate provider get it, terminating mTLS with a client certificate required', () => {
    const [first] = serverListeners(orders, settings('strict'));
    expect(first!.roles).toEqual([]);
    expect(first!.variants!.map((v) => [v.key, v.owner, v.roles])).toEqual([['service:shop/orders+tls:a29', 'shop/orders', ['grpc']]]);
    const listener = first!.variants![0]!.resource as { address: unknown; filterChains: Plain[] };
    expect(listener.address).toEqual({ socketAddress: { address: '10.0.0.7', portValue: 9090 } });
    expect(json(listener.filterChains[0]!.transportSocket)).toContain('"requireClientCertificate":{"value":true}');
    expect(json(listener)).toContain('"nonForwardingAction":{}');
    expectValidEnvoy(LISTENER, listener);
  });

  it('permissive: servers without the provider serve plain text; disabled: everyone does', () => {
    const [permissive] = serverListeners(orders, settings('permissive'));
    expect(permissive!.variants!.map((v) => [v.key, 'transportSocket' in ((v.resource.filterChains as Plain[])[0] ?? {})])).toEqual([
      ['service:shop/orders+tls:a29', true],
      ['service:shop/orders', false],
    ]);
    const [disabled] = serverListeners(orders, settings('disabled'));
    expect(disabled!.variants!.map((v) => [v.key, 'transportSocket' in ((v.resource.filterChains as Plain[])[0] ?? {})])).toEqual([
      ['service:shop/orders+tls:a29', false],
      ['service:shop/orders', false],
    ]);
  });

  it('runs the service\'s authorization policies as RBAC filters before the router', () => {
    const policy = authzPolicy('from-web', { rules: [{ from: [{ namespace: 'shop', service: 'web' }] }] });
    const [svc] = meshOf([orders], 1, [], [policy]).services;
    const hcm = json(serverListeners(svc!, settings('strict'))[0]!.variants![0]!.resource);
    expect(hcm.indexOf('envoy.filters.http.rbac.allow')).toBeGreaterThan(0);
    expect(hcm.indexOf('envoy.filters.http.rbac.allow')).toBeLessThan(hcm.indexOf('envoy.filters.http.router'));
    expect(hcm).toContain('spiffe://mesh.local/ns/shop/sa/web');
  });

  it('merges the wildcard listeners two services share into one resource with both services\' variants', () => {
    const other = service({ namespace: 'shop', name: 'billing', endpoints: [endpoint({ address: '10.0.0.9', port: 9090 })] });
    const merged = mergeVariants([...serverListeners(orders, settings('strict')), ...serverListeners(other, settings('strict'))]);
    const wildcard = merged.find((b) => b.name.endsWith('=0.0.0.0:9090'))!;
    expect(wildcard.variants!.map((v) => v.owner)).toEqual(['shop/orders', 'shop/billing']);
    expect(names(merged)).toHaveLength(4);
    expect(names(buildListeners(meshOf([orders, other]), settings('strict')).filter((b) => b.name.startsWith('grpc/server?')))).toHaveLength(4);
  });
});

describe('sidecar inbound listener and mTLS', () => {
  const inbound = (mode: MtlsMode, policies = [authzPolicy('from-web', { rules: [{ from: [{ service: 'web' }] }] })]) =>
    buildListeners(meshOf([orders], 1, [], policies), settings(mode)).find((b) => b.name === 'inbound:orders.shop')!.resource as Plain & { filterChains: Plain[] };

  it('strict: one chain terminating mTLS with the service\'s certificate and requiring a client certificate', () => {
    const l = inbound('strict');
    expect(l.filterChains).toHaveLength(1);
    expect(json(l.filterChains[0]!.transportSocket)).toContain('"requireClientCertificate":{"value":true}');
    expect(json(l.filterChains[0]!.transportSocket)).toContain('"validationContextSdsSecretConfig":{"name":"ROOTCA"');
    expect(l.listenerFilters).toBeUndefined();
    expectValidEnvoy(LISTENER, l);
  });

  it('permissive: the TLS inspector sends TLS to the mTLS chain and plain text to the other, with the same filters', () => {
    const l = inbound('permissive');
    expect(json(l.listenerFilters)).toContain('envoy.filters.listener.tls_inspector');
    expect(l.filterChains.map((c) => c.filterChainMatch)).toEqual([{ transportProtocol: 'tls' }, { transportProtocol: 'raw_buffer' }]);
    expect(l.filterChains[0]!.filters).toEqual(l.filterChains[1]!.filters);
    expect(l.filterChains[1]!.transportSocket).toBeUndefined();
    expectValidEnvoy(LISTENER, l);
  });

  it('disabled: plain text; the RBAC filters are there in every mode', () => {
    const l = inbound('disabled');
    expect(l.filterChains).toHaveLength(1);
    expect(l.filterChains[0]!.transportSocket).toBeUndefined();
    for (const mode of ['strict', 'permissive', 'disabled'] as const) expect(json(inbound(mode))).toContain('envoy.filters.http.rbac.allow');
    expect(json(inbound('strict', []))).not.toContain('rbac');
  });

  it('a tcp service gets the network RBAC filters before tcp_proxy', () => {
    const db = service({ namespace: 'shop', name: 'orders', protocol: 'tcp', port: 5432, endpoints: [endpoint({ port: 5432 })] });
    const policy = authzPolicy('from-web', { rules: [{ from: [{ service: 'web' }] }] });
    const l = buildListeners(meshOf([db], 1, [], [policy]), settings('strict')).find((b) => b.name === 'inbound:orders.shop')!.resource as { filterChains: { filters: { name: string }[] }[] };
    expect(l.filterChains[0]!.filters.map((f) => f.name)).toEqual(['envoy.filters.network.rbac.allow', 'envoy.filters.network.tcp_proxy']);
  });
});
