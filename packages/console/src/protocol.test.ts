import { describe, expect, it } from "vitest";
import { BEARER_PROTOCOL, bearerFromProtocols, selectProtocol } from "./protocol.js";

describe("protocol", () => {
  it("protocol - reads the token offered after the marker", () => {
    expect(bearerFromProtocols("tailrace.bearer, aaa.bbb.ccc")).toBe("aaa.bbb.ccc");
    expect(bearerFromProtocols(["tailrace.bearer", "aaa.bbb.ccc"])).toBe("aaa.bbb.ccc");
    expect(bearerFromProtocols("other,tailrace.bearer,x.y.z")).toBe("x.y.z");
  });

  it("protocol - no marker, or nothing after it, is no token", () => {
    expect(bearerFromProtocols(undefined)).toBeUndefined();
    expect(bearerFromProtocols("aaa.bbb.ccc")).toBeUndefined();
    expect(bearerFromProtocols("tailrace.bearer")).toBeUndefined();
    expect(bearerFromProtocols("tailrace.bearer, tailrace.bearer")).toBeUndefined();
  });

  it("protocol - the server selects the marker, never the token", () => {
    expect(selectProtocol(new Set([BEARER_PROTOCOL, "aaa.bbb.ccc"]))).toBe(BEARER_PROTOCOL);
    expect(selectProtocol(new Set(["aaa.bbb.ccc"]))).toBe(false);
  });
});
