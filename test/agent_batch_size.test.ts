import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { DATA_STREAM, dataSubject, decodeBatch, nowNs } from "@tailrace/envelope";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentPublisher, type Stack, startStack } from "./helpers.js";

/**
 * A batch must fit in one NATS message (the server's max_payload, 1 MiB by default): 40 lines of 60 KB made a batch of
 * 2.4 MB, which nats.js refused before sending, and the agent retried it forever with every other app behind it.
 */
describe("agent batch size", () => {
  let stack: Stack;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "tailrace-payload-"));
    const conf = join(dir, "nats.conf");
    writeFileSync(conf, "max_payload: 65536\n");
    stack = await startStack({}, ["-c", conf]);
  });
  afterAll(() => stack?.stop());

  /** The app's stored messages: each one's size, and the lines in stream order. */
  async function stored(app: string, from: number): Promise<{ sizes: number[]; lines: string[] }> {
    const nc = await connect({ servers: stack.nats.url });
    const jsm = await jetstreamManager(nc);
    const last = (await jsm.streams.info(DATA_STREAM)).state.last_seq;
    const sizes: number[] = [];
    const lines: string[] = [];
    for (let seq = from + 1; seq <= last; seq++) {
      const m = await jsm.streams.getMessage(DATA_STREAM, { seq });
      if (m?.subject !== dataSubject("acme", app, "log")) continue;
      sizes.push(m.data.length);
      for (const e of decodeBatch(m.data)) lines.push(Buffer.from(e.log?.payload ?? []).toString());
    }
    await nc.close();
    return { sizes, lines };
  }

  async function lastSeq(): Promise<number> {
    const nc = await connect({ servers: stack.nats.url });
    const seq = (await (await jetstreamManager(nc)).streams.info(DATA_STREAM)).state.last_seq;
    await nc.close();
    return seq;
  }

  const tags = (app: string) => ({ tenant: "acme", app_name: app, source_type: "APP/PROC/WEB" });

  it("agent - long lines that make a batch larger than max_payload are split over several messages, all stored, in order", async () => {
    const from = await lastSeq();
    const { pub, close } = await agentPublisher(stack.nats.url, { maxBatch: 256 });
    const ch = pub.channel("acme", "long");
    const want: string[] = [];
    for (let i = 0; i < 40; i++) {
      const text = `${i} ${"x".repeat(20_000)}`;
      want.push(text);
      ch.write({
        timestamp: nowNs(),
        sourceId: "long",
        instanceId: "0",
        tags: tags("long"),
        log: { payload: Buffer.from(text), type: "OUT" },
      });
    }
    expect(await pub.drain(30_000)).toBe(0);
    expect(pub.stats.sent).toBe(40);
    const s = await stored("long", from);
    expect(s.lines).toEqual(want);
    expect(s.sizes.length).toBeGreaterThan(1);
    for (const size of s.sizes) expect(size).toBeLessThanOrEqual(65_536);
    await close();
  });

  it("agent - one envelope larger than max_payload is dropped with a notice in its place; the app's other lines go on", async () => {
    const from = await lastSeq();
    const { pub, close } = await agentPublisher(stack.nats.url, { maxBatch: 256 });
    const ch = pub.channel("acme", "huge");
    const texts = ["0 before", `1 ${"y".repeat(65_500)}`, "2 after", "3 after"];
    for (const text of texts) {
      ch.write({
        timestamp: nowNs(),
        sourceId: "huge",
        instanceId: "0",
        tags: tags("huge"),
        log: { payload: Buffer.from(text), type: "OUT" },
      });
    }
    expect(await pub.drain(30_000)).toBe(0);
    expect(pub.stats.droppedOversize).toBe(1);
    const s = await stored("huge", from);
    expect(s.lines.filter((l) => !l.startsWith("Tailrace"))).toEqual(["0 before", "2 after", "3 after"]);
    expect(s.lines.find((l) => l.startsWith("Tailrace agent dropped an envelope of"))).toMatch(/max_payload 65536/);
    await close();
  });
});
