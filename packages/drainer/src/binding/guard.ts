/**
 * The SSRF guard for drains. A drain URL is chosen by a tenant, and the drainer connects from inside the platform's
 * network, so without this a tenant could point a drain at the cloud metadata service, NATS, or anything else on a
 * private network and read the answers back from the LGR error lines.
 *
 * The check runs on resolved addresses, at bind time and again at every connect: a host name that resolved to a public
 * address when bound may resolve to 10.0.0.1 later (DNS rebinding). Callers must connect to one of the addresses that
 * {@link AddressGuard.resolveAndCheck} returned, never to the host name, or the check proves nothing.
 */
import { promises as dnsPromises } from "node:dns";
import { isIP } from "node:net";
import { DrainAddressRefusedError, DrainResolveError, InvalidCidrError } from "../errors.js";
import { type Cidr, cidr, cidrContains, type Ip, parseCidr, parseIp } from "./ip.js";

/** The shape of `dns.promises.lookup` with `{ all: true }`; tests pass a fake. */
export type LookupAll = (hostname: string, options: { all: true }) => Promise<readonly { address: string; family: number }[]>;

interface Range {
  cidr: Cidr;
  reason: string;
}

function ranges(list: [string, string][]): Range[] {
  return list.map(([text, reason]) => ({ cidr: cidr(text), reason }));
}

// Order matters only for the reason reported: the narrower block comes first where blocks nest.
const REFUSED_V4 = ranges([
  ["0.0.0.0/8", "unspecified address (0.0.0.0/8)"],
  ["10.0.0.0/8", "private network (RFC 1918)"],
  ["100.64.0.0/10", "carrier-grade NAT (100.64.0.0/10)"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local (169.254.0.0/16, home of the cloud metadata service)"],
  ["172.16.0.0/12", "private network (RFC 1918)"],
  ["192.0.0.0/24", "IETF protocol assignments (192.0.0.0/24)"],
  ["192.0.2.0/24", "documentation range"],
  ["192.168.0.0/16", "private network (RFC 1918)"],
  ["198.18.0.0/15", "benchmarking range (198.18.0.0/15)"],
  ["198.51.100.0/24", "documentation range"],
  ["203.0.113.0/24", "documentation range"],
  ["224.0.0.0/4", "multicast"],
  ["255.255.255.255/32", "broadcast"],
  ["240.0.0.0/4", "reserved (240.0.0.0/4)"],
]);

const REFUSED_V6 = ranges([
  ["::/128", "unspecified address (::)"],
  ["::1/128", "loopback"],
  ["::/96", "IPv4-compatible IPv6 (deprecated)"],
  ["64:ff9b:1::/48", "local-use NAT64 (RFC 8215)"],
  ["100::/64", "discard-only range (RFC 6666)"],
  ["2001:db8::/32", "documentation range"],
  ["fc00::/7", "private network (unique local, fc00::/7)"],
  ["fe80::/10", "link-local (fe80::/10)"],
  ["fec0::/10", "site-local (deprecated)"],
  ["ff00::/8", "multicast"],
]);

// IPv6 forms that carry an IPv4 address and reach it: the IPv4 address inside is checked as if given directly, so
// `::ffff:10.0.0.1` is refused like 10.0.0.1 and an allow list entry of 10.0.0.0/8 allows it.
const MAPPED = cidr("::ffff:0:0/96");
const NAT64 = cidr("64:ff9b::/96");
const SIX_TO_FOUR = cidr("2002::/16");

function embeddedV4(ip: Ip): { v4: Ip; form: string } | undefined {
  if (ip.family !== 6) return undefined;
  if (cidrContains(MAPPED, ip)) return { v4: { family: 4, value: ip.value & 0xffffffffn }, form: "IPv4-mapped IPv6" };
  if (cidrContains(NAT64, ip)) return { v4: { family: 4, value: ip.value & 0xffffffffn }, form: "NAT64" };
  if (cidrContains(SIX_TO_FOUR, ip)) return { v4: { family: 4, value: (ip.value >> 80n) & 0xffffffffn }, form: "6to4" };
  return undefined;
}

function refusedRange(ip: Ip): string | undefined {
  for (const r of ip.family === 4 ? REFUSED_V4 : REFUSED_V6) if (cidrContains(r.cidr, ip)) return r.reason;
  return undefined;
}

/**
 * Parses an operator's allow list: CIDRs separated by commas (whitespace around entries is ignored), or an array of
 * them. Throws {@link InvalidCidrError} naming the first bad entry.
 */
export function parseAllowList(allow: string | readonly string[]): Cidr[] {
  const entries = typeof allow === "string" ? allow.split(",") : allow;
  const out: Cidr[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === "") continue;
    const parsed = parseCidr(entry);
    if (typeof parsed === "string") throw new InvalidCidrError(entry, parsed);
    out.push(parsed);
  }
  return out;
}

export class AddressGuard {
  readonly #allow: readonly Cidr[];

  /** @param allow CIDRs the operator allows despite the rules, e.g. `127.0.0.0/8,10.1.0.0/16,::1/128`. */
  constructor(allow: string | readonly string[] = []) {
    this.#allow = parseAllowList(allow);
  }

  /** Why `address` is refused, or undefined when a drain may connect to it. */
  refusal(address: string): string | undefined {
    // A zone only scopes a link-local address to an interface; the address decides.
    const ip = parseIp(address.split("%", 1)[0] ?? "");
    if (!ip) return "not an IP address";
    const inner = embeddedV4(ip);
    if (this.#allowed(ip) || (inner && this.#allowed(inner.v4))) return undefined;
    if (inner) {
      const reason = refusedRange(inner.v4);
      if (reason !== undefined) return `${reason}, in ${inner.form} form`;
    }
    return refusedRange(ip);
  }

  /** Throws {@link DrainAddressRefusedError} unless a drain may connect to `address`. */
  check(address: string, host?: string): void {
    const reason = this.refusal(address);
    if (reason !== undefined) throw new DrainAddressRefusedError(address, reason, host);
  }

  /**
   * Resolves every address of `host` and checks them all: one refused address refuses the host, since the resolver
   * may hand any of them to the next connect. Returns the addresses, in the resolver's order, to connect to.
   * An IP literal is checked without a lookup. Lookup failures become {@link DrainResolveError}.
   */
  async resolveAndCheck(host: string, lookup: LookupAll = dnsPromises.lookup): Promise<string[]> {
    const name = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
    if (isIP(name.split("%", 1)[0] ?? "") !== 0) {
      this.check(name);
      return [name];
    }
    let answers: readonly { address: string }[];
    try {
      answers = await lookup(name, { all: true });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new DrainResolveError(name, typeof code === "string" ? code : String(err), { cause: err });
    }
    if (answers.length === 0) throw new DrainResolveError(name, "no addresses");
    const addresses = [...new Set(answers.map((a) => a.address))];
    for (const address of addresses) this.check(address, name);
    return addresses;
  }

  #allowed(ip: Ip): boolean {
    return this.#allow.some((c) => cidrContains(c, ip));
  }
}
