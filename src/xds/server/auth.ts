/**
 * Who may open an xDS stream, and which identity it may then claim. A stream's credential is read
 * once, when it opens: a join token (`authorization: Bearer apg_…` metadata) or a client
 * certificate the mesh CA issued (its SPIFFE ID, when the server runs with TLS). The node of the
 * first request must then claim exactly that identity. Loopback peers may connect without any
 * credential in `loopback-plaintext` mode (development), and then claim what they like.
 */
import type { XdsAuthMode } from '../../config.ts';
import { serviceKey, type ProxyIdentity } from '../../model/proxy.ts';
import { bearerToken } from '../../ca/join-tokens.ts';
import { workloadOfSpiffeId } from '../../ca/spiffe.ts';

/** A workload identity a credential proves, and what proved it (for logs). */
export interface WorkloadCredential {
  namespace: string;
  service: string;
  /** `token <id>` or `certificate <spiffe id>`. */
  source: string;
  /** Set for a join token: open streams are re-checked, so a revoked or expired token cuts them. */
  tokenId?: string;
}

/** What a stream was admitted with: a workload identity, or `loopback` (no credential, development mode). */
export type StreamCredential = WorkloadCredential | 'loopback';

/** What the server knows of a peer when its stream opens. */
export interface PeerInfo {
  /** `host:port` as grpc-js reports it (`::1:5000` for IPv6). */
  address: string;
  /** The `authorization` metadata value, if sent. */
  authorization?: string;
  /** The URI SAN of a client certificate that verified against the CA bundle. */
  certificateUri?: string;
}

/** gRPC status codes this module answers with. */
export const UNAUTHENTICATED = 16;
export const PERMISSION_DENIED = 7;

export type AuthOutcome = { ok: true; credential?: StreamCredential } | { ok: false; code: number; message: string };

/** Decides whether a stream may open; the XdsServer without one admits every stream with no credential. */
export interface XdsAuthenticator {
  authenticate(peer: PeerInfo): AuthOutcome | Promise<AuthOutcome>;
  /** Of the token ids given, the ones still valid; open streams on the others are ended with PERMISSION_DENIED. */
  stillValid?(tokenIds: readonly string[]): Promise<ReadonlySet<string>>;
}

/** What the mesh authenticator is built from (wired in main.ts). */
export interface MeshAuthenticatorOptions {
  mode: XdsAuthMode;
  trustDomain: string;
  /** The identity of a valid join token. */
  verifyToken(token: string): Promise<{ tokenId: string; namespace: string; service: string } | undefined>;
  stillValid(tokenIds: readonly string[]): Promise<ReadonlySet<string>>;
}

/** True for 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (grpc-js gives `host:port`). */
export function isLoopback(address: string): boolean {
  const host = address.replace(/^\[/, '').replace(/\]?:\d+$/, '');
  return host === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/i.test(host);
}

/** The namespace and service of a workload SPIFFE ID of `trustDomain` (`spiffe://td/ns/<ns>/sa/<service>`). */
export function identityOfSpiffeId(uri: string, trustDomain: string): { namespace: string; service: string } | undefined {
  const workload = workloadOfSpiffeId(uri);
  return workload?.trustDomain === trustDomain ? { namespace: workload.namespace, service: workload.service } : undefined;
}

/** The authenticator of XDS_AUTH: a join token or a client certificate, or (loopback-plaintext) a loopback peer. */
export function meshAuthenticator(opts: MeshAuthenticatorOptions): XdsAuthenticator {
  const refuse = (code: number, message: string): AuthOutcome => ({ ok: false, code, message });
  return {
    async authenticate(peer) {
      // A credential that is presented is always checked, even from loopback: a bad one is an error, not "none".
      if (peer.authorization !== undefined) {
        const token = bearerToken(peer.authorization);
        const identity = token && (await opts.verifyToken(token));
        if (!identity) return refuse(UNAUTHENTICATED, 'the join token is not valid (unknown, revoked or expired)');
        return { ok: true, credential: { namespace: identity.namespace, service: identity.service, source: `token ${identity.tokenId}`, tokenId: identity.tokenId } };
      }
      if (peer.certificateUri !== undefined) {
        const identity = identityOfSpiffeId(peer.certificateUri, opts.trustDomain);
        if (!identity) return refuse(UNAUTHENTICATED, `the client certificate names ${peer.certificateUri}, not a workload of ${opts.trustDomain}`);
        return { ok: true, credential: { ...identity, source: `certificate ${peer.certificateUri}` } };
      }
      if (opts.mode === 'loopback-plaintext' && isLoopback(peer.address)) return { ok: true, credential: 'loopback' };
      return refuse(UNAUTHENTICATED, 'a join token (authorization: Bearer) or a client certificate issued by the mesh CA is required');
    },
    stillValid: (ids) => opts.stillValid(ids),
  };
}

/**
 * Why a proxy may not claim the identity its node announces with this credential, if it may not: a
 * workload credential allows exactly its own namespace and service (a node without a service, such
 * as a gateway with no identity, claims none and is refused too).
 */
export function credentialRefusal(proxy: ProxyIdentity, credential: StreamCredential | undefined): string | undefined {
  if (credential === undefined || credential === 'loopback') return undefined;
  const claimed = serviceKey(proxy) ?? 'no service';
  const proven = `${credential.namespace}/${credential.service}`;
  if (claimed === proven) return undefined;
  return `node ${proxy.id} claims ${claimed} but its credential (${credential.source}) is for ${proven}`;
}
