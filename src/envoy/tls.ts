/**
 * Builds the pieces of mesh mTLS: SDS secrets (`envoy.extensions.transport_sockets.tls.v3.Secret`),
 * `envoy.transport_sockets.tls` transport sockets for clusters (UpstreamTlsContext) and filter chains
 * (DownstreamTlsContext), and the TLS inspector listener filter.
 *
 * Envoy gets its certificates over SDS on the ADS stream, under Istio's secret names: `default` (the
 * workload's certificate chain and key) and `ROOTCA` (the mesh trust bundle).
 *
 * Proxyless gRPC (gRFC A29; @grpc/grpc-js-xds 1.14) has no SDS: its certificates come from the
 * certificate provider plugin instances of its bootstrap (`certificate_providers`), named by
 * `tls_certificate_provider_instance` and `ca_certificate_provider_instance`. It refuses a context
 * with SDS secret configs, `tls_params` or a provider instance its bootstrap does not have, which is
 * why it gets its own `a29*` variants. It reads only the provider instance names: `certificate_name`
 * is ignored (it is set to the Istio names all the same, for config dumps and other clients).
 */
import { adsConfigSource, typed, type Plain } from './common.ts';

/** SDS name of a workload's own certificate chain and key (Istio's name). */
export const IDENTITY_SECRET = 'default';
/** SDS name of the mesh trust bundle (Istio's name). */
export const TRUST_BUNDLE_SECRET = 'ROOTCA';
/** Name of the TLS transport socket; gRPC servers refuse any other name on a filter chain. */
export const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';
export const SECRET_TYPE = 'envoy.extensions.transport_sockets.tls.v3.Secret';
export const UPSTREAM_TLS_TYPE = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
export const DOWNSTREAM_TLS_TYPE = 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
export const TLS_INSPECTOR_FILTER = 'envoy.filters.listener.tls_inspector';
export const TLS_INSPECTOR_TYPE = 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';

const inline = (pem: string): Plain => ({ inlineString: pem });
const sdsSecret = (name: string): Plain => ({ name, sdsConfig: adsConfigSource() });
const providerInstance = (instanceName: string, certificateName: string): Plain => ({ instanceName, certificateName });
/** Sorted and deduplicated, so that the same peers always give the same bytes. */
const sortedIds = (ids: string[]): string[] => [...new Set(ids)].sort();

function transportSocket(contextType: string, context: Plain): Plain {
  return { name: TLS_TRANSPORT_SOCKET, typedConfig: typed(contextType, context) };
}

/** SDS Secret with a workload's certificate chain and private key (PEM). */
export function tlsCertificateSecret(name: string, certChainPem: string, privateKeyPem: string): Plain {
  return { name, tlsCertificate: { certificateChain: inline(certChainPem), privateKey: inline(privateKeyPem) } };
}

/** SDS Secret with the CA certificates (PEM) that peers' certificates must chain to. */
export function validationContextSecret(name: string, trustBundlePem: string): Plain {
  return { name, validationContext: { trustedCa: inline(trustBundlePem) } };
}

/**
 * Envoy's client side of mesh mTLS (`envoy.config.core.v3.TransportSocket` with an UpstreamTlsContext):
 * presents the `default` secret, and accepts a server whose certificate chains to `ROOTCA` and
 * carries one of `peerSpiffeIds` as a URI SAN (with no ids, any certificate of the mesh CA).
 */
export function sdsUpstreamTls(peerSpiffeIds: string[], sni?: string): Plain {
  return transportSocket(UPSTREAM_TLS_TYPE, {
    commonTlsContext: {
      tlsCertificateSdsSecretConfigs: [sdsSecret(IDENTITY_SECRET)],
      combinedValidationContext: {
        defaultValidationContext: {
          matchTypedSubjectAltNames: sortedIds(peerSpiffeIds).map((id) => ({ sanType: 'URI', matcher: { exact: id } })),
        },
        validationContextSdsSecretConfig: sdsSecret(TRUST_BUNDLE_SECRET),
      },
    },
    ...(sni ? { sni } : {}),
  });
}

/**
 * Envoy's server side of mesh mTLS (a TransportSocket with a DownstreamTlsContext): presents the
 * `default` secret with TLS 1.2 at least, and checks client certificates against `ROOTCA`; a client
 * without a certificate is refused only when `requireClientCertificate` (strict, not permissive).
 * Who may call is left to the RBAC filters, which read the client's SAN.
 */
export function sdsDownstreamTls(requireClientCertificate: boolean): Plain {
  return transportSocket(DOWNSTREAM_TLS_TYPE, {
    commonTlsContext: {
      tlsParams: { tlsMinimumProtocolVersion: 'TLSv1_2' },
      tlsCertificateSdsSecretConfigs: [sdsSecret(IDENTITY_SECRET)],
      validationContextSdsSecretConfig: sdsSecret(TRUST_BUNDLE_SECRET),
    },
    requireClientCertificate: { value: requireClientCertificate },
  });
}

/**
 * A proxyless gRPC client's side of mesh mTLS (gRFC A29): identity and roots from the bootstrap's
 * certificate provider `instanceName`, in a plain `validation_context`.
 *
 * The server identity goes into the deprecated `match_subject_alt_names` (untyped StringMatchers):
 * grpc-js-xds 1.14 reads only that field (cluster-resource-type.js, `subjectAltNameMatchers`) and
 * ignores `match_typed_subject_alt_names`; with typed matchers alone it would accept any certificate
 * of the mesh CA. An untyped matcher is checked against every DNS, URI, email and IP SAN.
 */
export function a29UpstreamTls(instanceName: string, peerSpiffeIds: string[]): Plain {
  return transportSocket(UPSTREAM_TLS_TYPE, {
    commonTlsContext: {
      tlsCertificateProviderInstance: providerInstance(instanceName, IDENTITY_SECRET),
      validationContext: {
        caCertificateProviderInstance: providerInstance(instanceName, TRUST_BUNDLE_SECRET),
        matchSubjectAltNames: sortedIds(peerSpiffeIds).map((exact) => ({ exact })),
      },
    },
  });
}

/**
 * A proxyless gRPC server's side of mesh mTLS (gRFC A29): identity and client roots from the
 * bootstrap's certificate provider `instanceName`. grpc-js-xds reads `tls_certificate_provider_instance`,
 * `validation_context.ca_certificate_provider_instance` and `require_client_certificate`; it refuses
 * `tls_params`, so no minimum version is set (grpc-js' own TLS settings apply).
 */
export function a29DownstreamTls(instanceName: string, requireClientCertificate: boolean): Plain {
  return transportSocket(DOWNSTREAM_TLS_TYPE, {
    commonTlsContext: {
      tlsCertificateProviderInstance: providerInstance(instanceName, IDENTITY_SECRET),
      validationContext: { caCertificateProviderInstance: providerInstance(instanceName, TRUST_BUNDLE_SECRET) },
    },
    requireClientCertificate: { value: requireClientCertificate },
  });
}

/**
 * The TLS inspector listener filter (`envoy.config.listener.v3.ListenerFilter`), which lets filter
 * chains match on `transport_protocol: tls`, as permissive inbound listeners do. For Envoy only:
 * grpc-js-xds refuses a listener with any listener filter.
 */
export function tlsInspector(): Plain {
  return { name: TLS_INSPECTOR_FILTER, typedConfig: typed(TLS_INSPECTOR_TYPE) };
}
