import { type Cursor, SP } from "./cursor.js";
import type { SyslogMessage } from "./message.js";
import { readStructuredData } from "./structured_data.js";
import { type Instant, readRfc5424Timestamp } from "./timestamp.js";

const NIL = "-";
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** RFC 5424 section 6 field limits. */
const MAX_HOSTNAME = 255;
const MAX_APP_NAME = 48;
const MAX_PROCID = 128;
const MAX_MSGID = 32;

function headerField(c: Cursor, max: number, what: string): string | undefined {
  const v = c.printable(max, what);
  c.expect(SP, `SP after ${what}`);
  return v === NIL ? undefined : v;
}

/**
 * Parses the rest of an RFC 5424 message; `c` stands just after PRI, on `1 `.
 * SYSLOG-MSG = HEADER SP STRUCTURED-DATA [SP MSG]
 */
export function parseRfc5424(c: Cursor, facility: number, severity: number): SyslogMessage {
  c.pos += 2; // VERSION "1" and SP, checked by the caller.
  let time: Instant | undefined;
  if (c.peek() === 0x2d && (c.peek(1) === SP || c.peek(1) === undefined)) c.pos++;
  else time = readRfc5424Timestamp(c);
  c.expect(SP, "SP after TIMESTAMP");
  const hostname = headerField(c, MAX_HOSTNAME, "HOSTNAME");
  const appName = headerField(c, MAX_APP_NAME, "APP-NAME");
  const procId = headerField(c, MAX_PROCID, "PROCID");
  const msgId = headerField(c, MAX_MSGID, "MSGID");
  const structuredData = readStructuredData(c);

  let message = c.buf.subarray(c.buf.length);
  if (!c.done) {
    c.expect(SP, "SP after STRUCTURED-DATA");
    message = c.buf.subarray(c.pos);
    // MSG-UTF8 = BOM UTF-8-STRING: the BOM only says "this is UTF-8", it is not part of the text.
    if (message.subarray(0, 3).equals(BOM)) message = message.subarray(3);
  }
  return {
    format: "rfc5424",
    facility,
    severity,
    timestamp: time?.date,
    timestampNs: time?.ns,
    hostname,
    appName,
    procId,
    msgId,
    structuredData,
    message,
  };
}
