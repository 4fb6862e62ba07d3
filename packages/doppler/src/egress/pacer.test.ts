import { describe, expect, it } from "vitest";
import { BEHIND_MS, FlushPacer } from "./pacer.js";

describe("pacer", () => {
  it("pacer - a late event loop stretches the gathering time up to its cap; on time again, it comes back to the base", () => {
    const p = new FlushPacer(5, 500);
    expect(p.delayMs).toBe(5);
    p.observe(1);
    expect(p.delayMs).toBe(5);
    const seen: number[] = [];
    for (let i = 0; i < 30; i++) {
      p.observe(BEHIND_MS + 30);
      seen.push(p.delayMs);
    }
    expect(seen.slice(0, 3)).toEqual([8, 11, 17]);
    expect(seen[seen.length - 1]).toBe(500);
    // In between (neither on time nor behind) it holds.
    p.observe(10);
    expect(p.delayMs).toBe(500);
    for (let i = 0; i < 100; i++) p.observe(0);
    expect(p.delayMs).toBe(5);
  });

  it("pacer - a base of 0 (flush at once) still stretches while behind", () => {
    const p = new FlushPacer(0, 200);
    // From 0 it grows as from 1 ms: 1.5, 2.25, 3.4 ms.
    p.observe(100);
    p.observe(100);
    p.observe(100);
    expect(p.delayMs).toBe(3);
    for (let i = 0; i < 200; i++) p.observe(0);
    expect(p.delayMs).toBe(0);
  });
});
