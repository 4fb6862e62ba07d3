/**
 * Fuzzing the resume cursor parser (issue 8): a cursor comes from the query string of an untrusted client. Bounded
 * runs here; `node bench/fuzz.mjs` (FUZZ_RUNS) runs the same properties for longer.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Cursor, formatCursor, InvalidCursorError, parseCursor, WHOLE_BATCH } from "./cursor.js";

const RUNS = { numRuns: Number(process.env.FUZZ_RUNS) || 500 };

/** Only ever a Cursor or an InvalidCursorError. */
function outcome(raw: string): Cursor | InvalidCursorError {
  try {
    return parseCursor(raw);
  } catch (err) {
    if (err instanceof InvalidCursorError) return err;
    throw err;
  }
}

/** Strings near the valid shape: digits, dashes and a few troublemakers. */
const nearCursor = fc
  .array(fc.constantFrom("0", "1", "9", "-", "-", " ", "+", ".", "e", "\n", "٣", "x"), { maxLength: 40 })
  .map((xs) => xs.join(""));

describe("cursor fuzz", () => {
  it("cursor fuzz - any string gives a cursor or an InvalidCursorError, never another error", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 60 }), nearCursor), (raw) => {
        const r = outcome(raw);
        if (r instanceof InvalidCursorError) return;
        // Whatever parses is a usable position: safe integers, a real sequence (0 only as an empty stream's start).
        expect(Number.isSafeInteger(r.seq) && (r.seq >= 1 || r.idx === WHOLE_BATCH)).toBe(true);
        expect(Number.isSafeInteger(r.idx) && r.idx >= 0).toBe(true);
        expect(Number.isSafeInteger(r.ms) && r.ms >= 0).toBe(true);
      }),
      RUNS,
    );
  });

  it("cursor fuzz - every cursor a frame can carry round-trips", () => {
    const cursor = fc.record({
      seq: fc.integer({ min: 1, max: 999_999_999_999_999 }),
      idx: fc.integer({ min: 0, max: 999_999 }),
      ms: fc.integer({ min: 0, max: 999_999_999_999_999 }),
    });
    fc.assert(
      fc.property(cursor, (c) => {
        expect(parseCursor(formatCursor(c))).toEqual(c);
      }),
      RUNS,
    );
  });
});
