import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { DATA_STREAM, DRAIN_STREAM, dataSubject, decodeBatch } from "@tailrace/envelope";
import { testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DrainStack, firstSeen, frameReceiver, msgOf, startDrainStack } from "./drain_helpers.js";

const PAD = "r".repeat(1024);
/** Batches the drains' buffer keeps per app (and kind). */
const PER_APP = 20;

/** Every line of one app's logs the data stream still holds (its recent history), read with an ordered consumer. */
async function recentLines(ds: DrainStack, app: string): Promise<string[]> {
  const jsm = await jetstreamManager(ds.nc);
  const subject = dataSubject("acme", app, "log");
  const info = await jsm.streams.info(DATA_STREAM, { subjects_filter: subject });
  const total = info.state.subjects?.[subject] ?? 0;
  const { name } = await jsm.consumers.add(DATA_STREAM, {
    filter_subject: subject,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    inactive_threshold: 10_000_000_000,
  });
  const c = await jetstream(ds.nc).consumers.get(DATA_STREAM, name);
  const out: string[] = [];
  for (let n = 0; n < total; n++) {
    const m = await c.next({ expires: 2000 });
    if (!m) break;
    for (const e of decodeBatch(m.data)) if (e.log) out.push(Buffer.from(e.log.payload).toString("utf8"));
  }
  return out;
}

describe("drain retention", () => {
  let ds: DrainStack;
  beforeAll(async () => {
    ds = await startDrainStack();
  });
  afterAll(() => ds?.stop());

  it("drain - retention is per app: a drain down past TAILRACE_DRAIN_PER_APP loses its oldest, with a notice; recent history and another app's drain keep everything", async () => {
    const big = await frameReceiver();
    const small = await frameReceiver();
    // Window 1: the drainer holds one batch; everything else waits in the drains' buffer, at most PER_APP of an app.
    const drainer = await ds.startDrainer({ TAILRACE_DRAIN_PER_APP: String(PER_APP), TAILRACE_DRAIN_WINDOW: "1" });
    const token = await testToken({ tenant: "acme", scopes: ["drains.write"] });
    for (const [app, rx] of [
      ["ret-big", big],
      ["ret-small", small],
    ] as const) {
      const res = await fetch(`${ds.api}/v1/apps/${app}/drains`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify({ url: `syslog://127.0.0.1:${rx.port}` }),
      });
      expect(res.status).toBe(201);
    }
    await waitFor("two active drains", () => drainer.stats().filter((s) => s.active).length === 2, 30_000);
    await big.down();
    await small.down();

    // ret-big: 800 batches of 10 lines, far past the buffer's 20 per app. ret-small: 4 batches of 50, within them.
    const pub = await ds.publisher();
    const BIG = 8000;
    const SMALL = 200;
    for (let i = 0; i < BIG; i++) {
      pub.line("acme", "ret-big", `${i} ${PAD}`);
      if (i % 10 === 9) await pub.drain();
    }
    for (let i = 0; i < SMALL; i++) {
      pub.line("acme", "ret-small", `${i} ${PAD}`);
      if (i % 50 === 49) await pub.drain();
    }
    await pub.drain();
    // The server copies into the buffer asynchronously: let it catch up with the data stream first.
    const jsm = await jetstreamManager(ds.nc);
    const subject = dataSubject("acme", "ret-big", "log");
    const last = (await jsm.streams.info(DATA_STREAM)).state.last_seq;
    await waitFor("the buffer to copy every batch", async () => (await jsm.streams.info(DRAIN_STREAM)).state.last_seq >= last, 20_000);
    const kept = (await jsm.streams.info(DRAIN_STREAM, { subjects_filter: subject })).state.subjects?.[subject];
    expect(kept).toBe(PER_APP);
    await big.up();
    await small.up();

    const lines = (rx: typeof big) => firstSeen(rx.frames.map((f) => msgOf(f.text)).filter((m) => m.endsWith(PAD)));
    await waitFor("ret-small's every line", () => lines(small).length >= SMALL, 20_000);
    await waitFor("ret-big's newest line", () => lines(big).includes(`${BIG - 1} ${PAD}`), 20_000);
    const lost = /(\d+) messages lost for drain syslog:\/\/127\.0\.0\.1:(\d+)/;
    await waitFor("the loss notice in ret-big's drain", () => big.frames.some((f) => lost.test(f.text)), 20_000);

    const got = lines(big).map((m) => Number(m.split(" ")[0]));
    console.log(`retention: ret-big got ${got.length} of ${BIG} lines; ${JSON.stringify(drainer.stats())}`);
    // The oldest went, the rest came in order, and the notice counts what went.
    expect(got.length).toBeLessThan(BIG / 2);
    expect(got.at(-1)).toBe(BIG - 1);
    expect(got).not.toContain(BIG / 2);
    expect(got).toEqual([...got].sort((a, b) => a - b));
    const notice = big.frames.map((f) => lost.exec(f.text)).find((m) => m);
    expect(Number(notice?.[1])).toBeGreaterThan(0);
    expect(Number(notice?.[2])).toBe(big.port);
    const byPort = Object.fromEntries(drainer.stats().map((s) => [Number(s.url.split(":").pop()), s]));
    expect(byPort[big.port]?.lost).toBeGreaterThan(0);
    // Another app's drain, down as long, lost nothing: the limit is per app.
    expect(lines(small).map((m) => Number(m.split(" ")[0]))).toEqual(Array.from({ length: SMALL }, (_, i) => i));
    expect(byPort[small.port]?.lost).toBe(0);
    expect(small.frames.some((f) => lost.test(f.text))).toBe(false);
    // The data stream's recent history of the app is untouched by the drain stream's limit.
    const recent = (await recentLines(ds, "ret-big")).filter((l) => l.endsWith(PAD));
    expect(recent.length).toBe(BIG);
  }, 90_000);
});
