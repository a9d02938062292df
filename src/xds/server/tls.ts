/**
 * TLS on the xDS port: the server's certificate, and the CA bundle client certificates are checked
 * against. A client certificate is asked for but not required, so proxies holding only a join
 * token connect over the same port; one that verifies gives the stream its SPIFFE ID.
 */
import * as grpc from '@grpc/grpc-js';

/** The server's certificate chain and key, and the bundle client certificates must chain to (all PEM). */
export interface XdsTlsOptions {
  certChainPem: string;
  keyPem: string;
  clientCaPem: string;
}

type Listener<T> = (update: T | null) => void;
type CaUpdate = grpc.experimental.CaCertificateUpdate;
type IdentityUpdate = grpc.experimental.IdentityCertificateUpdate;

/** A certificate provider holding fixed PEMs; `update()` swaps them for new connections (a renewed certificate, a rotated bundle). */
export class StaticCertificateProvider implements grpc.experimental.CertificateProvider {
  private readonly ca = new Set<Listener<CaUpdate>>();
  private readonly identity = new Set<Listener<IdentityUpdate>>();

  constructor(private tls: XdsTlsOptions) {}

  /** Replaces the certificates; connections made from now on use them. */
  update(tls: XdsTlsOptions): void {
    this.tls = tls;
    for (const l of this.ca) l(this.caUpdate());
    for (const l of this.identity) l(this.identityUpdate());
  }

  // Listeners hear of the certificates on the next tick: grpc-js registers its own watcher only
  // after adding these listeners, so an answer given at once would never reach the server.
  addCaCertificateListener(listener: Listener<CaUpdate>): void {
    this.ca.add(listener);
    queueMicrotask(() => this.ca.has(listener) && listener(this.caUpdate()));
  }
  removeCaCertificateListener(listener: Listener<CaUpdate>): void {
    this.ca.delete(listener);
  }
  addIdentityCertificateListener(listener: Listener<IdentityUpdate>): void {
    this.identity.add(listener);
    queueMicrotask(() => this.identity.has(listener) && listener(this.identityUpdate()));
  }
  removeIdentityCertificateListener(listener: Listener<IdentityUpdate>): void {
    this.identity.delete(listener);
  }

  private caUpdate(): CaUpdate {
    return { caCertificate: Buffer.from(this.tls.clientCaPem) };
  }
  private identityUpdate(): IdentityUpdate {
    return { certificate: Buffer.from(this.tls.certChainPem), privateKey: Buffer.from(this.tls.keyPem) };
  }
}

/**
 * Server credentials that ask for a client certificate without requiring one. grpc-js's
 * `createSsl(…, false)` would not ask at all, and `true` would refuse token-only clients.
 */
export function optionalClientCertCredentials(provider: StaticCertificateProvider): grpc.ServerCredentials {
  // The same provider serves both the identity and the CA, so grpc-js's argument order does not matter here.
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
}

/** The URI SAN of a call's client certificate, when one was presented and verified against the bundle. */
export function verifiedPeerUri(call: { getAuthContext?: () => { sslPeerCertificate?: { subjectaltname?: string } } }): string | undefined {
  // grpc-js only reports a peer certificate whose chain verified (socket.authorized).
  const san = call.getAuthContext?.()?.sslPeerCertificate?.subjectaltname;
  const uris = (san ?? '')
    .split(/,\s*/)
    .filter((n) => n.startsWith('URI:'))
    .map((n) => n.slice(4));
  return uris.length === 1 ? uris[0] : undefined;
}
