/** Authenticating a gRPC call, shared by the xDS and telemetry services: the peer it shows, and the authenticator's answer. */
import * as grpc from '@grpc/grpc-js';
import type { AuthOutcome, PeerInfo, XdsAuthenticator } from './auth.ts';
import { verifiedPeerUri } from './tls.ts';

type Call = { metadata: grpc.Metadata; getPeer(): string } & Parameters<typeof verifiedPeerUri>[0];

/** What authentication needs of a call: its peer address, `authorization` metadata and verified client certificate. */
export function peerInfo(call: Call): PeerInfo {
  const [authorization] = call.metadata.get('authorization');
  const certificateUri = verifiedPeerUri(call);
  return {
    address: call.getPeer(),
    ...(typeof authorization === 'string' ? { authorization } : {}),
    ...(certificateUri ? { certificateUri } : {}),
  };
}

/** Runs the authenticator on a call (once, before any message is read) and hands `then` its outcome; a failed check is UNAVAILABLE. */
export function authenticateCall(call: Call, authenticator: XdsAuthenticator, then: (o: AuthOutcome) => void): void {
  const outcome = authenticator.authenticate(peerInfo(call));
  if (!(outcome instanceof Promise)) return then(outcome);
  outcome.then(then, (err: Error) => then({ ok: false, code: grpc.status.UNAVAILABLE, message: `credentials could not be checked: ${err.message}` }));
}
