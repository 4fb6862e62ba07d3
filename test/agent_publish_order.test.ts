import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { DATA_STREAM, dataSubject, decodeBatch, nowNs } from "@tailrace/envelope";
import { waitFor } from "@tailrace/testkit";
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

    const subject = dataSubject("acme", "ordered", "log");
    const stored: number[] = [];
    const last = (await jsm.streams.info(DATA_STREAM)).state.last_seq;
    for (let seq = first + 1; seq <= last; seq++) {
      const m = await jsm.streams.getMessage(DATA_STREAM, { seq });
      if (m?.subject !== subject) continue;
      for (const e of decodeBatch(m.data)) stored.push(Number.parseInt(Buffer.from(e.log?.payload ?? []).toString(), 10));
    }
    expect(stored).toEqual(Array.from({ length: total }, (_, i) => i));
    await close();
    await nc.close();
  });
});
