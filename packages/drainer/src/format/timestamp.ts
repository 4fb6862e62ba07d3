/**
 * RFC 3339 timestamps for syslog, in UTC with exactly six fractional digits (`2026-11-23T10:00:00.123456Z`), taken
 * from the envelope's nanoseconds with integer arithmetic: a float of ~1.8e18 ns is only good to ~256 ns, so going
 * through `Number` would misstate the microseconds.
 */

const NS_PER_S = 1_000_000_000n;
const NS_PER_US = 1_000n;
// RFC 3339 has four-digit years; anything outside them gets the syslog NILVALUE instead of an extended-year string.
const MIN_MS = -62_167_219_200_000; // 0000-01-01T00:00:00Z
const MAX_MS = 253_402_300_799_000; // 9999-12-31T23:59:59Z

// Messages arrive in bursts within the same second; formatting the date part once per second saves most of the cost.
let cachedSecs: bigint | undefined;
let cachedPrefix = "";

export function rfc3339Micros(ns: bigint): string {
  let secs = ns / NS_PER_S;
  let frac = ns % NS_PER_S;
  if (frac < 0n) {
    // BigInt division truncates toward zero; timestamps before 1970 need the floor.
    frac += NS_PER_S;
    secs -= 1n;
  }
  if (secs !== cachedSecs) {
    const ms = Number(secs) * 1000;
    if (!(ms >= MIN_MS && ms <= MAX_MS)) return "-";
    cachedPrefix = new Date(ms).toISOString().slice(0, 19);
    cachedSecs = secs;
  }
  return `${cachedPrefix}.${(frac / NS_PER_US).toString().padStart(6, "0")}Z`;
}
