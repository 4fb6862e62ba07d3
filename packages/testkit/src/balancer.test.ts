import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { NoBackendsError, startBalancer } from "./balancer.js";
import { freePort } from "./nats_cluster.js";
import { waitFor } from "./wait.js";

/** A backend that answers each connection with its name, then echoes what it is sent. */
async function namedBackend(name: string): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
    s.write(`${name}\n`);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { server, port: (server.address() as { port: number }).port, sockets };
}

/** Connects through the balancer and resolves with the connection and the name of the backend that answered. */
function dial(port: number): Promise<{ socket: Socket; name: string; text: () => string; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let text = "";
    let closed = false;
    socket.on("close", () => (closed = true));
    socket.on("error", reject);
    socket.on("data", (d: Buffer) => {
      text += d.toString();
      const nl = text.indexOf("\n");
      if (nl >= 0) resolve({ socket, name: text.slice(0, nl), text: () => text, closed: () => closed });
    });
  });
}

describe("testkit - TCP balancer", () => {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it("balancer - spreads connections round robin, passes over a backend that refuses, closes a dead backend's connections", async () => {
    const a = await namedBackend("a");
    const b = await namedBackend("b");
    const down = await freePort(); // nothing listens here: connections to it are refused
    const lb = await startBalancer([{ port: a.port }, { port: down }, { port: b.port }]);
    cleanup.push(
      () => lb.stop(),
      () => a.server.close(),
      () => b.server.close(),
    );

    const conns = [];
    for (let i = 0; i < 4; i++) conns.push(await dial(lb.port));
    expect(conns.map((c) => c.name).sort()).toEqual(["a", "a", "b", "b"]);
    expect(lb.open()).toEqual([2, 0, 2]);

    // Bytes go both ways through it.
    const first = conns[0] as Awaited<ReturnType<typeof dial>>;
    first.socket.write("hello\n");
    await waitFor("the echo", () => first.text().includes("hello"));

    // Backend a dies: every connection it had through the balancer closes; b's stay open.
    for (const s of a.sockets) s.destroy();
    a.server.close();
    await waitFor("a's connections to close", () => conns.filter((c) => c.name === "a").every((c) => c.closed()));
    expect(conns.filter((c) => c.name === "b").some((c) => c.closed())).toBe(false);

    // New connections all go to b now.
    const again = [await dial(lb.port), await dial(lb.port)];
    expect(again.map((c) => c.name)).toEqual(["b", "b"]);
    for (const c of [...conns, ...again]) c.socket.destroy();
  });

  it("balancer - resets a connection when every backend refuses, and needs a backend to start", async () => {
    const lb = await startBalancer([{ port: await freePort() }]);
    cleanup.push(() => lb.stop());
    const socket = connect({ host: "127.0.0.1", port: lb.port });
    const ended = await new Promise<string>((resolve) => {
      socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
      socket.once("close", () => resolve("closed"));
    });
    expect(["ECONNRESET", "closed"]).toContain(ended);
    expect(lb.refused).toBe(1);
    await expect(startBalancer([])).rejects.toBeInstanceOf(NoBackendsError);
  });
});
