import { testToken } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTail, type Stack, startStack, type TailClient } from "./helpers.js";

describe("doppler limits", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ TAILRACE_MAX_TAILS_PER_TENANT: "3", TAILRACE_REQUEST_RATE: "5" });
  });
  afterAll(() => stack?.stop());

  it("limits - tails past the per-tenant maximum get a clear 429; other tenants are unaffected; a closed tail frees its slot", async () => {
    const acme = await testToken({ tenant: "acme" });
    const beta = await testToken({ tenant: "beta" });
    const open: TailClient[] = [];
    for (let i = 0; i < 3; i++) open.push(await openTail(stack.api, `/v1/apps/app${i}/stream`, acme));
    const refused = await openTail(stack.api, "/v1/apps/app9/stream", acme).catch((e: { status: number; body: string }) => e);
    expect(refused).toMatchObject({ status: 429 });
    expect((refused as { body: string }).body).toMatch(/tenant acme has 3 tails open, the most allowed/);
    const other = await openTail(stack.api, "/v1/apps/betaapp/stream", beta);
    other.close();
    open[0]?.close();
    await new Promise((r) => setTimeout(r, 200));
    const again = await openTail(stack.api, "/v1/apps/app9/stream", acme);
    for (const t of [...open, again]) t.close();
    const metrics = await (await fetch(`${stack.api}/metrics`)).text();
    expect(metrics).toMatch(/tailrace_doppler_refused_total\{reason="tails_per_tenant"\} 1/);
  });

  it("limits - a websocket message over 4 KiB closes the connection with 1009; the doppler carries on", async () => {
    const t = await testToken({ tenant: "delta" });
    const tail = await openTail(stack.api, "/v1/apps/big/stream", t);
    const code = await new Promise<number>((resolve) => {
      tail.ws.once("close", (c) => resolve(c));
      tail.ws.send("x".repeat(5000));
    });
    expect(code).toBe(1009);
    const again = await openTail(stack.api, "/v1/apps/big/stream", t);
    again.close();
  });

  it("limits - a token past its request rate gets 429 with Retry-After; another token is not slowed", async () => {
    const t = await testToken({ tenant: "gamma" });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 15; i++) {
      const res = await fetch(`${stack.api}/api/v1/read/x`, { headers: { authorization: `Bearer ${t}` } });
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get("retry-after");
    }
    expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
    expect(statuses).toContain(429);
    expect(retryAfter).toBe("1");
    const other = await testToken({ tenant: "gamma", ttlSec: 599 });
    expect((await fetch(`${stack.api}/api/v1/read/x`, { headers: { authorization: `Bearer ${other}` } })).status).toBe(200);
  });
});
