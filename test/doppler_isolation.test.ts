import { createHmac, sign as cryptoSign, generateKeyPairSync, type KeyObject } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extraDoppler, openTail, type Stack, startStack, testPublisher, text } from "./helpers.js";

async function get(api: string, path: string, token: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${api}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.text() };
}

describe("doppler isolation", () => {
  let stack: Stack;
  let acme: string;
  let beta: string;
  let betaCursor: string;
  beforeAll(async () => {
    stack = await startStack();
    acme = await testToken({ tenant: "acme" });
    beta = await testToken({ tenant: "beta" });
    const pub = await testPublisher(stack.nats.url);
    const betaTail = await openTail(stack.api, "/v1/apps/beta-app/stream", beta);
    await pub.lines("beta", "beta-app", 0, 100);
    await pub.lines("acme", "acme-app", 0, 100);
    await waitFor("beta's tail", () => betaTail.envelopes.length >= 100);
    betaCursor = betaTail.cursors[0] as string;
    betaTail.close();
    await pub.stop();
  });
  afterAll(() => stack?.stop());

  it("isolation - tenant A reaches nothing of tenant B through reads, filters, tails or meta", async () => {
    for (const q of ["", "?limit=1000", "?envelope_types=LOG", "?source_type=APP", "?instance_id=0", "?descending=true", "?tenant=beta"]) {
      const r = await get(stack.api, `/api/v1/read/beta-app${q}`, acme);
      expect(r.status, q).toBe(404);
    }
    for (const q of ["", "?envelope_types=LOG", "?tenant=beta", `?cursor=${betaCursor}`]) {
      await expect(openTail(stack.api, `/v1/apps/beta-app/stream${q}`, acme), q).rejects.toMatchObject({ status: 404 });
    }
    const meta = JSON.parse((await get(stack.api, "/api/v1/meta", acme)).body) as {
      meta: Record<string, { tenant: string; count: string }>;
    };
    expect(Object.keys(meta.meta)).toContain("acme-app");
    expect(Object.keys(meta.meta)).not.toContain("beta-app");
    expect(Number(meta.meta["acme-app"]?.count)).toBeGreaterThan(0);
    expect((await get(stack.api, "/api/v1/meta?tenant=beta", acme)).status).toBe(404);
  });

  it("isolation - a cursor taken from B's stream replays nothing of B on A's own app", async () => {
    // The cursor names a batch of beta's; acme's tail is fenced to acme's subjects, whatever the sequence says.
    const tail = await openTail(stack.api, `/v1/apps/acme-app/stream?cursor=${betaCursor}`, acme);
    await waitFor("acme's own lines", () => tail.envelopes.filter((e) => e.tags.source_type !== "LGR").length >= 100, 30_000);
    await new Promise((r) => setTimeout(r, 200));
    tail.close();
    for (const e of tail.envelopes) expect(e.tags.tenant).toBe("acme");
    expect(tail.envelopes.some((e) => text(e).includes("beta"))).toBe(false);
  });

  it("isolation - names that could widen a subject are refused at every API entry point", async () => {
    const both = await testToken({ tenant: ["acme", "beta"], scopes: ["logs.read", "drains.write"] });
    for (const bad of ["a.b", "*", ">", "a b", "acme.>"]) {
      const id = encodeURIComponent(bad);
      expect((await get(stack.api, `/api/v1/read/${id}`, acme)).status, `read ${bad}`).toBe(404);
      await expect(openTail(stack.api, `/v1/apps/${id}/stream`, acme), `stream ${bad}`).rejects.toMatchObject({ status: 404 });
      expect((await get(stack.api, `/api/v1/read/acme-app?tenant=${id}`, both)).status, `?tenant=${bad}`).toBe(404);
      expect((await get(stack.api, `/api/v1/meta?tenant=${id}`, both)).status, `meta ${bad}`).toBe(404);
      expect((await get(stack.api, `/v1/tenants/${id}/metrics`, both)).status, `metrics ${bad}`).toBe(404);
      expect((await get(stack.api, `/v1/apps/${id}/drains`, both)).status, `drains ${bad}`).toBe(404);
    }
  });

  it("isolation - the firehose is admin-only", async () => {
    await expect(openTail(stack.api, "/v1/firehose/x", acme)).rejects.toMatchObject({ status: 403 });
  });
});

