import { describe, expect, it } from "vitest";
import { contentSecurityPolicy, isPlainHost } from "./csp.js";

describe("csp", () => {
  it("csp - lists the websocket origins of a plain Host", () => {
    const p = contentSecurityPolicy("doppler.example.com:8080");
    expect(p).toContain("connect-src 'self' ws://doppler.example.com:8080 wss://doppler.example.com:8080");
    expect(p).toContain("default-src 'self'");
    expect(p).toContain("script-src 'self'");
    expect(p).not.toContain("unsafe");
    expect(contentSecurityPolicy("[::1]:8080")).toContain("ws://[::1]:8080");
  });

  it("csp - a forged Host cannot add directives", () => {
    for (const h of ["evil.com; script-src *", "a b", "x.com,y.com", "", "host:99999999"]) {
      expect(isPlainHost(h), h).toBe(false);
      expect(contentSecurityPolicy(h)).toContain("connect-src 'self';");
    }
    expect(contentSecurityPolicy(undefined)).toContain("connect-src 'self';");
  });
});
