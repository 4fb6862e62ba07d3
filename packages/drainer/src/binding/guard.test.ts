import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DrainAddressRefusedError, DrainResolveError, InvalidCidrError } from "../errors.js";
import { AddressGuard, type LookupAll } from "./guard.js";

function fakeLookup(answers: Record<string, string[]>): LookupAll & { calls: string[] } {
  const calls: string[] = [];
  const fn = async (host: string, opts: { all: true }) => {
    expect(opts.all).toBe(true);
    calls.push(host);
    const list = answers[host];
    if (!list) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return list.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
  return Object.assign(fn, { calls });
}

describe("AddressGuard", () => {
  const guard = new AddressGuard();

  it.each([
    ["10.0.0.1", /private network \(RFC 1918\)/],
    ["172.16.5.4", /private network/],
    ["192.168.1.1", /private network/],
    ["169.254.169.254", /link-local .*metadata/],
    ["127.0.0.1", /loopback/],
    ["::1", /loopback/],
    ["fe80::1", /link-local/],
    ["fe80::1%eth0", /link-local/],
    ["::ffff:10.0.0.1", /private network \(RFC 1918\), in IPv4-mapped IPv6 form/],
    ["::ffff:127.0.0.1", /loopback, in IPv4-mapped IPv6 form/],
    ["::ffff:7f00:1", /loopback, in IPv4-mapped IPv6 form/],
    ["64:ff9b::a9fe:a9fe", /link-local .*, in NAT64 form/],
    ["2002:a00:1::1", /private network .*, in 6to4 form/],
    ["0.0.0.0", /unspecified/],
    ["::", /unspecified/],
    ["100.64.0.1", /carrier-grade NAT/],
    ["224.0.0.251", /multicast/],
    ["ff02::1", /multicast/],
    ["255.255.255.255", /broadcast/],
    ["240.0.0.1", /reserved/],
    ["fd00:ec2::254", /unique local/],
    ["fc00::1", /unique local/],
    ["::10.0.0.1", /IPv4-compatible/],
    ["logs.example.com", /not an IP address/],
  ])("guard - %s is refused (%s)", (ip, reason) => {
    expect(guard.refusal(ip)).toMatch(reason);
    expect(() => guard.check(ip)).toThrow(DrainAddressRefusedError);
  });

  it.each(["8.8.8.8", "1.1.1.1", "2606:4700::1111", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "64:ff9b::808:808"])(
    "guard - %s is allowed",
    (ip) => {
      expect(guard.refusal(ip)).toBeUndefined();
      expect(() => guard.check(ip)).not.toThrow();
    },
  );

  it("guard - the error names the address, the reason and the host", () => {
    try {
      guard.check("10.0.0.1", "logs.example.com");
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DrainAddressRefusedError);
      const e = err as DrainAddressRefusedError;
      expect([e.name, e.address, e.host]).toEqual(["DrainAddressRefusedError", "10.0.0.1", "logs.example.com"]);
      expect(e.message).toBe(
        "drain address 10.0.0.1 (resolved from logs.example.com) refused: private network (RFC 1918); drains may not reach internal networks unless the operator allows them",
      );
    }
  });

  it("guard - an allow list lets its ranges through, in IPv4-mapped form too", () => {
    const g = new AddressGuard("127.0.0.0/8, 10.1.0.0/16,::1/128");
    for (const ip of ["127.0.0.1", "127.9.9.9", "10.1.2.3", "::1", "::ffff:127.0.0.1"]) expect(g.refusal(ip)).toBeUndefined();
    for (const ip of ["10.2.0.1", "192.168.1.1", "169.254.169.254", "fe80::1"]) expect(g.refusal(ip)).toBeDefined();
    expect(new AddressGuard(["127.0.0.0/8"]).refusal("127.0.0.1")).toBeUndefined();
    expect(new AddressGuard("").refusal("127.0.0.1")).toMatch(/loopback/);
  });

  it.each([
    ["10.0.0.1", /"10.0.0.1" in drain allow list: missing the \/prefix-length/],
    ["127.0.0.1/8", /did you mean 127.0.0.0\/8\?/],
    ["10.0.0.0/8,nonsense/8", /"nonsense\/8" in drain allow list: "nonsense" is not an IPv4 or IPv6 address/],
    ["::1/200", /prefix length must be a whole number from 0 to 128/],
  ])("guard - allow list %j is refused at construction", (allow, message) => {
    expect(() => new AddressGuard(allow)).toThrow(InvalidCidrError);
    expect(() => new AddressGuard(allow)).toThrow(message);
  });

  it("guard - every address in 10/8 is refused, and its IPv4-mapped form gets the same verdict as the plain one", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), (a, b, c) => {
        expect(guard.refusal(`10.${a}.${b}.${c}`)).toMatch(/RFC 1918/);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        expect(guard.refusal(`::ffff:${ip}`) === undefined).toBe(guard.refusal(ip) === undefined);
      }),
      { numRuns: 300 },
    );
  });

  it("guard - resolveAndCheck refuses a host when any of its addresses is refused", async () => {
    const lookup = fakeLookup({
      "rebind.example.com": ["8.8.8.8", "10.0.0.1"],
      "ok.example.com": ["8.8.8.8", "2606:4700::1111", "8.8.8.8"],
    });
    await expect(guard.resolveAndCheck("rebind.example.com", lookup)).rejects.toThrow(
      /drain address 10.0.0.1 \(resolved from rebind.example.com\) refused: private network/,
    );
    await expect(guard.resolveAndCheck("ok.example.com", lookup)).resolves.toEqual(["8.8.8.8", "2606:4700::1111"]);
  });

  it("guard - IP literals are checked without a lookup", async () => {
    const lookup = fakeLookup({});
    await expect(guard.resolveAndCheck("8.8.8.8", lookup)).resolves.toEqual(["8.8.8.8"]);
    await expect(guard.resolveAndCheck("[2606:4700::1111]", lookup)).resolves.toEqual(["2606:4700::1111"]);
    await expect(guard.resolveAndCheck("169.254.169.254", lookup)).rejects.toThrow(DrainAddressRefusedError);
    expect(lookup.calls).toEqual([]);
  });

  it("guard - lookup failures and empty answers are DrainResolveErrors", async () => {
    const lookup = fakeLookup({ "empty.example.com": [] });
    const err = await guard.resolveAndCheck("nx.example.com", lookup).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DrainResolveError);
    expect((err as Error).message).toBe("cannot resolve drain host nx.example.com: ENOTFOUND");
    expect((err as Error).cause).toBeInstanceOf(Error);
    await expect(guard.resolveAndCheck("empty.example.com", lookup)).rejects.toThrow(/no addresses/);
  });

  it("guard - the real resolver refuses localhost", async () => {
    await expect(guard.resolveAndCheck("localhost")).rejects.toThrow(DrainAddressRefusedError);
    await expect(new AddressGuard("127.0.0.0/8,::1/128").resolveAndCheck("localhost")).resolves.not.toHaveLength(0);
  });
});
