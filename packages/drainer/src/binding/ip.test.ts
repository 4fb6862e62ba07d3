import { isIP } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatIp, parseCidr, parseIp } from "./ip.js";

describe("ip", () => {
  it("ip - parses both families to integers", () => {
    expect(parseIp("10.0.0.1")).toEqual({ family: 4, value: 0x0a000001n });
    expect(parseIp("::1")).toEqual({ family: 6, value: 1n });
    expect(parseIp("::ffff:10.0.0.1")).toEqual({ family: 6, value: 0xffff0a000001n });
    expect(parseIp("2001:db8::8:800:200c:417a")?.value).toBe(0x20010db80000000000080800200c417an);
  });

  it("ip - refuses non-addresses and zoned addresses", () => {
    for (const s of ["", "1.2.3", "256.0.0.1", "01.2.3.4", "fe80::1%eth0", "host", "::g"]) expect(parseIp(s)).toBeUndefined();
  });

  it("ip - format and parse round-trip, and agree with node:net", () => {
    fc.assert(
      fc.property(fc.bigInt(0n, (1n << 128n) - 1n), (value) => {
        const text = formatIp({ family: 6, value });
        expect(isIP(text)).toBe(6);
        expect(parseIp(text)).toEqual({ family: 6, value });
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.ipV6(),
          fc.ipV4Extended().filter((s) => isIP(s) === 4),
        ),
        (text) => {
          const ip = parseIp(text);
          expect(ip).toBeDefined();
          if (ip) expect(parseIp(formatIp(ip))).toEqual(ip);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("ip - strict CIDRs", () => {
    expect(parseCidr("10.1.0.0/16")).toMatchObject({ family: 4, base: 0x0a010000n, bits: 16 });
    expect(parseCidr("::1/128")).toMatchObject({ family: 6, base: 1n, bits: 128 });
    expect(parseCidr("0.0.0.0/0")).toMatchObject({ bits: 0, mask: 0n });
    expect(parseCidr("10.0.0.1")).toMatch(/missing the \/prefix-length/);
    expect(parseCidr("10.1.2.3/16")).toBe("host bits are set; did you mean 10.1.0.0/16?");
    expect(parseCidr("2001:db8::1/32")).toBe("host bits are set; did you mean 2001:db8::/32?");
    expect(parseCidr("10.0.0.0/33")).toMatch(/from 0 to 32/);
    expect(parseCidr("::/129")).toMatch(/from 0 to 128/);
    expect(parseCidr("10.0.0.0/08")).toMatch(/whole number/);
    expect(parseCidr("10.0.0.0/")).toMatch(/whole number/);
    expect(parseCidr("foo/8")).toMatch(/"foo" is not an IPv4 or IPv6 address/);
  });
});
