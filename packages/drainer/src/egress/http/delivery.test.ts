import { describe, expect, it } from "vitest";
import { RETRY_AFTER_MAX_MS, retryAfterMs, verdictOf } from "./delivery.js";

describe("HTTP delivery", () => {
  it("http delivery - Retry-After in seconds or as a date, bounded, and nothing for junk", () => {
    const now = Date.parse("2026-12-04T02:00:00Z");
    expect(retryAfterMs("3", now)).toBe(3000);
    expect(retryAfterMs(" 0 ", now)).toBe(0);
    expect(retryAfterMs("Fri, 04 Dec 2026 02:00:10 GMT", now)).toBe(10_000);
    expect(retryAfterMs("Fri, 04 Dec 2026 01:00:00 GMT", now)).toBe(0);
    expect(retryAfterMs("86400", now)).toBe(RETRY_AFTER_MAX_MS);
    expect(retryAfterMs(undefined, now)).toBeUndefined();
    expect(retryAfterMs("soon", now)).toBeUndefined();
    expect(retryAfterMs("-5", now)).toBeUndefined();
  });

  it("http delivery - 2xx delivered, 4xx but 429 dropped, 429 and 5xx retried with Retry-After", () => {
    expect(verdictOf(204, {}, 3, "messages")).toEqual({ outcome: "ok" });
    expect(verdictOf(400, {}, 3, "log records", "bad body")).toEqual({
      outcome: "drop",
      reason: "the receiver answered HTTP 400: bad body; 3 log records dropped",
    });
    expect(verdictOf(429, { "retry-after": "2" }, 3, "messages")).toEqual({
      outcome: "retry",
      reason: "the receiver answered HTTP 429",
      afterMs: 2000,
    });
    expect(verdictOf(503, {}, 3, "messages")).toEqual({ outcome: "retry", reason: "the receiver answered HTTP 503" });
    expect(verdictOf(500, {}, 3, "messages").outcome).toBe("retry");
    expect(verdictOf(302, {}, 3, "messages").outcome).toBe("retry");
  });
});
