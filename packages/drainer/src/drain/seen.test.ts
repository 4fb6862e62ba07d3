import { describe, expect, it } from "vitest";
import { SeenApps } from "./seen.js";

const MS = 1_000_000;

describe("SeenApps", () => {
  it("seen - tells a binding whether the feed has gone past one of its app's batches since it was made", () => {
    const seen = new SeenApps(1000);
    // Nothing handed on yet: it cannot tell.
    expect(seen.passedSince("t.a", 5 * MS)).toBeUndefined();
    seen.note("t.a", 10 * MS);
    seen.note("t.b", 20 * MS);
    // Bound before the feed's first batch: the buffer may hold batches the feed never saw.
    expect(seen.passedSince("t.a", 10 * MS)).toBeUndefined();
    expect(seen.passedSince("t.a", 11 * MS)).toBe(false);
    expect(seen.passedSince("t.a", 10 * MS + 1)).toBe(false);
    expect(seen.passedSince("t.b", 15 * MS)).toBe(true);
    expect(seen.passedSince("t.b", 20 * MS)).toBe(true);
    expect(seen.passedSince("t.b", 21 * MS)).toBe(false);
    expect(seen.passedSince("t.new", 11 * MS)).toBe(false);
  });

  it("seen - forgets apps after two spans, and then cannot tell for bindings older than what it forgot", () => {
    const seen = new SeenApps(1000);
    seen.note("t.a", 1 * MS);
    seen.note("t.a", 500 * MS);
    seen.note("t.b", 1200 * MS); // second generation
    expect(seen.passedSince("t.a", 400 * MS)).toBe(true);
    seen.note("t.b", 2500 * MS); // third: the first is let go
    expect(seen.passedSince("t.a", 400 * MS)).toBeUndefined();
    expect(seen.passedSince("t.a", 501 * MS)).toBe(false);
    expect(seen.passedSince("t.b", 1100 * MS)).toBe(true);
    expect(seen.passedSince("t.b", 2501 * MS)).toBe(false);
  });

  it("seen - a stamp out of order never hides a later one", () => {
    const seen = new SeenApps(1000);
    seen.note("t.x", 1 * MS);
    seen.note("t.a", 100 * MS);
    seen.note("t.a", 90 * MS);
    expect(seen.passedSince("t.a", 95 * MS)).toBe(true);
  });
});
