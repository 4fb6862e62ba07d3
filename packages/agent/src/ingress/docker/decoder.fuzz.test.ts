/**
 * Fuzzing the Docker json-file decoder (issue 8): container logs are written by tenants' apps, so any bytes may
 * reach it. Bad lines are counted as malformed and never throw; good lines come out exactly, re-joined across
 * Docker's 16 KiB splits. `node bench/fuzz.mjs` runs the same properties for longer (FUZZ_RUNS).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Mark } from "../../egress/mark.js";
import { FileLines } from "../file/decoder.js";
import { chunked, FUZZ_RUNS, logText, rfc3339 } from "../file/fuzz_arbitraries.js";
import { recordingSink, texts } from "../testing.js";
import { DockerJsonDecoder } from "./decoder.js";

function decode(chunks: Buffer[]) {
  const rec = recordingSink();
  const lines = new FileLines(new DockerJsonDecoder(rec.sink, rec.counters), () => rec.counters.drop("oversize"));
  for (const c of chunks) lines.push(c, new Mark());
  lines.finish(new Mark());
  return rec;
}

/** Lines that look like json-file entries but hold any JSON in any field. */
const jsonishLine = fc
  .record(
    {
      log: fc.jsonValue({ maxDepth: 2 }),
      stream: fc.oneof(fc.constantFrom("stdout", "stderr"), fc.jsonValue({ maxDepth: 1 })),
      time: fc.oneof(
        rfc3339.map((t) => t.text),
        fc.jsonValue({ maxDepth: 1 }),
      ),
    },
    { requiredKeys: [] },
  )
  .map((o) => JSON.stringify(o));

describe("docker json-file decoder fuzz", () => {
  it("docker fuzz - any bytes, cut anywhere, are decoded or counted as malformed; nothing throws", () => {
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
      fc
        .array(fc.oneof(jsonishLine, fc.string({ unit: "binary", maxLength: 60 })), { maxLength: 12 })
        .map((ls) => Buffer.from(ls.join("\n"))),
    );
    fc.assert(
      fc.property(input, fc.array(fc.nat(), { maxLength: 5 }), (bytes, cuts) => {
        const { out, counters } = decode(chunked(bytes, cuts));
        const lineCount = bytes
          .toString("latin1")
          .split("\n")
          .filter((l) => l.length > 0).length;
        // Each line either goes out (possibly joined with the next) or is counted; never more lines than came in.
        expect(out.length).toBeLessThanOrEqual(lineCount);
        expect(out.length + counters.dropped.malformed).toBeLessThanOrEqual(lineCount);
        for (const e of out) expect(e.log?.type === "OUT" || e.log?.type === "ERR").toBe(true);
      }),
      FUZZ_RUNS,
    );
  });

  it("docker fuzz - valid entries round-trip: text, stream and the first chunk's time, split lines re-joined", () => {
    const line = fc.record({
      stream: fc.constantFrom("stdout", "stderr"),
      chunks: fc.array(logText, { minLength: 1, maxLength: 4 }),
      times: fc.array(rfc3339, { minLength: 4, maxLength: 4 }),
    });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 5 }), fc.boolean(), (ls, cuts, crlf) => {
        let file = "";
        for (const l of ls) {
          l.chunks.forEach((c, i) => {
            const last = i === l.chunks.length - 1;
            file += `${JSON.stringify({ log: last ? `${c}${crlf ? "\r\n" : "\n"}` : c, stream: l.stream, time: l.times[i]?.text })}\n`;
          });
        }
        const { out, counters } = decode(chunked(Buffer.from(file), cuts));
        expect(counters.dropped.malformed).toBe(0);
        expect(texts(out)).toEqual(ls.map((l) => Buffer.from(l.chunks.join("")).toString("utf8")));
        expect(out.map((e) => e.log?.type)).toEqual(ls.map((l) => (l.stream === "stdout" ? "OUT" : "ERR")));
        expect(out.map((e) => e.timestamp)).toEqual(ls.map((l) => l.times[0]?.ns));
      }),
      FUZZ_RUNS,
    );
  });
});

describe("docker json-file decoder regressions (found by fuzzing)", () => {
  it("docker regression - an empty chunk without its end is joined, keeps its time, and does not hold the checkpoint back", () => {
    const rec = recordingSink();
    const lines = new FileLines(new DockerJsonDecoder(rec.sink, rec.counters), () => undefined);
    const a = `${JSON.stringify({ log: "", stream: "stdout", time: "1970-01-01T00:00:00Z" })}\n`;
    const b = `${JSON.stringify({ log: "x\n", stream: "stdout", time: "1970-01-01T00:00:00.000000001Z" })}\n`;
    lines.push(Buffer.from(a + b), new Mark());
    expect(texts(rec.out)).toEqual(["x"]);
    expect(rec.out[0]?.timestamp).toBe(0n);
    expect(lines.safeOffset()).toBe(Buffer.byteLength(a + b));
  });
});

describe("RFC 3339 times (regressions found by fuzzing)", () => {
  it("time regression - years before 100 are not read as 19xx, and times an envelope cannot carry are refused", async () => {
    const { parseRfc3339Nano } = await import("../file/time.js");
    // Year 0099 used to come out as 1999.
    expect(parseRfc3339Nano("0099-12-31T23:59:59Z")).toBeUndefined();
    expect(parseRfc3339Nano("1999-12-31T23:59:59Z")).toBe(946684799000000000n);
    expect(parseRfc3339Nano("1969-12-31T23:59:59Z")).toBeUndefined();
    expect(parseRfc3339Nano("2262-04-11T23:47:16.854775807Z")).toBe((1n << 63n) - 1n);
    expect(parseRfc3339Nano("2262-04-11T23:47:16.854775808Z")).toBeUndefined();
  });
});
