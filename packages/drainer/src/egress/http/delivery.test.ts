import { describe, expect, it } from "vitest";
import type { WriterEvents } from "../writer.js";
import { type Batch, HttpDelivery, RETRY_AFTER_MAX_MS, retryAfterMs, type Verdict, verdictOf } from "./delivery.js";

function recorder(): WriterEvents & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    error: (r) => log.push(`error ${r}`),
    retry: () => log.push("retry"),
    rejected: (n, r) => log.push(`rejected ${n} ${r}`),
  };
}

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

  it("http delivery - one kind per batch, in order, retried until taken, dones in the order sent", async () => {
    const events = recorder();
    const posted: string[][] = [];
    const verdicts: Verdict[] = [
      { outcome: "retry", reason: "HTTP 503" },
      { outcome: "ok" },
      { outcome: "drop", reason: "HTTP 400" },
      { outcome: "ok", rejected: { count: 1, reason: "partial" } },
    ];
    const d = new HttpDelivery<string>(
      { batchBytes: 10, flushMs: 5, backoffMinMs: 1, backoffMaxMs: 2, events },
      async (b: Batch<string>) => {
        posted.push([b.kind, ...b.items]);
        return verdicts.shift() ?? { outcome: "ok" };
      },
    );
    const dones: number[] = [];
    d.add("a1", 4, "logs");
    d.add("a2", 4, "logs");
    d.mark(() => dones.push(1));
    d.add("m1", 4, "metrics"); // another kind: a batch of its own
    d.mark(() => dones.push(2));
    d.add("a3", 8, "logs");
    d.add("a4", 8, "logs"); // over batchBytes: a batch of its own
    d.mark(() => dones.push(3));
    await new Promise((r) => setTimeout(r, 200));
    expect(posted).toEqual([
      ["logs", "a1", "a2"],
      ["logs", "a1", "a2"],
      ["metrics", "m1"],
      ["logs", "a3"],
      ["logs", "a4"],
    ]);
    expect(dones).toEqual([1, 2, 3]);
    expect(events.log).toEqual(["error HTTP 503", "retry", "rejected 1 HTTP 400", "rejected 1 partial"]);
    await d.close(0);
  });

  it("http delivery - close gives up after the grace, without calling done", async () => {
    const d = new HttpDelivery<string>({ batchBytes: 10, flushMs: 1, backoffMinMs: 5, backoffMaxMs: 5, events: recorder() }, async () => ({
      outcome: "retry",
      reason: "down",
    }));
    let done = false;
    d.add("x", 1);
    d.mark(() => {
      done = true;
    });
    const t = Date.now();
    await d.close(50);
    expect(Date.now() - t).toBeGreaterThanOrEqual(45);
    expect(done).toBe(false);
  });
});
