import { describe, expect, it } from "vitest";
import type { Line } from "./envelope.js";
import { LineStore, NO_FILTER, splitMatches, toText } from "./store.js";

const line = (seq: number, over: Partial<Line> = {}): Line => ({
  seq,
  ts: String(seq),
  sourceType: "APP/PROC/WEB",
  instance: "0",
  type: "OUT",
  cls: "out",
  head: `t [APP/PROC/WEB/0] OUT`,
  text: `line ${seq}`,
  ...over,
});

describe("store", () => {
  it("store - keeps the newest lines up to its capacity", () => {
    const s = new LineStore(3);
    s.push([1, 2, 3, 4, 5].map((i) => line(i)));
    expect(s.all(NO_FILTER).map((l) => l.seq)).toEqual([3, 4, 5]);
    expect(s.evicted).toBe(2);
    expect(s.newest(NO_FILTER, 2).map((l) => l.seq)).toEqual([4, 5]);
  });

  it("store - filters by source type prefix, instance and text", () => {
    const s = new LineStore(10);
    s.push([line(1), line(2, { instance: "1" }), line(3, { sourceType: "LGR", cls: "lgr" }), line(4, { text: "needle here" })]);
    expect(s.all({ ...NO_FILTER, sourceType: "APP" }).map((l) => l.seq)).toEqual([1, 2, 4]);
    expect(s.all({ ...NO_FILTER, instance: "1" }).map((l) => l.seq)).toEqual([2]);
    expect(s.all({ ...NO_FILTER, text: "NEEDLE", onlyMatching: true }).map((l) => l.seq)).toEqual([4]);
    expect(s.all({ ...NO_FILTER, text: "NEEDLE" })).toHaveLength(4);
    expect([...s.instances].sort()).toEqual(["0", "1"]);
  });

  it("store - splits text around matches, case-insensitively", () => {
    expect(splitMatches("GET /a get /b", "get")).toEqual(["", "GET", " /a ", "get", " /b"]);
    expect(splitMatches("abc", "")).toEqual(["abc"]);
    expect(splitMatches("İx x", "x")).toEqual(["İ", "x", " ", "x", ""]);
  });

  it("store - downloads as cf logs text", () => {
    expect(toText([line(1), line(2)])).toBe("t [APP/PROC/WEB/0] OUT line 1\nt [APP/PROC/WEB/0] OUT line 2\n");
  });
});
