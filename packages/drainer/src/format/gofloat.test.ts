import { describe, expect, it } from "vitest";
import { formatGoFloat } from "./gofloat.js";

describe("formatGoFloat", () => {
  // Expected values are what Go's strconv.FormatFloat(v, 'g', -1, 64) prints.
  it.each([
    [0.23, "0.23"],
    [1234, "1234"],
    [0.5, "0.5"],
    [999999, "999999"],
    [1e6, "1e+06"],
    [1234567, "1.234567e+06"],
    [536870912, "5.36870912e+08"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [1.5e-7, "1.5e-07"],
    [-42.5, "-42.5"],
    [1e21, "1e+21"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [5e-324, "5e-324"],
    [0, "0"],
    [-0, "-0"],
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "+Inf"],
    [Number.NEGATIVE_INFINITY, "-Inf"],
  ])("gofloat - %s is written %s", (v, want) => {
    expect(formatGoFloat(v)).toBe(want);
  });
});
