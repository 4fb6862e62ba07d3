import { Cursor, isDigit, SP } from "./cursor.js";
import type { SyslogMessage } from "./message.js";
import { parseRfc3164 } from "./rfc3164.js";
import { parseRfc5424 } from "./rfc5424.js";

export { SyslogParseError } from "./errors.js";
export type { SdElement, SyslogMessage } from "./message.js";

export type ParseOptions = {
  /** The receive time, used to infer the year RFC 3164 leaves out. Defaults to the current time. */
  now?: Date;
};

const LT = 0x3c;
const GT = 0x3e;
const MAX_PRIVAL = 191;

/** PRI = "<" PRIVAL ">", PRIVAL 0..191 in 1-3 digits with no leading zero (only `<0>` starts with 0). */
function readPri(c: Cursor): number {
  if (c.peek() !== LT) c.fail("missing PRI: a syslog message starts with '<'");
  c.pos++;
  const start = c.pos;
  let v = 0;
  while (isDigit(c.peek())) {
    if (c.pos - start === 3) c.fail("PRI longer than 3 digits");
    v = v * 10 + ((c.peek() as number) - 0x30);
    c.pos++;
  }
  if (c.pos === start) c.fail("PRI has no digits");
  if (c.pos - start > 1 && c.buf[start] === 0x30) c.fail("PRI has a leading zero", start);
  if (v > MAX_PRIVAL) c.fail(`PRI above ${MAX_PRIVAL}`, start);
  c.expect(GT, "'>' closing PRI");
  return v;
}

/**
 * Parses one syslog message, RFC 5424 when PRI is followed by a VERSION and SP, RFC 3164 otherwise, and throws
 * `SyslogParseError` on anything malformed. The message is one datagram or one frame from
 * `SyslogFramer`, without its trailer; `message` in the result is a view into `msg`, not a copy.
 */
export function parseSyslog(msg: Buffer, opts: ParseOptions = {}): SyslogMessage {
  const c = new Cursor(msg);
  const pri = readPri(c);
  const facility = pri >> 3;
  const severity = pri & 7;

  // VERSION = NONZERO-DIGIT 0*2DIGIT. A 3164 TIMESTAMP never starts with 1-3 digits and SP, so this cannot misread
  // one; and a version we do not know is better reported as such than as a bad BSD timestamp.
  let n = 0;
  while (n < 4 && isDigit(c.peek(n))) n++;
  if (n >= 1 && n <= 3 && c.peek(n) === SP) {
    if (n !== 1 || c.peek() !== 0x31) c.fail("unsupported syslog VERSION (only 1 is defined)");
    return parseRfc5424(c, facility, severity);
  }
  return parseRfc3164(c, facility, severity, opts.now ?? new Date());
}
