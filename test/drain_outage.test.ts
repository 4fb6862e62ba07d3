import { testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DrainStack, firstSeen, frameReceiver, msgOf, type Publisher, startDrainStack } from "./drain_helpers.js";

/** The issue asks for 60 s down, and that is what the suite runs; TAILRACE_TEST_DRAIN_OUTAGE_S shortens it for local iteration. */
const OUTAGE_S = Number(process.env.TAILRACE_TEST_DRAIN_OUTAGE_S ?? 60);
const RATE = 1000;

/** Publishes `RATE` lines a second over two instances until `until()` says stop; returns how many per instance. */
async function paced(pub: Publisher, app: string, until: () => boolean): Promise<number> {
  const start = Date.now();
  let sent = 0;
  while (!until()) {
    const due = Math.floor(((Date.now() - start) / 1000) * RATE);
    for (; sent < due; sent++) pub.line("acme", app, `${sent >> 1} seq`, { instance: String(sent & 1) });
    await new Promise((r) => setTimeout(r, 10));
  }
  if (sent & 1) {
    pub.line("acme", app, `${sent >> 1} seq`, { instance: "1" });
    sent++;
  }
  await pub.drain();
  return sent / 2;
}

describe("drain outage", () => {
  let ds: DrainStack;
  beforeAll(async () => {
    ds = await startDrainStack();
  });
  afterAll(() => ds?.stop());

  it(
    `drain - a receiver down for ${OUTAGE_S} s at ${RATE} lines/s gets every line afterwards, in order per instance`,
    async () => {
      const rx = await frameReceiver();
      const drainer = await ds.startDrainer();
      const token = await testToken({ tenant: "acme", scopes: ["drains.write"] });
      const res = await fetch(`${ds.api}/v1/apps/outage/drains`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify({ url: `syslog://127.0.0.1:${rx.port}` }),
      });
      expect(res.status).toBe(201);
      const pub = await ds.publisher();
      const t0 = Date.now();
      let phase: "before" | "down" | "after" | "done" = "before";
      const publishing = paced(pub, "outage", () => phase === "done");
      await waitFor("lines before the outage", () => rx.frames.length > 500, 30_000);
      await rx.down();
      phase = "down";
      await new Promise((r) => setTimeout(r, OUTAGE_S * 1000));
      const errorsDuringOutage = drainer.stats()[0]?.errors ?? 0;
      await rx.up();
      phase = "after";
      await new Promise((r) => setTimeout(r, 2000));
      phase = "done";
      const perInstance = await publishing;

      const key = (t: string) => `${/\[APP\/PROC\/WEB\/(\d)\]/.exec(t)?.[1]}:${msgOf(t)}`;
      const lines = () => rx.frames.map((f) => key(f.text)).filter((m) => m.endsWith(" seq"));
      await waitFor("every line after the outage", () => new Set(lines()).size >= perInstance * 2, 30_000);
      for (const inst of ["0", "1"]) {
        const got = firstSeen(rx.frames.filter((f) => f.text.includes(`[APP/PROC/WEB/${inst}]`)).map((f) => msgOf(f.text))).filter((m) =>
          m.endsWith(" seq"),
        );
        expect(got).toEqual(Array.from({ length: perInstance }, (_, i) => `${i} seq`));
      }
      const s = drainer.stats()[0];
      expect(errorsDuringOutage).toBeGreaterThan(0);
      expect(s?.lost).toBe(0);
      expect(s?.retries).toBeGreaterThan(0);
      console.log(
        `outage: ${perInstance * 2} lines, ${OUTAGE_S} s down, ${rx.frames.length - new Set(lines()).size} duplicates, ${Date.now() - t0} ms in all`,
      );
    },
    (OUTAGE_S + 50) * 1000,
  );
});
