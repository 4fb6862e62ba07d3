import { type Envelope, encodeBatch } from "@tailrace/envelope";
import { renderBatchProtoJson } from "@tailrace/envelope/internal";
import { describe, expect, it } from "vitest";
import type { WebSocket } from "ws";
import { FeedBatch } from "../ingress/feed.js";
import { Tail } from "./tail.js";

const tags = { tenant: "acme", app_name: "web", source_type: "APP/PROC/WEB" };

/** A socket that records text frames; `bufferedAmount` is set by the test. */
function fakeSocket() {
  const frames: string[] = [];
  const ws = {
    OPEN: 1,
    readyState: 1,
    bufferedAmount: 0,
    send: (d: Buffer | string) => frames.push(d.toString()),
    close() {},
    terminate() {},
  };
  return { ws, frames };
}

function batch(seq: number, first: number, n: number, instance = "0"): FeedBatch {
  const envs: Envelope[] = Array.from({ length: n }, (_, i) => ({
    timestamp: BigInt(first + i) * 1_000_000n,
    sourceId: "web",
    instanceId: instance,
    tags,
    log: { payload: Buffer.from(String(first + i)), type: "OUT" },
  }));
  return new FeedBatch(seq, "log", renderBatchProtoJson(encodeBatch(envs)));
}

const lines = (frames: string[]) =>
  frames.flatMap((f) =>
    (JSON.parse(f).batch as Array<{ log?: { payload: string } }>).map((e) =>
      e.log ? Buffer.from(e.log.payload, "base64").toString() : "?",
    ),
  );

describe("tail", () => {
  it("tail - whole batches and filtered items go out in order, at most 1000 a frame, each frame with its last cursor", async () => {
    const { ws, frames } = fakeSocket();
    const t = new Tail(
      ws as unknown as WebSocket,
      {},
      { maxQueue: 10_000, flushMs: 1, maxBuffered: 1 << 20, hopelessMs: 1000, tenant: "acme", sourceId: "web" },
    );
    t.pushBatch(batch(1, 0, 700));
    t.pushBatch(batch(2, 700, 700));
    await new Promise((r) => setTimeout(r, 20));
    expect(frames.map((f) => JSON.parse(f).batch.length)).toEqual([1000, 400]);
    expect(frames.map((f) => JSON.parse(f).cursor.split("-").slice(0, 2).join("-"))).toEqual(["2-299", "2-699"]);
    expect(lines(frames)).toEqual(Array.from({ length: 1400 }, (_, i) => String(i)));

    const f = fakeSocket();
    const only1 = new Tail(
      f.ws as unknown as WebSocket,
      { instanceId: "1" },
      { maxQueue: 10_000, flushMs: 1, maxBuffered: 1 << 20, hopelessMs: 1000, tenant: "acme", sourceId: "web" },
    );
    only1.pushBatch(batch(3, 0, 5, "0"));
    only1.pushBatch(batch(4, 5, 5, "1"));
    await new Promise((r) => setTimeout(r, 20));
    expect(lines(f.frames)).toEqual(["5", "6", "7", "8", "9"]);
    expect(JSON.parse(f.frames[0] as string).cursor).toMatch(/^4-4-/);
  });

  it("tail - a reader that falls behind loses the oldest, across batches, and is told how many", async () => {
    const { ws, frames } = fakeSocket();
    ws.bufferedAmount = 1 << 30;
    const t = new Tail(
      ws as unknown as WebSocket,
      {},
      { maxQueue: 150, flushMs: 1, maxBuffered: 1 << 20, hopelessMs: 60_000, tenant: "acme", sourceId: "web" },
    );
    t.pushBatch(batch(1, 0, 100));
    t.pushBatch(batch(2, 100, 100));
    t.push(batch(3, 200, 10).items);
    expect(t.stats.dropped).toBe(60);
    ws.bufferedAmount = 0;
    await new Promise((r) => setTimeout(r, 50));
    const got = lines(frames);
    expect(got[0]).toBe("Tailrace dropped 60 envelopes for this consumer: it was not reading fast enough");
    expect(JSON.parse(frames[0] as string).batch[0].tags.source_type).toBe("LGR");
    expect(got.slice(1)).toEqual(Array.from({ length: 150 }, (_, i) => String(60 + i)));
    t.close();
  });

  it("tail - a paced tail holds a few lines for the pacer's time, and sends at once when a frame's worth comes", async () => {
    const { ws, frames } = fakeSocket();
    const pacer = { delayMs: 400 };
    const t = new Tail(
      ws as unknown as WebSocket,
      {},
      { maxQueue: 10_000, flushMs: 1, pacer, maxBuffered: 1 << 20, hopelessMs: 1000, tenant: "acme", sourceId: "web" },
    );
    t.pushBatch(batch(1, 0, 3));
    await new Promise((r) => setTimeout(r, 50));
    // Three lines wait: the event loop is (said to be) late, so a frame of three is not worth its system call yet.
    expect(frames).toEqual([]);
    // A hundred more are worth a frame: out after flushMs, not after the pacer's 400 ms.
    t.pushBatch(batch(2, 3, 100));
    await new Promise((r) => setTimeout(r, 50));
    expect(lines(frames)).toEqual(Array.from({ length: 103 }, (_, i) => String(i)));
    // Right after a large frame (the end of a burst), a straggler is not held either.
    t.pushBatch(batch(3, 103, 1));
    await new Promise((r) => setTimeout(r, 50));
    expect(lines(frames)).toHaveLength(104);
    // But after a small frame it is again.
    t.pushBatch(batch(4, 104, 1));
    await new Promise((r) => setTimeout(r, 50));
    expect(lines(frames)).toHaveLength(104);
    // And on time again, a single line goes out after flushMs.
    pacer.delayMs = 1;
    await new Promise((r) => setTimeout(r, 450));
    t.pushBatch(batch(5, 105, 1));
    await new Promise((r) => setTimeout(r, 50));
    expect(lines(frames)).toEqual(Array.from({ length: 106 }, (_, i) => String(i)));
    t.close();
  });
});
