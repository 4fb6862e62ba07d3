import { testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DrainStack, frameReceiver, msgOf, startDrainStack } from "./drain_helpers.js";

/** Drains the drainer must catch up from their binding when it starts (each on a catch-up consumer of its own). */
const BUSY = 300;
const BUSY_BEFORE = 20;
const FRESH_RATE = 200;

/** The app-name of an RFC 5424 frame: `<14>1 TIMESTAMP HOST APP-NAME ...`. */
const appOf = (frame: string) => frame.split(" ", 4)[3] ?? "";

describe("drain binding at width", () => {
  let ds: DrainStack;
  beforeAll(async () => {
    ds = await startDrainStack();
  });
  afterAll(() => ds?.stop());

  it("drain - a drain bound while hundreds of others catch up gets its first line promptly, and every line from its binding in order", async () => {
    const busy = await frameReceiver();
    const fresh = await frameReceiver();
    for (let i = 0; i < BUSY; i++) await ds.store.add("acme", `busy${i}`, `syslog://127.0.0.1:${busy.port}`, 5);
    const pub = await ds.publisher();
    for (let n = 0; n < BUSY_BEFORE; n++) for (let i = 0; i < BUSY; i++) pub.line("acme", `busy${i}`, `busy ${n}`);
    await pub.drain();

    // The drainer starts with 300 drains to catch up from their binding, a few dozen consumers at a time.
    const drainer = await ds.startDrainer();
    const token = await testToken({ tenant: "acme", scopes: ["drains.write"] });
    let n = 0;
    let boundAt = 0;
    let firstAfterBind = -1;
    const start = Date.now();
    let busyN = BUSY_BEFORE;
    const publishing = (async () => {
      // `fresh` logs throughout, before and after its binding; the busy apps keep logging too.
      while (Date.now() - start < 6000 || boundAt === 0) {
        const due = Math.floor(((Date.now() - start) / 1000) * FRESH_RATE);
        for (; n < due; n++) pub.line("acme", "fresh", `fresh ${n}`);
        if (busyN < BUSY_BEFORE + 10 && (Date.now() - start) / 500 > busyN - BUSY_BEFORE) {
          for (let i = 0; i < BUSY; i++) pub.line("acme", `busy${i}`, `busy ${busyN}`);
          busyN++;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    const res = await fetch(`${ds.api}/v1/apps/fresh/drains`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify({ url: `syslog://127.0.0.1:${fresh.port}` }),
    });
    expect(res.status).toBe(201);
    boundAt = Date.now();
    // Every line published from here on is after the binding, and must arrive.
    firstAfterBind = n;
    const stillCatchingUp = drainer.stats().filter((s) => s.source_id.startsWith("busy") && s.sent === 0).length;
    await publishing;
    await pub.drain();
    const last = n - 1;

    const got = () => fresh.frames.map((f) => ({ n: Number(msgOf(f.text).split(" ")[1]), at: f.at }));
    // Liveness bounds only: on an idle machine the first line comes within the feed's latency, and the rest a moment
    // after the last is published.
    await waitFor("the new drain's first line", () => fresh.frames.length > 0, 15_000);
    const firstLineMs = (fresh.frames[0]?.at ?? 0) - boundAt;
    await waitFor("every line of the new drain", () => got().some((l) => l.n === last), 60_000);

    const lines = got().map((l) => l.n);
    // From the first line it got to the last one published: each once, in order, with no gap.
    expect(lines[0]).toBeLessThanOrEqual(firstAfterBind);
    expect(lines).toEqual(Array.from({ length: last - (lines[0] as number) + 1 }, (_, i) => (lines[0] as number) + i));

    // The others lose nothing either: every busy app's lines, each once.
    const want = BUSY * busyN;
    await waitFor("every line of the busy drains", () => busy.frames.length >= want, 90_000);
    const perApp = new Map<string, Set<string>>();
    for (const f of busy.frames) {
      const app = appOf(f.text);
      let s = perApp.get(app);
      if (!s) perApp.set(app, (s = new Set()));
      s.add(msgOf(f.text));
    }
    expect(perApp.size).toBe(BUSY);
    for (const s of perApp.values()) expect(s.size).toBe(busyN);
    expect(drainer.stats().every((s) => s.lost === 0)).toBe(true);
    // Printed for whoever reads the log; the figure itself belongs to bench/ (bench/drains_width.mjs).
    console.log(
      `binding at width: first line ${firstLineMs} ms after the binding, while ${stillCatchingUp} of ${BUSY} drains had sent nothing yet`,
    );
  }, 180_000);
});
