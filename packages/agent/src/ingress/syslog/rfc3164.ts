import { type Cursor, isDigit, isPrintUsAscii, SP } from "./cursor.js";
import type { SyslogMessage } from "./message.js";
import { daysFromCivil, daysInMonth, type Instant, instant, readRfc5424Timestamp } from "./timestamp.js";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const COLON = 0x3a;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const MAX_HOSTNAME = 255;
const MAX_TAG = 32;
const MAX_PID = 128;
const DAY_SECONDS = 86400;

/** TAG characters: RFC 3164 says alphanumeric; real programs also use `-_./` (`postfix/smtpd`, `systemd-logind`). */
const TAG_BYTES = new Uint8Array(256);
for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./") TAG_BYTES[ch.charCodeAt(0)] = 1;

function isTagByte(b: number | undefined): b is number {
  return b !== undefined && TAG_BYTES[b] === 1;
}

/**
 * Reads `Mmm dd hh:mm:ss`. The line carries no year and no zone: the zone is taken as UTC, and the year is the latest
 * of next, this and last year that does not put the time more than a day after `now`. Next year only wins in the
 * last day of December, for a sender whose clock is a little ahead across New Year.
 */
function readBsdTimestamp(c: Cursor, now: Date): Instant {
  const monthAt = c.pos;
  const month = MONTHS.indexOf(c.buf.toString("latin1", c.pos, c.pos + 3)) + 1;
  if (month === 0) c.fail("expected RFC 3164 TIMESTAMP (Mmm dd hh:mm:ss)", monthAt);
  c.pos += 3;
  c.expect(SP, "SP after TIMESTAMP month");
  const dayAt = c.pos;
  // RFC 3164 pads the day with a space (`Oct  5`); some senders pad with a zero (`Oct 05`). Both are accepted.
  if (c.peek() === SP) c.pos++;
  const day = c.digits(c.pos === dayAt ? 2 : 1, "TIMESTAMP day");
  if (day < 1 || day > 31) c.fail("TIMESTAMP day out of range 1-31", dayAt);
  c.expect(SP, "SP after TIMESTAMP day");
  const hour = c.ranged("TIMESTAMP hour", 0, 23);
  c.expect(COLON, "':' in TIMESTAMP");
  const minute = c.ranged("TIMESTAMP minute", 0, 59);
  c.expect(COLON, "':' in TIMESTAMP");
  const second = c.ranged("TIMESTAMP second", 0, 59);

  const latest = Math.floor(now.getTime() / 1000) + DAY_SECONDS;
  const thisYear = now.getUTCFullYear();
  for (const year of [thisYear + 1, thisYear, thisYear - 1]) {
    if (day > daysInMonth(year, month)) continue;
    const t = daysFromCivil(year, month, day) * DAY_SECONDS + hour * 3600 + minute * 60 + second;
    if (t <= latest) return instant(t);
  }
  return c.fail(`TIMESTAMP day out of range for ${MONTHS[month - 1]} in ${thisYear - 1}-${thisYear}`, dayAt);
}

/**
 * Parses the rest of an RFC 3164 message; `c` stands just after PRI.
 *
 * Accepted: `TIMESTAMP SP HOSTNAME SP TAG[pid]: MSG`, where
 * - TIMESTAMP is `Mmm dd hh:mm:ss` with the day space- or zero-padded, or an RFC 5424 TIMESTAMP as rsyslog's
 *   `RSYSLOG_ForwardFormat` and syslog-ng send (then the year and zone are the sender's);
 * - HOSTNAME is 1-255 printable US-ASCII bytes (a name, IPv4 or IPv6 address), and must be there;
 * - TAG is 1-32 of `A-Z a-z 0-9 - _ . /`, `[pid]` is optional (1-128 printable bytes), then `:` is required and
 *   one SP after it is optional.
 * Rejected: no timestamp, a TIMESTAMP with a year or zone (`CST 1987`), a missing HOSTNAME (the TAG would sit in
 * its place, so a HOSTNAME ending in `:` is refused), a missing TAG or `:`.
 */
export function parseRfc3164(c: Cursor, facility: number, severity: number, now: Date): SyslogMessage {
  const time = isDigit(c.peek()) ? readRfc5424Timestamp(c) : readBsdTimestamp(c, now);
  c.expect(SP, "SP after TIMESTAMP");

  const hostAt = c.pos;
  const hostname = c.printable(MAX_HOSTNAME, "HOSTNAME");
  if (c.buf[c.pos - 1] === COLON) c.fail("missing HOSTNAME (found a TAG in its place)", hostAt);
  c.expect(SP, "SP after HOSTNAME");

  const tagAt = c.pos;
  while (isTagByte(c.peek())) {
    if (c.pos - tagAt === MAX_TAG) c.fail(`TAG longer than ${MAX_TAG} characters`);
    c.pos++;
  }
  if (c.pos === tagAt) c.fail(c.done ? "message ends where TAG belongs" : "expected TAG");
  const appName = c.buf.toString("latin1", tagAt, c.pos);

  let procId: string | undefined;
  if (c.peek() === OPEN) {
    c.pos++;
    const pidAt = c.pos;
    while (isPrintUsAscii(c.peek()) && c.peek() !== OPEN && c.peek() !== CLOSE) {
      if (c.pos - pidAt === MAX_PID) c.fail(`pid longer than ${MAX_PID} characters`);
      c.pos++;
    }
    if (c.pos === pidAt) c.fail("empty [pid] after TAG");
    procId = c.buf.toString("latin1", pidAt, c.pos);
    c.expect(CLOSE, "']' after pid");
  }
  c.expect(COLON, "':' after TAG");
  if (c.peek() === SP) c.pos++;

  return {
    format: "rfc3164",
    facility,
    severity,
    timestamp: time.date,
    timestampNs: time.ns,
    hostname,
    appName,
    procId,
    msgId: undefined,
    structuredData: [],
    message: c.buf.subarray(c.pos),
  };
}
