import { describe, expect, it } from "vitest";
import { parseRfc3339Nano } from "./time.js";

describe("parseRfc3339Nano", () => {
  it("time - keeps all nine fraction digits and honours offsets", () => {
    expect(parseRfc3339Nano("2024-05-06T07:08:09.123456789Z")).toBe(1714979289123456789n);
    expect(parseRfc3339Nano("2024-05-06T09:08:09.123456789+02:00")).toBe(1714979289123456789n);
    expect(parseRfc3339Nano("2024-05-06T07:08:09Z")).toBe(1714979289000000000n);
    expect(parseRfc3339Nano("2024-05-06T07:08:09.5Z")).toBe(1714979289500000000n);
  });
  it("time - refuses what is not RFC 3339", () => {
    for (const bad of ["", "2024-05-06", "2024-13-06T07:08:09Z", "2024-05-06T07:08:09.1234567890Z", "yesterday"]) {
      expect(parseRfc3339Nano(bad)).toBeUndefined();
    }
  });
});
