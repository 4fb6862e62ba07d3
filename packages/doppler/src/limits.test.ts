import { describe, expect, it } from "vitest";
import { LimitError, Limits } from "./limits.js";

describe("limits", () => {
  it("limits - tails per tenant and per address are counted and given back once", () => {
    const l = new Limits({ tailsPerTenant: 2, tailsPerAddress: 3, requestsPerSec: 10 });
    const a = l.openTail("acme", "1.1.1.1");
    l.openTail("acme", "1.1.1.1");
    expect(() => l.openTail("acme", "2.2.2.2")).toThrow(/tenant acme has 2 tails open/);
    l.openTail("beta", "1.1.1.1");
    expect(() => l.openTail("gamma", "1.1.1.1")).toThrow(LimitError);
    a();
    a();
    l.openTail("acme", "2.2.2.2");
    expect(() => l.openTail("acme", "3.3.3.3")).toThrow(/tails_per_tenant|tenant acme/);
    expect(l.refused).toEqual({ tails_per_tenant: 2, tails_per_address: 1, request_rate: 0 });
  });

  it("limits - the request rate allows a burst of twice the rate, then refills", () => {
    const l = new Limits({ tailsPerTenant: 1, tailsPerAddress: 1, requestsPerSec: 5 });
    for (let i = 0; i < 10; i++) l.request("k", 1000);
    expect(() => l.request("k", 1000)).toThrow(/more than 5 requests per second/);
    l.request("other", 1000);
    l.request("k", 1200); // 0.2 s refills one
    expect(() => l.request("k", 1200)).toThrow(LimitError);
  });
});
