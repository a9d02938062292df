/**
 * A TCP proxy that can cut the network without resetting anything, as a partition does: while cut,
 * bytes and closes are held back in both directions and new connections get no answer; once healed,
 * everything held back goes through. (pg_terminate_backend and refused connections, by contrast,
 * fail fast; a partition is the case where nothing answers at all.)
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Stops every byte from going through, without closing anything. */
  cut(): void;
  /** Lets everything held back go through. */
  heal(): void;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 (a free port) in front of `targetHost:targetPort`. */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let cut = false;
  const sockets = new Set<net.Socket>();
  /** Work to do once healed: connections accepted during the cut, closes to pass on. */
  let held: (() => void)[] = [];
  const whenHealed = (fn: () => void) => (cut ? held.push(fn) : fn());

  const pipe = (down: net.Socket) => {
    const up = net.connect(targetPort, targetHost);
    for (const [from, to] of [
      [down, up],
      [up, down],
    ] as const) {
      sockets.add(from);
      from.on('data', (chunk) => whenHealed(() => to.write(chunk)));
      from.on('error', () => {});
      from.on('close', () => {
        sockets.delete(from);
        whenHealed(() => to.destroy());
      });
    }
  };
  const server = net.createServer((down) => {
    down.pause(); // hold its first bytes until it is piped
    down.on('error', () => {});
    sockets.add(down);
    whenHealed(() => {
      if (down.destroyed) return void sockets.delete(down);
      pipe(down);
      down.resume();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut: () => {
      cut = true;
    },
    heal: () => {
      cut = false;
      const todo = held;
      held = [];
      for (const fn of todo) fn();
    },
    close: async () => {
      cut = false;
      held = [];
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
