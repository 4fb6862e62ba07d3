import { describe, expect, it } from "vitest";
import { looksLikeJwt, parseFragment, readClaims } from "./session.js";

const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
const jwt = (claims: unknown) => `${part({ alg: "HS256" })}.${part(claims)}.sig`;

describe("session", () => {
  it("session - reads token and app from the fragment", () => {
    expect(parseFragment("#token=a.b.c&app=web")).toEqual({ token: "a.b.c", app: "web" });
    expect(parseFragment("")).toEqual({});
    expect(parseFragment("#app=web")).toEqual({ app: "web" });
  });

  it("session - reads claims for display, without trusting them", () => {
    expect(readClaims(jwt({ tenant: "acme", scope: "logs.read drains.write", exp: 5 }))).toEqual({
      tenants: ["acme"],
      scopes: ["logs.read", "drains.write"],
      exp: 5,
    });
    expect(readClaims(jwt({ tenants: ["a", "b"] }))?.tenants).toEqual(["a", "b"]);
    expect(readClaims("nonsense")).toBeUndefined();
    expect(readClaims("a.!!!.c")).toBeUndefined();
  });

  it("session - only JWT-shaped tokens go into a websocket protocol", () => {
    expect(looksLikeJwt(jwt({}))).toBe(true);
    expect(looksLikeJwt("a b.c.d")).toBe(false);
    expect(looksLikeJwt("a,b.c.d")).toBe(false);
  });
});
