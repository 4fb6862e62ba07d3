import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { logplexFrames, octetFrame } from "./octet.js";

/** Test-only reader for octet-counted frames. */
function readFrames(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < body.length) {
    const sp = body.indexOf(0x20, pos);
    const len = Number(body.toString("latin1", pos, sp));
    out.push(body.subarray(sp + 1, sp + 1 + len));
    pos = sp + 1 + len;
  }
  return out;
}

describe("octet framing", () => {
  it("octet - the length counts bytes, not characters", () => {
    expect(octetFrame(Buffer.from("hello")).toString()).toBe("5 hello");
    expect(octetFrame(Buffer.from("é\n")).toString()).toBe("3 é\n");
    expect(octetFrame(Buffer.alloc(0)).toString()).toBe("0 ");
  });

  it("octet - a logplex body is the frames back to back, with their count", () => {
    const { body, count } = logplexFrames([Buffer.from("<14>1 a"), Buffer.from("<11>1 bc")]);
    expect(body.toString()).toBe("7 <14>1 a8 <11>1 bc");
    expect(count).toBe(2);
    expect(logplexFrames([])).toEqual({ body: Buffer.alloc(0), count: 0 });
  });

  it("octet - frames read back to the same messages", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 20 }), (arrays) => {
        const msgs = arrays.map((a) => Buffer.from(a));
        const { body, count } = logplexFrames(msgs);
        expect(count).toBe(msgs.length);
        expect(readFrames(body)).toEqual(msgs);
        expect(Buffer.concat(msgs.map(octetFrame))).toEqual(body);
      }),
      { numRuns: 200 },
    );
  });
});
