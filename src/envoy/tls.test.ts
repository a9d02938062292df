import { register } from '@grpc/grpc-js-xds';
import { ClusterResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/cluster-resource-type.js';
import { ListenerResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/listener-resource-type.js';
import type { XdsDecodeContext } from '@grpc/grpc-js-xds/build/src/xds-resource-type/xds-resource-type.js';
import { describe, expect, it } from 'vitest';
import { expectValidEnvoy } from '../../test/support/envoy.ts';
import { envoyRoot, messageType } from '../protos/loader.ts';
import { decodeToPlain } from '../protos/type-urls.ts';
import { adsConfigSource, typed, type Plain } from './common.ts';
import {
  a29DownstreamTls,
  a29UpstreamTls,
  DOWNSTREAM_TLS_TYPE,
  sdsDownstreamTls,
  sdsUpstreamTls,
  SECRET_TYPE,
  tlsCertificateSecret,
  tlsInspector,
  UPSTREAM_TLS_TYPE,
  validationContextSecret,
} from './tls.ts';

// The TLS contexts and the TLS inspector live in files src/protos/loader.ts may not list yet; loading
// a file the shared root already has is a no-op.
envoyRoot(['envoy/extensions/transport_sockets/tls/v3/tls.proto', 'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto']);

const TRANSPORT_SOCKET = 'envoy.config.core.v3.TransportSocket';
const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const LISTENER = 'envoy.config.listener.v3.Listener';
const CERT = '-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIBkey\n-----END PRIVATE KEY-----\n';
const WEB = 'spiffe://cluster.local/ns/shop/sa/web';
const ORDERS = 'spiffe://cluster.local/ns/shop/sa/orders';
const ads = { ads: {}, resourceApiVersion: 'V3' };
const INSTANCE = 'mesh';

/** Encodes and validates `plain` as `message`, and decodes it back to a plain object. */
function roundTrip(message: string, plain: Plain): Plain {
  return decodeToPlain(messageType(message), expectValidEnvoy(message, plain));
}

/** The typed context inside a transport socket, after a round trip, checked as its own type too. */
function contextOf(socket: Plain, contextType: string): Plain {
  const got = roundTrip(TRANSPORT_SOCKET, socket);
  expect(got.name).toBe('envoy.transport_sockets.tls');
  const { '@type': url, ...context } = got.typedConfig as Plain;
  expect(url).toBe(`type.googleapis.com/${contextType}`);
  expectValidEnvoy(contextType, context);
  return context;
}

describe('secrets', () => {
  it('tlsCertificateSecret: the certificate chain and key, inline', () => {
    const got = roundTrip(SECRET_TYPE, tlsCertificateSecret('default', CERT, KEY));
    expect(got).toEqual({ name: 'default', tlsCertificate: { certificateChain: { inlineString: CERT }, privateKey: { inlineString: KEY } } });
  });

  it('validationContextSecret: the trust bundle, inline', () => {
    const got = roundTrip(SECRET_TYPE, validationContextSecret('ROOTCA', CERT + CERT));
    expect(got).toEqual({ name: 'ROOTCA', validationContext: { trustedCa: { inlineString: CERT + CERT } } });
  });
});

describe('Envoy transport sockets (SDS over ADS)', () => {
  it('sdsUpstreamTls: presents default, checks the server against ROOTCA and its SPIFFE ids (sorted, once each), with SNI', () => {
    const got = contextOf(sdsUpstreamTls([WEB, ORDERS, WEB], 'orders.shop.svc'), UPSTREAM_TLS_TYPE);
    expect(got).toEqual({
      commonTlsContext: {
        tlsCertificateSdsSecretConfigs: [{ name: 'default', sdsConfig: ads }],
        combinedValidationContext: {
          defaultValidationContext: {
            matchTypedSubjectAltNames: [
              { sanType: 'URI', matcher: { exact: ORDERS } },
              { sanType: 'URI', matcher: { exact: WEB } },
            ],
          },
          validationContextSdsSecretConfig: { name: 'ROOTCA', sdsConfig: ads },
        },
      },
      sni: 'orders.shop.svc',
    });
  });

  it('sdsUpstreamTls: no SNI unless asked; no ids, no SAN check', () => {
    const got = contextOf(sdsUpstreamTls([]), UPSTREAM_TLS_TYPE);
    expect(got).not.toHaveProperty('sni');
    expect((got.commonTlsContext as Plain).combinedValidationContext).toEqual({
      defaultValidationContext: {},
      validationContextSdsSecretConfig: { name: 'ROOTCA', sdsConfig: ads },
    });
  });

  it.each([true, false])('sdsDownstreamTls(%s): presents default with TLS 1.2 at least, checks clients against ROOTCA', (require) => {
    const got = contextOf(sdsDownstreamTls(require), DOWNSTREAM_TLS_TYPE);
    expect(got).toEqual({
      commonTlsContext: {
        tlsParams: { tlsMinimumProtocolVersion: 'TLSv1_2' },
        tlsCertificateSdsSecretConfigs: [{ name: 'default', sdsConfig: ads }],
        validationContextSdsSecretConfig: { name: 'ROOTCA', sdsConfig: ads },
      },
      requireClientCertificate: { value: require },
    });
  });

  it('tlsInspector: the typed TLS inspector listener filter', () => {
    const got = roundTrip('envoy.config.listener.v3.ListenerFilter', tlsInspector());
    expect(got).toEqual({
      name: 'envoy.filters.listener.tls_inspector',
      typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' },
    });
  });
});

describe('proxyless gRPC transport sockets (A29 certificate provider instances)', () => {
  const provider = (certificateName: string) => ({ instanceName: INSTANCE, certificateName });

  it('a29UpstreamTls: identity and roots from the instance; the server ids as untyped SAN matchers', () => {
    expect(contextOf(a29UpstreamTls(INSTANCE, [WEB, ORDERS]), UPSTREAM_TLS_TYPE)).toEqual({
      commonTlsContext: {
        tlsCertificateProviderInstance: provider('default'),
        validationContext: { caCertificateProviderInstance: provider('ROOTCA'), matchSubjectAltNames: [{ exact: ORDERS }, { exact: WEB }] },
      },
    });
  });

  it.each([true, false])('a29DownstreamTls(%s): identity and client roots from the instance, no tls_params', (require) => {
    expect(contextOf(a29DownstreamTls(INSTANCE, require), DOWNSTREAM_TLS_TYPE)).toEqual({
      commonTlsContext: { tlsCertificateProviderInstance: provider('default'), validationContext: { caCertificateProviderInstance: provider('ROOTCA') } },
      requireClientCertificate: { value: require },
    });
  });
});

describe('as grpc-js-xds 1.14 validates them (its CDS and LDS resource types, no network)', () => {
  // register() fills its filter and LB policy registries; it opens no connection.
  register();
  const context = { server: {}, bootstrap: { certificateProviders: { [INSTANCE]: { plugin_name: 'file_watcher', config: {} } } } } as unknown as XdsDecodeContext;

  const decodeCluster = (transportSocket: Plain) => {
    const cluster = { name: 'orders.shop', type: 'EDS', edsClusterConfig: { edsConfig: adsConfigSource(), serviceName: 'orders.shop' }, transportSocket };
    const bytes = expectValidEnvoy(CLUSTER, cluster);
    return ClusterResourceType.get().decode(context, { type_url: `type.googleapis.com/${CLUSTER}`, value: Buffer.from(bytes) });
  };
  const decodeServerListener = (transportSocket: Plain, extra: Plain = {}) => {
    const hcm = typed('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
      statPrefix: 'inbound',
      rds: { configSource: adsConfigSource(), routeConfigName: 'inbound|50051' },
      httpFilters: [{ name: 'envoy.filters.http.router', typedConfig: typed('envoy.extensions.filters.http.router.v3.Router') }],
    });
    const listener = {
      name: 'grpc/server/0.0.0.0:50051',
      address: { socketAddress: { address: '0.0.0.0', portValue: 50051 } },
      filterChains: [{ name: 'mtls', filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: hcm }], transportSocket }],
      ...extra,
    };
    const bytes = expectValidEnvoy(LISTENER, listener);
    return ListenerResourceType.get().decode(context, { type_url: `type.googleapis.com/${LISTENER}`, value: Buffer.from(bytes) });
  };

  it('accepts the A29 cluster, and takes the instance and the server ids from it', () => {
    const got = decodeCluster(a29UpstreamTls(INSTANCE, [WEB]));
    expect(got.error).toBeUndefined();
    expect((got.value as { securityUpdate: unknown }).securityUpdate).toEqual({
      caCertificateProviderInstance: INSTANCE,
      identityCertificateProviderInstance: INSTANCE,
      subjectAltNameMatchers: [expect.objectContaining({ exact: WEB, match_pattern: 'exact' })],
    });
  });

  it('ignores typed SAN matchers: with only those, a cluster would accept any certificate of the CA', () => {
    const socket = a29UpstreamTls(INSTANCE, []);
    const common = (socket.typedConfig as Plain).commonTlsContext as { validationContext: Plain };
    common.validationContext.matchTypedSubjectAltNames = [{ sanType: 'URI', matcher: { exact: WEB } }];
    const got = decodeCluster(socket);
    expect(got.error).toBeUndefined();
    expect((got.value as { securityUpdate: { subjectAltNameMatchers: unknown[] } }).securityUpdate.subjectAltNameMatchers).toEqual([]);
  });

  it.each([true, false])('accepts a server listener with the A29 filter chain (require client certificate: %s)', (require) => {
    const got = decodeServerListener(a29DownstreamTls(INSTANCE, require));
    expect(got.error).toBeUndefined();
    const chain = (got.value as { filter_chains: { transport_socket: unknown }[] }).filter_chains[0];
    expect(chain?.transport_socket).toMatchObject({ name: 'envoy.transport_sockets.tls' });
  });

  it('rejects a certificate provider instance its bootstrap does not have', () => {
    expect(decodeCluster(a29UpstreamTls('other', [WEB])).error).toMatch(
      /Unmatched UpstreamTlsContext\.tls_certificate_provider_instance\.instance_name: other.*Unmatched ValidationContext\.ca_certificate_provider_instance\.instance_name: other/,
    );
    expect(decodeServerListener(a29DownstreamTls('other', true)).error).toMatch(
      /Unmatched CertificateValidationContext\.ca_certificate_provider\.instance_name: other.*Unmatched DownstreamTlsContext\.tls_certificate_provider_instance\.instance_name: other/,
    );
  });

  it('rejects the SDS variants Envoy gets (hence A29 for proxyless)', () => {
    const cluster = decodeCluster(sdsUpstreamTls([WEB])).error;
    expect(cluster).toContain('tls_certificates_sds_secret_config populated');
    expect(cluster).toContain('ValidationContext.ca_certificate_provider_instance unset');
    const listener = decodeServerListener(sdsDownstreamTls(true)).error;
    expect(listener).toContain('Unexpected DownstreamTlsContext.common_tls_context.validation_context_sds_secret_config');
    expect(listener).toContain('DownstreamTlsContext.common_tls_context.tls_params set');
  });

  it('rejects a listener with the TLS inspector (gRPC takes no listener filters)', () => {
    expect(decodeServerListener(a29DownstreamTls(INSTANCE, true), { listenerFilters: [tlsInspector()] }).error).toContain('listener_filters populated');
  });
});
