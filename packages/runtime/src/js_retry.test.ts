import { describe, expect, it } from "vitest";
import { isTransientNatsError, NatsUnavailableError, retryTransient } from "./js_retry.js";

const named = (name: string, message = name) => Object.assign(new Error(message), { name });

describe("js_retry", () => {
  it("js_retry - tells an election's failures from real ones", () => {
    expect(isTransientNatsError(named("TimeoutError", "timeout"))).toBe(true);
    expect(isTransientNatsError(named("NoRespondersError", "no responders: '$JS.API.CONSUMER.CREATE.X'"))).toBe(true);
    expect(isTransientNatsError(Object.assign(new Error("JetStream system temporarily unavailable"), { code: 10008 }))).toBe(true);
    // Wrapped, as nats.js wraps a request's failure.
    expect(isTransientNatsError(new Error("request failed", { cause: named("TimeoutError") }))).toBe(true);
    expect(isTransientNatsError(Object.assign(new Error("stream not found"), { code: 10059, status: 404 }))).toBe(false);
    expect(isTransientNatsError(named("PermissionViolationError", "Permissions Violation for Publish"))).toBe(false);
    expect(isTransientNatsError(undefined)).toBe(false);
  });

  it("js_retry - retries until JetStream answers", async () => {
    let calls = 0;
    const v = await retryTransient(
      "a read",
      async () => {
        if (++calls < 3) throw named("TimeoutError");
        return "ok";
      },
      5000,
    );
    expect(v).toBe("ok");
    expect(calls).toBe(3);
  });

  it("js_retry - throws a failure that is not transient at once", async () => {
    let calls = 0;
    const notFound = Object.assign(new Error("stream not found"), { code: 10059 });
    await expect(
      retryTransient(
        "a read",
        async () => {
          calls++;
          throw notFound;
        },
        5000,
      ),
    ).rejects.toBe(notFound);
    expect(calls).toBe(1);
  });

  it("js_retry - gives up after its budget with an error that says so", async () => {
    const err = await retryTransient(
      "a recent-logs read",
      async () => {
        throw named("TimeoutError");
      },
      300,
    ).catch((e) => e as NatsUnavailableError);
    expect(err).toBeInstanceOf(NatsUnavailableError);
    expect(err.message).toMatch(/^NATS did not answer a recent-logs read for \d+ ms/);
    expect((err.cause as Error).name).toBe("TimeoutError");
  });
});
