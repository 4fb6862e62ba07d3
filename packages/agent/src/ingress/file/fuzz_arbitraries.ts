/**
 * Arbitraries shared by the Docker and CRI decoder fuzz tests: RFC 3339 timestamps as runtimes write them, with the
 * nanoseconds they stand for, and log text.
 */
import fc from "fast-check";

export const FUZZ_RUNS = { numRuns: Number(process.env.FUZZ_RUNS) || 300 };

/**
 * A timestamp an envelope can carry (1970 to 2262, plus a day of slack for offsets) as Go's RFC3339Nano writes it:
 * fraction trimmed or not, `Z` or an offset.
 */
export const rfc3339 = fc
  .record({
    sec: fc.integer({ min: 86_400, max: 9_223_372_036 - 86_400 }),
    nanos: fc.integer({ min: 0, max: 999_999_999 }),
    offsetMin: fc.constantFrom(0, 0, 60, -300, 330, 840, -720),
    trim: fc.boolean(),
  })
  .map(({ sec, nanos, offsetMin, trim }) => {
    const local = new Date((sec + offsetMin * 60) * 1000).toISOString().slice(0, 19);
    let frac = String(nanos).padStart(9, "0");
    if (trim) frac = frac.replace(/0+$/, "");
    const sign = offsetMin < 0 ? "-" : "+";
    const abs = Math.abs(offsetMin);
    const zone = offsetMin === 0 ? "Z" : `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
    return { text: `${local}${frac ? `.${frac}` : ""}${zone}`, ns: BigInt(sec) * 1_000_000_000n + BigInt(nanos) };
  });

/** Text of one log line (or chunk): any Unicode but LF, never ending in CR (a CR before LF is taken as CRLF). */
export const logText = fc.string({ unit: "grapheme", maxLength: 40 }).map((s) => s.replace(/\n/g, " ").replace(/\r+$/, ""));

/** Cuts `bytes` into pieces at random points, as reads of a growing file do. */
export function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    out.push(bytes.subarray(at, p));
    at = p;
  }
  out.push(bytes.subarray(at));
  return out;
}
