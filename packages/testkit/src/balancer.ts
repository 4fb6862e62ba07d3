/**
 * A real TCP load balancer on loopback, as operators put in front of dopplers (issue 12, drill 4): it listens on a
 * free port and forwards each connection it accepts to one of its backends, round robin, passing over a backend that
 * refuses the connection. It works at layer 4: it knows nothing of HTTP or websockets, so a websocket stays on the
 * backend it was given, and when that backend dies its connections through the balancer close, as with HAProxy in
 * TCP mode or a cloud network load balancer.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export interface BalancerBackend {
  host?: string;
  port: number;
}

export interface Balancer {
  readonly port: number;
  /** `http://127.0.0.1:<port>`: what a client's `TAILRACE_API` names. */
  readonly url: string;
  /** Connections open now through the balancer, per backend (in the order the backends were given). */
  open(): number[];
  /** Connections the balancer could not place because every backend refused them. */
  readonly refused: number;
  /** Stops listening and closes every connection through it. */
  stop(): Promise<void>;
}

/** Thrown when a balancer is given no backend: it could never place a connection. */
export class NoBackendsError extends Error {
  override name = "NoBackendsError";
}

export async function startBalancer(backends: BalancerBackend[]): Promise<Balancer> {
  if (backends.length === 0) throw new NoBackendsError("a balancer needs at least one backend");
  const open = backends.map(() => new Set<Socket>());
  const clients = new Set<Socket>();
  let next = 0;
  let refused = 0;

  /** Connects to backends from the next in turn; resolves with the first that accepts, or undefined if none does. */
  const place = async (): Promise<{ index: number; upstream: Socket } | undefined> => {
    const first = next;
    next = (next + 1) % backends.length;
    for (let k = 0; k < backends.length; k++) {
      const index = (first + k) % backends.length;
      const b = backends[index] as BalancerBackend;
      const upstream = await new Promise<Socket | undefined>((resolve) => {
        const s = connect({ host: b.host ?? "127.0.0.1", port: b.port });
        s.once("connect", () => resolve(s));
        s.once("error", () => {
          s.destroy();
          resolve(undefined);
        });
      });
      if (upstream) return { index, upstream };
    }
    return undefined;
  };

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    clients.add(client);
    client.once("close", () => clients.delete(client));
    // An error on either side (a reset from a killed backend, a client gone) ends the pair; 'close' does the rest.
    client.on("error", () => client.destroy());
    void place().then((placed) => {
      if (!placed) {
        refused++;
        // Every backend refused: the client sees its connection reset, as behind a balancer with no healthy target.
        client.resetAndDestroy();
        return;
      }
      const { index, upstream } = placed;
      if (client.destroyed) {
        upstream.destroy();
        return;
      }
      open[index]?.add(upstream);
      upstream.on("error", () => upstream.destroy());
      // When the backend goes (a crash closes or resets its sockets), so does the client's connection, and the
      // other way round: neither half stays open on its own.
      upstream.once("close", () => {
        open[index]?.delete(upstream);
        client.destroy();
      });
      client.once("close", () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    open: () => open.map((s) => s.size),
    get refused() {
      return refused;
    },
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of clients) c.destroy();
      await closed;
    },
  };
}
