import { logEnvelope } from "@tailrace/envelope";
import { describe, expect, it } from "vitest";
import { FairBuffer } from "./fair.js";

const env = (app: string, n: number) => logEnvelope({ sourceId: app, tags: { tenant: "t" }, payload: `${app} ${n}` });

describe("fair buffer", () => {
  it("fair buffer - a flood drops its own oldest, never a quiet app's lines", () => {
    const b = new FairBuffer(100);
    const noisy = b.lane("tr.data.t.noisy.log", "t", "noisy");
    const quiet = b.lane("tr.data.t.quiet.log", "t", "quiet");
    for (let i = 0; i < 5; i++) b.push(quiet, env("quiet", i));
    for (let i = 0; i < 10_000; i++) b.push(noisy, env("noisy", i));
    expect(b.size).toBe(100);
    const taken = new Map<string, { n: number; dropped: number; first: string }>();
    for (let t = b.take(1000); t; t = b.take(1000)) {
      taken.set(t.lane.sourceId, { n: t.batch.length, dropped: t.dropped, first: Buffer.from(t.batch[0]?.log?.payload ?? []).toString() });
    }
    expect(taken.get("quiet")).toEqual({ n: 5, dropped: 0, first: "quiet 0" });
    expect(taken.get("noisy")?.dropped).toBe(10_000 - 95);
    // Oldest first: what is left of the flood is its newest lines.
    expect(taken.get("noisy")?.first).toBe(`noisy ${10_000 - 95}`);
    expect(b.droppedTotal).toBe(10_000 - 95);
  });

  it("fair buffer - lanes are served round-robin", () => {
    const b = new FairBuffer(1000);
    const a = b.lane("a", "t", "a");
    const c = b.lane("c", "t", "c");
    for (let i = 0; i < 10; i++) b.push(a, env("a", i));
    for (let i = 0; i < 10; i++) b.push(c, env("c", i));
    const order = [b.take(4), b.take(4), b.take(4), b.take(4)].map((t) => t?.lane.sourceId);
    expect(order).toEqual(["a", "c", "a", "c"]);
  });

  it("fair buffer - a held lane gives no second batch until released; other lanes go on", () => {
    const b = new FairBuffer(1000);
    const a = b.lane("a", "t", "a");
    const c = b.lane("c", "t", "c");
    for (let i = 0; i < 10; i++) b.push(a, env("a", i));
    for (let i = 0; i < 10; i++) b.push(c, env("c", i));
    expect(b.take(4, true)?.lane.sourceId).toBe("a");
    b.push(a, env("a", 10));
    const next = [b.take(4, true), b.take(4, true)];
    expect(next.map((t) => t?.lane.sourceId)).toEqual(["c", undefined]);
    b.release(a);
    const t = b.take(100, true);
    expect(t?.batch.map((e) => Buffer.from(e.log?.payload ?? []).toString())).toEqual(["a 4", "a 5", "a 6", "a 7", "a 8", "a 9", "a 10"]);
    b.release(a);
    b.release(c);
    expect(b.take(100)?.batch).toHaveLength(6);
    expect(b.take(100)).toBeUndefined();
    expect(b.size).toBe(0);
  });

  it("fair buffer - a flood whose lane is held still drops its own oldest, not a quiet app's", () => {
    const b = new FairBuffer(100);
    const noisy = b.lane("noisy", "t", "noisy");
    const quiet = b.lane("quiet", "t", "quiet");
    for (let i = 0; i < 10; i++) b.push(noisy, env("noisy", i));
    b.take(5, true);
    for (let i = 0; i < 5; i++) b.push(quiet, env("quiet", i));
    for (let i = 10; i < 10_000; i++) b.push(noisy, env("noisy", i));
    expect(b.take(1000)?.batch).toHaveLength(5);
    b.release(noisy);
    const t = b.take(1000);
    expect(t?.lane.sourceId).toBe("noisy");
    expect(t?.dropped).toBe(10_000 - 5 - 95);
  });
  it("fair buffer - a full buffer always drops from a lane as long as the longest, held or not (random pushes, takes and releases)", () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 20; round++) {
      const dropped: string[] = [];
      const b = new FairBuffer(50, (e) => dropped.push(e.sourceId));
      const lanes = Array.from({ length: 12 }, (_, i) => b.lane(`tr.data.t.a${i}.log`, "t", `a${i}`));
      const sizes = new Map(lanes.map((l) => [l.sourceId, 0]));
      const held: typeof lanes = [];
      for (let step = 0; step < 2000; step++) {
        const r = rand(10);
        if (r < 7) {
          // Skewed: the first lanes write most.
          const l = lanes[Math.min(rand(12), rand(12))] as (typeof lanes)[number];
          const full = b.size >= b.capacity;
          const longest = Math.max(...sizes.values());
          const before = dropped.length;
          b.push(l, env(l.sourceId, step));
          sizes.set(l.sourceId, (sizes.get(l.sourceId) ?? 0) + 1);
          if (full) {
            expect(dropped.length).toBe(before + 1);
            const victim = dropped[dropped.length - 1] as string;
            expect(sizes.get(victim)).toBe(victim === l.sourceId ? longest + 1 : longest);
            sizes.set(victim, (sizes.get(victim) ?? 0) - 1);
          }
        } else if (r < 9) {
          const t = b.take(1 + rand(8), true);
          if (t) {
            sizes.set(t.lane.sourceId, (sizes.get(t.lane.sourceId) ?? 0) - t.batch.length);
            held.push(t.lane);
          }
        } else if (held.length > 0) b.release(held.splice(rand(held.length), 1)[0] as (typeof lanes)[number]);
        expect(b.size).toBe([...sizes.values()].reduce((x, y) => x + y, 0));
      }
    }
  });

  it("fair buffer - a lane backed up past a batch gives a burst; what is given back goes out next, in order, before newer", () => {
    const b = new FairBuffer(10_000);
    const busy = b.lane("busy", "t", "busy");
    const text = (t: { batch: Array<{ log?: { payload: Uint8Array } }> } | undefined) =>
      (t?.batch ?? []).map((e) => Buffer.from(e.log?.payload ?? []).toString());
    for (let i = 0; i < 10; i++) b.push(busy, env("busy", i));
    // 10 queued, more than a batch of 4: up to the burst of 8.
    const first = b.take(4, true, 8);
    expect(text(first)).toEqual(Array.from({ length: 8 }, (_, i) => `busy ${i}`));
    // Too large to send whole: its back half goes back to the front of the lane, and newer lines queue behind it.
    b.giveBack(busy, first?.batch.slice(3) ?? []);
    b.push(busy, env("busy", 10));
    expect(b.size).toBe(8);
    // Held: nothing of the lane is taken until the first part is released.
    expect(b.take(4, true, 8)).toBeUndefined();
    b.release(busy);
    expect(text(b.take(4, true, 8))).toEqual([3, 4, 5, 6, 7, 8, 9, 10].map((i) => `busy ${i}`));
    expect(b.size).toBe(0);
    // A lane with no more than a batch queued gets no burst.
    b.release(busy);
    for (let i = 0; i < 3; i++) b.push(busy, env("busy", i));
    expect(b.take(4, true, 8)?.batch.length).toBe(3);
  });
});
