/**
 * Fuzzing the CRI log decoder (issue 8): `<RFC3339Nano> <stdout|stderr> <P|F> <message>` lines whose message is any
 * bytes an app wrote. Bad lines are counted as malformed and never throw; good lines come out byte for byte,
 * `P` chunks re-joined with their `F`. `node bench/fuzz.mjs` runs the same properties for longer (FUZZ_RUNS).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Mark } from "../../egress/mark.js";
import { FileLines } from "../file/decoder.js";
import { chunked, FUZZ_RUNS, rfc3339 } from "../file/fuzz_arbitraries.js";
import { recordingSink } from "../testing.js";
import { CriDecoder } from "./decoder.js";

function decode(chunks: Buffer[]) {
  const rec = recordingSink();
  const lines = new FileLines(new CriDecoder(rec.sink, rec.counters), () => rec.counters.drop("oversize"));
  for (const c of chunks) lines.push(c, new Mark());
  lines.finish(new Mark());
  return rec;
}

/** Message bytes: anything but LF (which ends the line), not ending in CR (taken as CRLF), including invalid UTF-8. */
const message = fc.uint8Array({ maxLength: 60 }).map((b) => {
  let m = Buffer.from(b.filter((x) => x !== 0x0a));
  while (m.length > 0 && m[m.length - 1] === 0x0d) m = m.subarray(0, m.length - 1);
  return m;
});

/** Lines built from CRI-like fields, each one maybe broken. */
const criishLine = fc
  .tuple(
    fc.oneof(
      rfc3339.map((t) => t.text),
      fc.string({ maxLength: 30 }),
    ),
    fc.constantFrom("stdout", "stderr", "stdin", "", "STDOUT"),
    fc.constantFrom("P", "F", "F:x", "X", "", "PF"),
    fc.string({ unit: "binary", maxLength: 30 }),
    fc.constantFrom(" ", "  ", "\t", ""),
  )
  .map(([t, s, tag, msg, sep]) => `${t}${sep}${s}${sep}${tag}${sep}${msg}`);

describe("CRI decoder fuzz", () => {
  it("cri fuzz - any bytes, cut anywhere, are decoded or counted as malformed; nothing throws", () => {
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
      fc.array(criishLine, { maxLength: 12 }).map((ls) => Buffer.from(ls.join("\n"))),
    );
    fc.assert(
      fc.property(input, fc.array(fc.nat(), { maxLength: 5 }), (bytes, cuts) => {
        const { out, counters } = decode(chunked(bytes, cuts));
        // Every line counts here, empty ones too: an empty line is not CRI, so it is counted as malformed.
        const pieces = bytes.toString("latin1").split("\n");
        const lineCount = pieces.length - 1 + (pieces[pieces.length - 1] ? 1 : 0);
        expect(out.length + counters.dropped.malformed).toBeLessThanOrEqual(lineCount);
        for (const e of out) expect(e.log?.type === "OUT" || e.log?.type === "ERR").toBe(true);
      }),
      FUZZ_RUNS,
    );
  });

  it("cri fuzz - valid lines round-trip byte for byte, with stream and the first chunk's time, P chunks re-joined", () => {
    const line = fc.record({
      stream: fc.constantFrom("stdout", "stderr"),
      chunks: fc.array(message, { minLength: 1, maxLength: 4 }),
      times: fc.array(rfc3339, { minLength: 4, maxLength: 4 }),
      tagSuffix: fc.constantFrom("", ":x"),
    });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 5 }), fc.boolean(), (ls, cuts, crlf) => {
        const parts: Buffer[] = [];
        for (const l of ls) {
          l.chunks.forEach((c, i) => {
            const last = i === l.chunks.length - 1;
            const head = `${l.times[i]?.text} ${l.stream} ${last ? "F" : "P"}${l.tagSuffix} `;
            parts.push(Buffer.from(head), c, Buffer.from(last && crlf ? "\r\n" : "\n"));
          });
        }
        const { out, counters } = decode(chunked(Buffer.concat(parts), cuts));
        expect(counters.dropped.malformed).toBe(0);
        expect(out.map((e) => Buffer.from(e.log?.payload ?? []).toString("hex"))).toEqual(
          ls.map((l) => Buffer.concat(l.chunks).toString("hex")),
        );
        expect(out.map((e) => e.log?.type)).toEqual(ls.map((l) => (l.stream === "stdout" ? "OUT" : "ERR")));
        expect(out.map((e) => e.timestamp)).toEqual(ls.map((l) => l.times[0]?.ns));
      }),
      FUZZ_RUNS,
    );
  });
});
