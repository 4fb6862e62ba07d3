import { TEST_JWT_SECRET, testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTails, startAgent, type TestAgent } from "./agent_helpers.js";
import { type Stack, startStack } from "./helpers.js";

const ts = String(BigInt(Date.now()) * 1_000_000n);

function post(port: number, body: unknown, opts: { token?: string; type?: string; method?: string; path?: string; raw?: string } = {}) {
  return fetch(`http://127.0.0.1:${port}${opts.path ?? "/v1/envelopes"}`, {
    method: opts.method ?? "POST",
    headers: { "content-type": opts.type ?? "application/json", ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    ...(opts.method === "GET" ? {} : { body: opts.raw ?? JSON.stringify(body) }),
  });
}

describe("agent local HTTP ingress", () => {
  let stack: Stack;
  let agent: TestAgent;
  let fixed: TestAgent;
  let token: string;
  beforeAll(async () => {
    stack = await startStack();
    token = await testToken({ tenant: "acme" });
    agent = await startAgent(stack, {
      TAILRACE_INGRESS_ADDR: "127.0.0.1:0",
      TAILRACE_JWT_SECRET: TEST_JWT_SECRET,
      TAILRACE_INGRESS_MAX_BYTES: "65536",
    });
    fixed = await startAgent(stack, {
      TAILRACE_INGRESS_ADDR: "127.0.0.1:0",
      TAILRACE_INGRESS_TENANT: "acme",
      TAILRACE_INGRESS_APP: "fixedapp",
    });
  });
  afterAll(async () => {
    await agent?.stop();
    await fixed?.stop();
    await stack?.stop();
  });

  it("http ingress - a token names the tenant: counters, gauges, timers and events reach the app's tail", async () => {
    const [tail] = (await openTails(stack, ["selfmetrics"], token)).values();
    const batch = [
      { timestamp: ts, source_id: "selfmetrics", instance_id: "1", counter: { name: "requests", delta: "5", total: "105" } },
      { source_id: "selfmetrics", tags: { tenant: "acme", route: "/x" }, gauge: { metrics: { queue: { unit: "items", value: 7 } } } },
      { timestamp: ts, source_id: "selfmetrics", timer: { name: "db", start: ts, stop: String(BigInt(ts) + 1500n) } },
      { timestamp: ts, source_id: "selfmetrics", event: { title: "deployed", body: "v2" } },
    ];
    const res = await post(agent.agent.ports.ingress, { batch }, { token });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 4 });
    await waitFor("four envelopes", () => tail!.envelopes.length >= 4);
    const got = tail!.envelopes;
    expect(got.every((e) => e.tags.tenant === "acme")).toBe(true);
    expect(got.find((e) => e.counter)?.counter).toEqual({ name: "requests", delta: 5n, total: 105n });
    expect(got.find((e) => e.gauge)?.tags.route).toBe("/x");
    expect(got.find((e) => e.timer)?.timer?.stop).toBe(BigInt(ts) + 1500n);
    expect(got.find((e) => e.event)?.event).toEqual({ title: "deployed", body: "v2" });
    tail!.close();
  });

  it("http ingress - the body alone never picks the tenant, and bad requests get clear 4xx answers", async () => {
    const port = agent.agent.ports.ingress;
    const one = { source_id: "selfmetrics", counter: { name: "c", delta: "1", total: "1" } };
    const cases: Array<[Response, number, RegExp]> = [
      [await post(port, { batch: [one] }), 401, /missing bearer token/],
      [await post(port, { batch: [one] }, { token: "not.a.jwt" }), 401, /token/],
      [
        await post(port, { batch: [one] }, { token: await testToken({ tenant: "acme", secret: "another-secret-0123456789" }) }),
        401,
        /signature/,
      ],
      [await post(port, { batch: [{ ...one, tags: { tenant: "globex" } }] }, { token }), 403, /batch\[0\]\.tags\.tenant/],
      [await post(port, { batch: [one] }, { token: await testToken({ tenant: ["acme", "globex"] }) }), 403, /exactly one tenant/],
      [await post(port, null, { token, raw: "{nope" }), 400, /not valid JSON/],
      [await post(port, { envelopes: [] }, { token }), 400, /batch/],
      [await post(port, { batch: [{ source_id: "a.b", counter: one.counter }] }, { token }), 400, /batch\[0\]\.source_id/],
      [
        await post(
          port,
          { batch: [{ source_id: "x", counter: one.counter, gauge: { metrics: { a: { unit: "", value: 1 } } } }] },
          { token },
        ),
        400,
        /exactly one/,
      ],
      [
        await post(port, null, {
          token,
          raw: JSON.stringify({ batch: [{ ...one, event: undefined, log: { payload: "x".repeat(70_000) } }] }),
        }),
        413,
        /larger than 65536/,
      ],
      [await post(port, { batch: [one] }, { token, type: "text/plain" }), 415, /application\/json/],
      [await post(port, null, { token, method: "GET" }), 405, /POST/],
      [await post(port, { batch: [one] }, { token, path: "/v2/other" }), 404, /not found/],
    ];
    for (const [res, status, message] of cases) {
      expect(res.status, message.source).toBe(status);
      expect(((await res.json()) as { error: string }).error).toMatch(message);
    }
    // A tenant the token carries may be chosen with ?tenant=; an app another tenant owns is refused.
    const multi = await testToken({ tenant: ["acme", "globex"] });
    const foreign = await post(port, { batch: [one] }, { token: multi, path: "/v1/envelopes?tenant=globex" });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: string }).error).toMatch(/belongs to another tenant/);
    const globex = await post(port, { batch: [{ ...one, source_id: "globexapp" }] }, { token: multi, path: "/v1/envelopes?tenant=globex" });
    expect(globex.status).toBe(202);
    expect(agent.agent.stats().dropped.unauthorized).toBeGreaterThanOrEqual(5);
  });

  it("http ingress - a port configured for one tenant and app takes no token and writes only that app", async () => {
    const [tail] = (await openTails(stack, ["fixedapp"], token)).values();
    const port = fixed.agent.ports.ingress;
    const g = { gauge: { metrics: { temp: { unit: "C", value: 21.5 } } } };
    expect((await post(port, { batch: [g, { ...g, source_id: "fixedapp" }] })).status).toBe(202);
    const other = await post(port, { batch: [{ ...g, source_id: "otherapp" }] });
    expect(other.status).toBe(403);
    expect(((await other.json()) as { error: string }).error).toMatch(/writes only fixedapp/);
    expect((await post(port, { batch: [g] }, { token })).status).toBe(401);
    await waitFor("two gauges", () => tail!.envelopes.length >= 2);
    expect(tail!.envelopes.map((e) => [e.sourceId, e.tags.tenant])).toEqual([
      ["fixedapp", "acme"],
      ["fixedapp", "acme"],
    ]);
    tail!.close();
  });
});
