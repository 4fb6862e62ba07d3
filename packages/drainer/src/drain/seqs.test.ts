import { describe, expect, it } from "vitest";
import { SeqQueue } from "./seqs.js";

describe("SeqQueue", () => {
  it("seqs - keeps order across growth and wrap-around", () => {
    const q = new SeqQueue();
    const out: number[] = [];
    let next = 1;
    // Interleave pushes and shifts so the ring wraps before and after it grows.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < round; i++) q.push(next++);
      for (let i = 0; i < round / 2; i++) out.push(q.shift() as number);
    }
    while (q.length > 0) out.push(q.shift() as number);
    expect(out).toEqual(Array.from({ length: next - 1 }, (_, i) => i + 1));
    expect(q.shift()).toBeUndefined();
    expect(q.peek()).toBeUndefined();
  });

  it("seqs - holds sequences past 2^32", () => {
    const q = new SeqQueue();
    q.push(2 ** 40 + 1);
    expect(q.peek()).toBe(2 ** 40 + 1);
  });
});
