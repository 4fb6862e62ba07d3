const RFC3339 = /^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d\d):(\d\d))$/;

/**
 * Parses the RFC 3339 timestamps Docker and CRI runtimes write (Go's RFC3339Nano: up to nine fraction digits,
 * `Z` or `±hh:mm`) into nanoseconds since the epoch, keeping every digit. Undefined for anything else.
 */
export function parseRfc3339Nano(s: string): bigint | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  if (Number(m[2]) > 12 || Number(m[3]) > 31 || Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 60) return undefined;
  // Not Date.UTC: it reads years 0-99 as 1900-1999 (found by decoder.fuzz.test.ts).
  const d = new Date(0);
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  d.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]));
  const ms = d.getTime();
  if (Number.isNaN(ms)) return undefined;
  const frac = m[7] ? BigInt(m[7].padEnd(9, "0")) : 0n;
  const offset = m[9] ? (m[9] === "+" ? 1 : -1) * (Number(m[10]) * 3600 + Number(m[11]) * 60) : 0;
  const ns = (BigInt(ms) / 1000n - BigInt(offset)) * 1_000_000_000n + frac;
  // An envelope's time is 0 to 2^63-1 ns (1970 to 2262); a runtime's clock outside that is not a time we can carry.
  return ns < 0n || ns > I64_MAX ? undefined : ns;
}

const I64_MAX = (1n << 63n) - 1n;
