import { describe, expect, it } from "vitest";
import { Backoff } from "./writer.js";

describe("backoff", () => {
  it("backoff - doubles from the minimum, stays under the cap, jitters in [d/2, d], and resets", () => {
    const b = new Backoff(100, 1000);
    const ds = Array.from({ length: 8 }, () => b.next());
    const caps = [100, 200, 400, 800, 1000, 1000, 1000, 1000];
    ds.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual((caps[i] as number) / 2);
      expect(d).toBeLessThanOrEqual(caps[i] as number);
    });
    b.reset();
    expect(b.next()).toBeLessThanOrEqual(100);
  });
});
