import { describe, expect, it } from "vitest";
import { boundary, LineSplitter } from "./lines.js";

function collect(max?: number) {
  const out: Array<{ line: string; partial: boolean }> = [];
  const s = new LineSplitter((line, partial) => out.push({ line: line.toString("utf8"), partial }), max);
  return { s, out };
}

describe("line splitter", () => {
  it("lines - splits on LF across chunks and strips a CR before it", () => {
    const { s, out } = collect();
    s.push(Buffer.from("one\r\ntw"));
    s.push(Buffer.from("o\n\nthree"));
    s.end();
    expect(out).toEqual([
      { line: "one", partial: false },
      { line: "two", partial: false },
      { line: "", partial: false },
      { line: "three", partial: false },
    ]);
  });

  it("lines - a line over the limit is cut into marked parts that re-join exactly", () => {
    const { s, out } = collect(10);
    const long = "abcdefghijklmnopqrstuvwxyz";
    for (const ch of long) s.push(Buffer.from(ch));
    s.push(Buffer.from("\nnext\n"));
    expect(out.map((o) => o.partial)).toEqual([true, true, false, false]);
    expect(
      out
        .slice(0, 3)
        .map((o) => o.line)
        .join(""),
    ).toBe(long);
    expect(out[3]?.line).toBe("next");
    for (const o of out) expect(Buffer.byteLength(o.line)).toBeLessThanOrEqual(10);
  });

  it("lines - cuts never split a UTF-8 character", () => {
    const { s, out } = collect(10);
    const text = "ééééééééééééé✓✓✓✓"; // 2- and 3-byte characters
    s.push(Buffer.from(`${text}\n`));
    expect(out.map((o) => o.line).join("")).toBe(text);
    for (const o of out) expect(o.line).not.toContain("\ufffd");
  });

  it("lines - boundary backs off continuation bytes only", () => {
    const b = Buffer.from("aé"); // 61 c3 a9
    expect(boundary(b, 2)).toBe(1);
    expect(boundary(Buffer.from([0xff, 0xff, 0xff]), 2)).toBe(2);
  });
});
