import { type Cursor, isDigit } from "./cursor.js";

/** A point in time at millisecond (`date`) and full (`ns`) precision. */
export type Instant = { date: Date; ns: bigint };

const DASH = 0x2d;
const COLON = 0x3a;
const DOT = 0x2e;
const PLUS = 0x2b;
const UPPER_T = 0x54;
const UPPER_Z = 0x5a;
const LOWER_T = 0x74;
const LOWER_Z = 0x7a;
const MAX_SECFRAC_DIGITS = 6;

export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

export function daysInMonth(y: number, m: number): number {
  if (m === 2) return isLeapYear(y) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/**
 * Days from 1970-01-01 to a proleptic Gregorian date, for any year. `Date.UTC` maps years 0-99 to 1900-1999, and
 * RFC 5424's DATE-FULLYEAR allows them. Algorithm: https://howardhinnant.github.io/date_algorithms.html#days_from_civil
 */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function instant(epochSeconds: number, fractionNs = 0): Instant {
  return {
    date: new Date(epochSeconds * 1000 + Math.floor(fractionNs / 1e6)),
    ns: BigInt(epochSeconds) * 1_000_000_000n + BigInt(fractionNs),
  };
}

/**
 * Reads an RFC 5424 TIMESTAMP (section 6.2.3), which is RFC 3339 narrowed: upper-case `T` and `Z`, at most six
 * fraction digits, a numeric offset of `±hh:mm`, and no leap second (`:60`).
 */
export function readRfc5424Timestamp(c: Cursor): Instant {
  const year = c.digits(4, "TIMESTAMP year");
  c.expect(DASH, "'-' in TIMESTAMP");
  const month = c.ranged("TIMESTAMP month", 1, 12);
  c.expect(DASH, "'-' in TIMESTAMP");
  const dayAt = c.pos;
  const day = c.digits(2, "TIMESTAMP day");
  if (day < 1 || day > daysInMonth(year, month)) c.fail(`TIMESTAMP day out of range for ${year}-${month}`, dayAt);
  if (c.peek() === LOWER_T) c.fail("TIMESTAMP 'T' must be upper case");
  c.expect(UPPER_T, "'T' in TIMESTAMP");
  const hour = c.ranged("TIMESTAMP hour", 0, 23);
  c.expect(COLON, "':' in TIMESTAMP");
  const minute = c.ranged("TIMESTAMP minute", 0, 59);
  c.expect(COLON, "':' in TIMESTAMP");
  const second = c.ranged("TIMESTAMP second", 0, 59);

  let fractionNs = 0;
  if (c.peek() === DOT) {
    c.pos++;
    const start = c.pos;
    while (isDigit(c.peek())) {
      if (c.pos - start === MAX_SECFRAC_DIGITS) c.fail(`TIME-SECFRAC longer than ${MAX_SECFRAC_DIGITS} digits`);
      fractionNs = fractionNs * 10 + ((c.peek() as number) - 0x30);
      c.pos++;
    }
    if (c.pos === start) c.fail("expected a digit after '.' in TIMESTAMP");
    fractionNs *= 10 ** (9 - (c.pos - start));
  }

  let offsetSeconds = 0;
  const sign = c.peek();
  if (sign === UPPER_Z) {
    c.pos++;
  } else if (sign === PLUS || sign === DASH) {
    c.pos++;
    const oh = c.ranged("TIMESTAMP offset hour", 0, 23);
    c.expect(COLON, "':' in TIMESTAMP offset");
    const om = c.ranged("TIMESTAMP offset minute", 0, 59);
    offsetSeconds = (sign === PLUS ? 1 : -1) * (oh * 3600 + om * 60);
  } else if (sign === LOWER_Z) {
    c.fail("TIMESTAMP 'Z' must be upper case");
  } else {
    c.fail("expected TIMESTAMP offset ('Z' or ±hh:mm)");
  }

  const local = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
  return instant(local - offsetSeconds, fractionNs);
}
