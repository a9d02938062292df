/**
 * The HTTP/2 receive window of a telemetry stream. grpc-js gives a server no option for it, so every
 * stream and connection keeps HTTP/2's 64 KiB, refilled only as the event loop reads what came. A
 * proxy streaming ~30 MB/s of access logs (50,000 Envoy entries a second) fills 64 KiB in 2 ms, so any
 * longer turn of this process (a rollup merge, a garbage collection) stops its sender, whose own
 * buffer (Envoy's 1 MiB) then overflows and drops logs. Envoy's own servers default to 256 MiB windows
 * and gRPC's C++ core grows them by BDP probing; a fixed larger window here does the same job.
 *
 * The window is set on the call's HTTP/2 session, found through grpc-js internals (a test holds the
 * installed grpc-js to them); when they are not there, nothing is changed and the stream still works.
 */
import type { Http2Session } from 'node:http2';

/** The connection's window, as a multiple of a stream's: the proxy's ADS and metrics streams may share it. */
const CONNECTION_WINDOWS = 4;

const widened = new WeakSet<Http2Session>();

interface CallLayer {
  stream?: { session?: Http2Session };
  nextCall?: unknown;
}

/** The HTTP/2 session behind a grpc-js server call: `call.call`, down its interceptor chain to the layer holding the stream. */
export function sessionOf(call: object): Http2Session | undefined {
  let layer = (call as { call?: unknown }).call as CallLayer | undefined;
  for (let depth = 0; layer && typeof layer === 'object' && depth < 8; depth++) {
    const session = layer.stream?.session;
    if (session && typeof session.settings === 'function') return session;
    layer = layer.nextCall as CallLayer | undefined;
  }
  return undefined;
}

/**
 * Lets the peer of `call` send `bytes` on each stream of its connection (and 4 times that on the
 * connection) before waiting for this process to read. Once per connection; returns the session, or
 * undefined when it could not be reached (grpc-js internals changed) or is closing.
 */
export function widenReceiveWindow(call: object, bytes: number): Http2Session | undefined {
  const session = sessionOf(call);
  if (!session || session.destroyed || session.closed) return undefined;
  if (widened.has(session)) return session;
  widened.add(session);
  try {
    session.setLocalWindowSize(bytes * CONNECTION_WINDOWS);
    session.settings({ initialWindowSize: bytes });
  } catch {
    return undefined; // closing under our feet: the stream goes on with the windows it had
  }
  return session;
}
