import { createServer, type Socket, connect as tcpConnect } from "node:net";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { DATA_STREAM, dataSubject, decodeBatch, nowNs } from "@tailrace/envelope";
import { freePort, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentPublisher, type Stack, startStack } from "./helpers.js";

/**
 * Issue 12: during a NATS fault the agent retried a failed batch after newer batches of the same app had been stored,
 * so hundreds of lines of one instance were stored (and drained) out of order. A stream whose message size limit
 * refuses the first batch, and takes the next ones, makes that fault exact.
 */
describe("agent publish order", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack?.stop());

  it("agent - a batch refused and retried is stored before the app's newer batches, not after them", async () => {
    const nc = await connect({ servers: stack.nats.url });
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(DATA_STREAM);
    const first = info.state.last_seq;
    // The first batch carries one 9,000-byte line: over this limit. Every other batch (16 short lines) is under it.
    await jsm.streams.update(DATA_STREAM, { ...info.config, max_msg_size: 8000 });

    const { pub, close } = await agentPublisher(stack.nats.url, { maxBatch: 16, maxInFlight: 16 });
    const ch = pub.channel("acme", "ordered");
    const tags = { tenant: "acme", app_name: "ordered", source_type: "APP/PROC/WEB" };
    const total = 400;
    for (let i = 0; i < total; i++) {
      const text = i === 0 ? `0 ${"x".repeat(9000)}` : String(i);
      ch.write({ timestamp: nowNs(), sourceId: "ordered", instanceId: "0", tags, log: { payload: Buffer.from(text), type: "OUT" } });
    }
    await waitFor("the first batch to be refused", () => pub.stats.retries > 0);
    // Publishing waits behind the refused batch: the newer lines are held, not stored ahead of it.
    await new Promise((r) => setTimeout(r, 500));
    expect(pub.stats.sent).toBe(0);

    await jsm.streams.update(DATA_STREAM, { ...info.config, max_msg_size: -1 });
    expect(await pub.drain(30_000)).toBe(0);
    expect(pub.stats.sent).toBe(total);

    expect(await storedLines(jsm, "ordered", first)).toEqual(Array.from({ length: total }, (_, i) => i));
    await close();
    await nc.close();
  });

  it("agent - batches in flight when the connection drops are sent again on the next one, not after their ack timeout", async () => {
    const nc = await connect({ servers: stack.nats.url });
    const jsm = await jetstreamManager(nc);
    const first = (await jsm.streams.info(DATA_STREAM)).state.last_seq;
    const proxy = await startSwallowingProxy(stack.nats.port);
    // An ack timeout longer than this test's bound: only a resend on the reconnect stores the lost batches in time.
    const { pub, close } = await agentPublisher(`nats://127.0.0.1:${proxy.port}`, { maxBatch: 10, publishTimeoutMs: 120_000 });
    const ch = pub.channel("acme", "dropped-conn");
    const tags = { tenant: "acme", app_name: "dropped-conn", source_type: "APP/PROC/WEB" };
    const write = (from: number, to: number) => {
      for (let i = from; i < to; i++)
        ch.write({
          timestamp: nowNs(),
          sourceId: "dropped-conn",
          instanceId: "0",
          tags,
          log: { payload: Buffer.from(String(i)), type: "OUT" },
        });
    };
    write(0, 100);
    expect(await pub.drain(30_000)).toBe(0);
    // What the publisher sends now reaches no server and is never acknowledged, as when its node dies mid-request.
    proxy.swallow();
    write(100, 300);
    await waitFor("the publisher to send into the void", () => proxy.swallowed > 0);
    await new Promise((r) => setTimeout(r, 300));
    expect(pub.stats.sent).toBe(100);
    proxy.cut();
    expect(await pub.drain(30_000)).toBe(0);
    expect(pub.stats.retries).toBeGreaterThan(0);
    expect(await storedLines(jsm, "dropped-conn", first)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    await close();
    await proxy.stop();
    await nc.close();
  });
});

/** The numbered lines of `app` (tenant acme) stored after stream sequence `first`, in stream order. */
async function storedLines(jsm: JetStreamManager, app: string, first: number): Promise<number[]> {
  const subject = dataSubject("acme", app, "log");
  const stored: number[] = [];
  const last = (await jsm.streams.info(DATA_STREAM)).state.last_seq;
  for (let seq = first + 1; seq <= last; seq++) {
    const m = await jsm.streams.getMessage(DATA_STREAM, { seq });
    if (m?.subject !== subject) continue;
    for (const e of decodeBatch(m.data)) stored.push(Number.parseInt(Buffer.from(e.log?.payload ?? []).toString(), 10));
  }
  return stored;
}

/**
 * A TCP proxy to a nats-server that can swallow what clients send (a node that died with requests on the wire: no
 * reply ever comes) and then cut every connection (the client sees the node gone and reconnects, through it again).
 */
async function startSwallowingProxy(target: number) {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let swallowing = false;
  let swallowed = 0;
  const server = createServer((client) => {
    const upstream = tcpConnect({ host: "127.0.0.1", port: target });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(s);
      });
    }
    client.on("data", (d) => {
      if (swallowing) swallowed += d.length;
      else upstream.write(d);
    });
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return {
    port,
    get swallowed() {
      return swallowed;
    },
    swallow() {
      swallowing = true;
    },
    cut() {
      swallowing = false;
      for (const s of sockets) s.destroy();
    },
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
