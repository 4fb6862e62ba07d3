import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { UnauthorizedError } from "./errors.js";
import { mintToken } from "./mint.js";
import { bearer, hs256Verifier } from "./verify.js";

const secret = "a-test-secret-that-is-long-enough";
const v = hs256Verifier({ secret });

describe("hs256 verifier", () => {
  it("auth - a minted token yields its tenants and scopes", async () => {
    const t = await mintToken({ secret, tenants: ["acme", "beta"], scopes: ["logs.read", "drains.write"], ttlSec: 60 });
    const p = await v.verify(t);
    expect(p.tenants).toEqual(["acme", "beta"]);
    expect([...p.scopes].sort()).toEqual(["drains.write", "logs.read"]);
  });

  it("auth - missing, forged, expired, exp-less and alg-none tokens are 401s", async () => {
    await expect(v.verify(undefined)).rejects.toThrow(UnauthorizedError);
    const forged = await mintToken({ secret: "another-secret-of-enough-length", tenants: ["acme"], scopes: ["logs.read"], ttlSec: 60 });
    await expect(v.verify(forged)).rejects.toThrow(/signature/);
    const expired = await mintToken({ secret, tenants: ["acme"], scopes: ["logs.read"], ttlSec: -60 });
    await expect(v.verify(expired)).rejects.toThrow(/expired/);
    const noExp = await new SignJWT({ tenant: "acme", scope: "logs.read" })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(secret));
    await expect(v.verify(noExp)).rejects.toThrow(UnauthorizedError);
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from('{"tenant":"acme","exp":9999999999}').toString("base64url")}.`;
    await expect(v.verify(none)).rejects.toThrow(UnauthorizedError);
    await expect(v.verify("not.a.jwt")).rejects.toThrow(UnauthorizedError);
  });

  it("auth - a tenant claim that could widen a subject is refused", async () => {
    for (const tenant of ["a.b", "*", ">", "a b"]) {
      const t = await mintToken({ secret, tenants: [tenant], scopes: ["logs.read"], ttlSec: 60 });
      await expect(v.verify(t)).rejects.toThrow(/invalid tenant/);
    }
  });

  it("auth - bearer takes only a well-formed Bearer header", () => {
    expect(bearer("Bearer abc.def.ghi")).toBe("abc.def.ghi");
    expect(bearer("bearer x")).toBe("x");
    expect(bearer("Basic x")).toBeUndefined();
    expect(bearer(undefined)).toBeUndefined();
  });
});
