import { describe, expect, it } from "vitest";
import { RateLimiter } from "./rate.js";

describe("RateLimiter", () => {
  it("rate limit - passes the limit per second, refuses the rest and notices at most once a second", () => {
    let now = 0;
    const notices: string[] = [];
    const r = new RateLimiter(
      1000,
      (t) => notices.push(t),
      () => now,
    );
    let passed = 0;
    // 10 seconds of 100-byte lines at 100 lines per 100 ms (10x the limit).
    for (let step = 0; step < 100; step++) {
      now = step * 100;
      for (let i = 0; i < 100; i++) if (r.allow(100)) passed++;
    }
    // One second of burst, then 1000 bytes/s for the remaining ~9.9 s.
    expect(passed).toBeGreaterThanOrEqual(100);
    expect(passed).toBeLessThanOrEqual(110);
    expect(r.droppedLines).toBe(10_000 - passed);
    expect(notices.length).toBe(10);
    expect(notices[0]).toBe("app instance exceeded log rate limit (1000 bytes/sec)");
  });

  it("rate limit - 0 is off", () => {
    const r = new RateLimiter(0, () => {
      throw new Error("no notice");
    });
    for (let i = 0; i < 1000; i++) expect(r.allow(1 << 20)).toBe(true);
  });
});
