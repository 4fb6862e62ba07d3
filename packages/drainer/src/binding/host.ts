/**
 * Host checks for drain URLs. Returns an error detail (user-facing) or the normalised host.
 *
 * We do not lean on WHATWG URL for this: it leaves hosts of non-special schemes such as `syslog:` unchecked, and for
 * `https:` it silently turns `0x7f.1` or `2130706433` into 127.0.0.1. A host here is a dotted-quad IPv4 address,
 * a bracketed IPv6 address, or a DNS name, and nothing that a resolver might read as a number.
 */
import { isIP } from "node:net";

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
/** What inet_aton and WHATWG treat as a number: a DNS name ending in such a label would resolve as an IPv4 address. */
const NUMERIC_LABEL = /^(?:0x[0-9a-f]*|[0-9]+)$/;

function show(host: string): string {
  return JSON.stringify(host.length > 100 ? `${host.slice(0, 100)}...` : host);
}

export type HostResult = { host: string; ipv6: boolean } | { error: string };

/** Checks the host part of an authority (brackets included for IPv6). */
export function checkHost(text: string): HostResult {
  if (text === "") return { error: "drain URL has no host" };
  if (text.startsWith("[")) {
    const inner = text.slice(1, -1);
    if (!text.endsWith("]")) return { error: "IPv6 address is missing its closing ']'" };
    if (inner.includes("%")) return { error: "IPv6 zone identifiers (%...) are not allowed in drain URLs" };
    if (isIP(inner) !== 6) return { error: `host ${show(text)} is not a valid IPv6 address` };
    return { host: inner.toLowerCase(), ipv6: true };
  }
  if (isIP(text) === 4) return { host: text, ipv6: false };
  const name = (text.endsWith(".") ? text.slice(0, -1) : text).toLowerCase();
  if (name.length > 253) return { error: `host name is ${name.length} characters long; DNS allows at most 253` };
  const labels = name.split(".");
  for (const label of labels) {
    if (label === "") return { error: `host ${show(text)} has an empty label (two dots in a row, or a leading dot)` };
    if (label.length > 63) return { error: `host ${show(text)} has a label longer than 63 characters` };
    if (!LABEL.test(label)) {
      return {
        error: `host ${show(text)} is not a valid DNS name: use letters, digits, '-' and '_', and start and end each label with a letter or digit`,
      };
    }
  }
  if (NUMERIC_LABEL.test(labels[labels.length - 1] ?? "")) {
    return { error: `host ${show(text)} is neither a valid dotted-quad IPv4 address nor a DNS name` };
  }
  return { host: name, ipv6: false };
}
