import { mintToken } from "@tailrace/auth";
import { testToken } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, openTail, type Stack, startStack } from "./helpers.js";

async function read(api: string, path: string, token?: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${api}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, body: await res.text() };
}

async function tailStatus(api: string, path: string, token?: string): Promise<number> {
  try {
    const t = await openTail(api, path, token);
    t.close();
    return 101;
  } catch (err) {
    return (err as { status: number }).status;
  }
}

describe("auth and tenant isolation", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
    const r = await cli(
      ["run", "--tenant", "acme", "--app", "secret-app", "--quiet", "--", "sh", "-c", "echo acme-private-line"],
      stack.env,
    );
    expect(r.code).toBe(0);
  });
  afterAll(() => stack?.stop());

  it("auth - no token, an expired token and a forged signature get 401 on read and stream", async () => {
    const expired = await testToken({ tenant: "acme", ttlSec: -120 });
    const forged = await mintToken({ secret: "not-the-doppler-secret-at-all", tenants: ["acme"], scopes: ["logs.read"], ttlSec: 600 });
    const tampered = (await testToken({ tenant: "beta" })).replace(
      /\.[^.]+\./,
      `.${Buffer.from('{"tenant":"acme","scope":"logs.read","exp":9999999999}').toString("base64url")}.`,
    );
    for (const token of [undefined, expired, forged, tampered, "garbage"]) {
      const r = await read(stack.api, "/api/v1/read/secret-app", token);
      expect(r.status).toBe(401);
      expect(r.body).not.toContain("acme-private-line");
      expect(await tailStatus(stack.api, "/v1/apps/secret-app/stream", token)).toBe(401);
    }
  });

  it("auth - another tenant's token gets 404 and not a line, on read and stream", async () => {
    const beta = await testToken({ tenant: "beta" });
    const r = await read(stack.api, "/api/v1/read/secret-app?limit=1000", beta);
    expect(r.status).toBe(404);
    expect(r.body).not.toContain(Buffer.from("acme-private-line").toString("base64"));
    expect(await tailStatus(stack.api, "/v1/apps/secret-app/stream", beta)).toBe(404);
    // Naming the other tenant explicitly does not help.
    expect((await read(stack.api, "/api/v1/read/secret-app?tenant=acme", beta)).status).toBe(404);
    // The owner reads it.
    const acme = await testToken({ tenant: "acme" });
    const own = await read(stack.api, "/api/v1/read/secret-app", acme);
    expect(own.status).toBe(200);
    expect(own.body).toContain(Buffer.from("acme-private-line").toString("base64"));
  });

  it("auth - a token without logs.read gets 403", async () => {
    const t = await testToken({ tenant: "acme", scopes: ["drains.write"] });
    expect((await read(stack.api, "/api/v1/read/secret-app", t)).status).toBe(403);
    expect(await tailStatus(stack.api, "/v1/apps/secret-app/stream", t)).toBe(403);
  });

  it("auth - a token with several tenants names one per request", async () => {
    const t = await testToken({ tenant: ["beta", "acme"] });
    expect((await read(stack.api, "/api/v1/read/secret-app", t)).status).toBe(400);
    expect((await read(stack.api, "/api/v1/read/secret-app?tenant=acme", t)).status).toBe(200);
    expect((await read(stack.api, "/api/v1/read/secret-app?tenant=beta", t)).status).toBe(404);
    expect((await read(stack.api, "/api/v1/read/secret-app?tenant=gamma", t)).status).toBe(404);
  });

  it("auth - a tail of another tenant's app id under my own tenant never sees their lines", async () => {
    // beta tails an id nobody owns yet, then acme claims and logs under it: beta's subjects are beta's only.
    const beta = await testToken({ tenant: "beta" });
    const tail = await openTail(stack.api, "/v1/apps/race-app/stream", beta);
    await cli(["run", "--tenant", "acme", "--app", "race-app", "--quiet", "--", "sh", "-c", "echo acme-race-line"], stack.env);
    await new Promise((r) => setTimeout(r, 500));
    tail.close();
    expect(tail.envelopes).toHaveLength(0);
  });

  it("auth - the read API rejects bad parameters with 400 and a reason", async () => {
    const t = await testToken({ tenant: "acme" });
    for (const q of ["limit=0", "limit=abc", "start_time=yesterday", "envelope_types=LOGS", "descending=maybe"]) {
      const r = await read(stack.api, `/api/v1/read/secret-app?${q}`, t);
      expect(r.status, q).toBe(400);
      expect(JSON.parse(r.body).error).toMatch(/limit|start_time|envelope_types|descending/);
    }
    expect(JSON.parse((await read(stack.api, "/api/v1/read/secret-app?limit=5000", t)).body).envelopes.batch.length).toBeLessThanOrEqual(
      1000,
    );
  });

  it("auth - the CLI reports a refused token clearly and exits 1", async () => {
    const r = await cli(["logs", "secret-app", "--recent"], { ...stack.env, TAILRACE_TOKEN: await testToken({ tenant: "beta" }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/404/);
    const none = await cli(["logs", "secret-app", "--recent"], { ...stack.env, TAILRACE_TOKEN: "" });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/TAILRACE_TOKEN/);
  });
});
