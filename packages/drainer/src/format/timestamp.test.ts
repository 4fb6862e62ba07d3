import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { rfc3339Micros } from "./timestamp.js";

const NS = BigInt(Date.UTC(2026, 10, 23, 10, 0, 0)) * 1_000_000n;

describe("rfc3339Micros", () => {
  it("timestamp - UTC, Z, exactly six digits, truncated not rounded", () => {
    expect(rfc3339Micros(NS + 123_456_789n)).toBe("2026-11-23T10:00:00.123456Z");
    expect(rfc3339Micros(NS + 999_999_999n)).toBe("2026-11-23T10:00:00.999999Z");
    expect(rfc3339Micros(NS)).toBe("2026-11-23T10:00:00.000000Z");
    expect(rfc3339Micros(0n)).toBe("1970-01-01T00:00:00.000000Z");
  });

  it("timestamp - before 1970 the fraction counts forward from the earlier second", () => {
    expect(rfc3339Micros(-1n)).toBe("1969-12-31T23:59:59.999999Z");
    expect(rfc3339Micros(-1_000_000_000n)).toBe("1969-12-31T23:59:59.000000Z");
  });

  it("timestamp - years RFC 3339 cannot write become the NILVALUE", () => {
    expect(rfc3339Micros(BigInt(Date.UTC(10000, 0, 1)) * 1_000_000n)).toBe("-");
    expect(rfc3339Micros(-(2n ** 80n))).toBe("-");
  });

  it("timestamp - agrees with Date at millisecond precision for any int64", () => {
    fc.assert(
      fc.property(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n), (ns) => {
        const text = rfc3339Micros(ns);
        const ms = ns >= 0n ? ns / 1_000_000n : -((-ns + 999_999n) / 1_000_000n);
        expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
        expect(text.slice(0, 23)).toBe(new Date(Number(ms)).toISOString().slice(0, 23));
      }),
      { numRuns: 300 },
    );
  });
});