describe("doppler OIDC tokens", () => {
  let stack: Stack;
  let jwks: Server;
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
  let api: string;
  let doppler: Awaited<ReturnType<typeof extraDoppler>>["doppler"];

  /** A JWT signed by hand with node:crypto, as an identity provider would. */
  const sign = (
    key: KeyObject,
    alg: "RS256" | "ES256",
    kid: string,
    claims: Record<string, unknown>,
    iss = "https://idp.test",
    aud = "tailrace",
  ) => {
    const now = Math.floor(Date.now() / 1000);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const input = `${b64({ alg, kid, typ: "JWT" })}.${b64({ scope: "logs.read", iss, aud, iat: now, exp: now + 300, ...claims })}`;
    const sig = cryptoSign("sha256", Buffer.from(input), alg === "ES256" ? { key, dsaEncoding: "ieee-p1363" } : key);
    return `${input}.${sig.toString("base64url")}`;
  };

  beforeAll(async () => {
    stack = await startStack();
    const keys = [
      { ...rsa.publicKey.export({ format: "jwk" }), kid: "rsa", alg: "RS256", use: "sig" },
      { ...ec.publicKey.export({ format: "jwk" }), kid: "ec", alg: "ES256", use: "sig" },
    ];
    jwks = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((r) => jwks.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
    ({ doppler, api } = await extraDoppler(stack.nats.url, {
      TAILRACE_JWKS_URL: url,
      TAILRACE_JWT_ISSUER: "https://idp.test",
      TAILRACE_JWT_AUDIENCE: "tailrace",
    }));
  });
  afterAll(async () => {
    await doppler?.stop();
    jwks?.close();
    await stack?.stop();
  });

  it("oidc - RS256 and ES256 tokens from the JWKS are accepted", async () => {
    expect((await get(api, "/api/v1/read/any-app", sign(rsa.privateKey, "RS256", "rsa", { tenant: "acme" }))).status).toBe(200);
    expect((await get(api, "/api/v1/read/any-app", sign(ec.privateKey, "ES256", "ec", { tenant: "acme" }))).status).toBe(200);
  });

  it("oidc - wrong audience, wrong issuer, an unknown key, a forged signature and an expired token get 401", async () => {
    const cases = [
      sign(rsa.privateKey, "RS256", "rsa", { tenant: "acme" }, "https://idp.test", "someone-else"),
      sign(rsa.privateKey, "RS256", "rsa", { tenant: "acme" }, "https://evil.test", "tailrace"),
      sign(other.privateKey, "RS256", "unknown", { tenant: "acme" }),
      sign(other.privateKey, "RS256", "rsa", { tenant: "acme" }),
      sign(rsa.privateKey, "RS256", "rsa", { tenant: "acme", exp: Math.floor(Date.now() / 1000) - 60 }),
    ];
    for (const t of cases) {
      const r = await get(api, "/api/v1/read/any-app", t);
      expect(r.status).toBe(401);
      expect(r.body).not.toContain(t);
    }
    // Algorithm confusion: HS256 "signed" with the RSA public key as the secret must not pass as an RS256 key's token.
    const pem = rsa.publicKey.export({ format: "pem", type: "spki" }).toString();
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const input = `${b64({ alg: "HS256", kid: "rsa" })}.${b64({ tenant: "acme", scope: "logs.read", iss: "https://idp.test", aud: "tailrace", exp: Math.floor(Date.now() / 1000) + 300 })}`;
    const confused = `${input}.${createHmac("sha256", pem).update(input).digest("base64url")}`;
    expect((await get(api, "/api/v1/read/any-app", confused)).status).toBe(401);
  });
});
