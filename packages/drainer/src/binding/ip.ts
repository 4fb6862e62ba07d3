/**
 * IP addresses and CIDR blocks as integers, so that range checks are exact comparisons. IPv6 needs 128 bits, hence
 * BigInt for both families (one code path, and the guard runs once per connect, not per message).
 */
import { isIP } from "node:net";

export interface Ip {
  family: 4 | 6;
  value: bigint;
}

export interface Cidr {
  family: 4 | 6;
  /** The network address; its host bits are zero. */
  base: bigint;
  bits: number;
  mask: bigint;
}

const WIDTH = { 4: 32, 6: 128 } as const;

function parseV4(s: string): bigint {
  let v = 0n;
  for (const part of s.split(".")) v = (v << 8n) | BigInt(Number(part));
  return v;
}

/** Expects a string that `isIP` already accepted as IPv6, without a zone. */
function parseV6(s: string): bigint {
  let text = s;
  let v4: bigint | undefined;
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    // The dotted tail (`::ffff:10.0.0.1`) stands for the last two groups.
    v4 = parseV4(tail);
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [left = "", right] = text.split("::");
  const head = left === "" ? [] : left.split(":");
  const rest = right === undefined || right === "" ? [] : right.split(":");
  const groups = right === undefined ? head : [...head, ...new Array<string>(8 - head.length - rest.length).fill("0"), ...rest];
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(Number.parseInt(g, 16));
  if (v4 !== undefined) v = (v & ~0xffffffffn) | v4;
  return v;
}

/** Parses an IPv4 or IPv6 literal. Returns undefined for anything else, including IPv6 with a zone (`fe80::1%eth0`). */
export function parseIp(s: string): Ip | undefined {
  if (s.includes("%")) return undefined;
  const kind = isIP(s);
  if (kind === 4) return { family: 4, value: parseV4(s) };
  if (kind === 6) return { family: 6, value: parseV6(s) };
  return undefined;
}

/** Formats an address the way `net` does: dotted quad, or IPv6 with the longest run of zero groups compressed. */
export function formatIp(ip: Ip): string {
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map((s) => ((ip.value >> s) & 0xffn).toString()).join(".");
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  let best = -1;
  let bestLen = 1; // RFC 5952: never compress a single zero group.
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

function maskOf(family: 4 | 6, bits: number): bigint {
  const width = WIDTH[family];
  return bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
}

/** Builds a CIDR from a literal known to be valid; for the built-in tables. */
export function cidr(text: string): Cidr {
  const [addr = "", bits = ""] = text.split("/");
  const ip = parseIp(addr);
  if (!ip) throw new Error(`bad built-in CIDR ${text}`);
  const mask = maskOf(ip.family, Number(bits));
  return { family: ip.family, base: ip.value & mask, bits: Number(bits), mask };
}

export function cidrContains(c: Cidr, ip: Ip): boolean {
  return c.family === ip.family && (ip.value & c.mask) === c.base;
}

/**
 * Parses one `address/prefix` strictly: the prefix is required and decimal, and the address may not have host bits
 * set, since `10.1.2.3/16` is nearly always a typo for something else. Returns an error detail instead of throwing so
 * that the caller can name the entry.
 */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf("/");
  if (slash < 0) return "missing the /prefix-length (write 10.0.0.1/32 for a single address)";
  const addr = text.slice(0, slash);
  const bitsText = text.slice(slash + 1);
  const ip = parseIp(addr);
  if (!ip) return `${JSON.stringify(addr)} is not an IPv4 or IPv6 address`;
  const width = WIDTH[ip.family];
  if (!/^(0|[1-9][0-9]{0,2})$/.test(bitsText) || Number(bitsText) > width) {
    return `prefix length must be a whole number from 0 to ${width}`;
  }
  const bits = Number(bitsText);
  const mask = maskOf(ip.family, bits);
  if ((ip.value & mask) !== ip.value) {
    return `host bits are set; did you mean ${formatIp({ family: ip.family, value: ip.value & mask })}/${bits}?`;
  }
  return { family: ip.family, base: ip.value, bits, mask };
}
