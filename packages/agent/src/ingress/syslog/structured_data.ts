import { type Cursor, isPrintUsAscii, SP } from "./cursor.js";
import type { SdElement } from "./message.js";

const NIL = 0x2d;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const EQUALS = 0x3d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MAX_SD_NAME = 32;

// fatal: PARAM-VALUE is UTF-8-STRING, so bad bytes are an error. ignoreBOM: a leading U+FEFF is data, not a marker.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** SD-NAME: PRINTUSASCII except `=`, SP, `]` and `"` (RFC 5424 section 6). */
function isSdNameByte(b: number | undefined): b is number {
  return isPrintUsAscii(b) && b !== EQUALS && b !== CLOSE && b !== QUOTE;
}

function readSdName(c: Cursor, what: string): string {
  const start = c.pos;
  while (isSdNameByte(c.peek())) {
    if (c.pos - start === MAX_SD_NAME) c.fail(`${what} longer than ${MAX_SD_NAME} characters`);
    c.pos++;
  }
  if (c.pos === start) c.fail(c.done ? `message ends where ${what} belongs` : `expected ${what}`);
  return c.buf.toString("latin1", start, c.pos);
}

/**
 * Reads a PARAM-VALUE up to its closing quote. `\"`, `\\` and `\]` are unescaped; a backslash before anything else
 * stays, with the next character read as usual (RFC 5424 6.3.3: "the invalid sequence MUST not be altered").
 */
function readParamValue(c: Cursor): string {
  const buf = c.buf;
  const start = c.pos;
  const parts: Buffer[] = [];
  let seg = start;
  let i = start;
  for (;;) {
    const b = buf[i];
    if (b === undefined) c.fail("PARAM-VALUE not closed with '\"'", start);
    if (b === QUOTE) break;
    if (b === CLOSE) c.fail("unescaped ']' in PARAM-VALUE", i);
    if (b === BACKSLASH) {
      const next = buf[i + 1];
      if (next === QUOTE || next === BACKSLASH || next === CLOSE) {
        parts.push(buf.subarray(seg, i));
        seg = i + 1;
        i += 2;
        continue;
      }
    }
    i++;
  }
  parts.push(buf.subarray(seg, i));
  c.pos = i + 1;
  try {
    return utf8.decode(parts.length === 1 ? parts[0] : Buffer.concat(parts));
  } catch (err) {
    c.fail("PARAM-VALUE is not valid UTF-8", start, err);
  }
}

/**
 * Reads STRUCTURED-DATA: NILVALUE, or SD-ELEMENTs with no space between them. An SD-ID may appear once per message
 * (RFC 5424 6.3.2). SD-IDs are not checked against the IANA registry or the `name@PEN` form: that is the sender's
 * contract with its readers, and the grammar alone is enough to find where the element ends.
 */
export function readStructuredData(c: Cursor): SdElement[] {
  const first = c.peek();
  if (first === NIL) {
    c.pos++;
    return [];
  }
  if (first !== OPEN) c.fail(c.done ? "message ends where STRUCTURED-DATA belongs" : "expected STRUCTURED-DATA ('-' or '[')");
  const out: SdElement[] = [];
  const seen = new Set<string>();
  while (c.peek() === OPEN) {
    c.pos++;
    const idAt = c.pos;
    const id = readSdName(c, "SD-ID");
    if (seen.has(id)) c.fail(`duplicate SD-ID ${JSON.stringify(id)}`, idAt);
    seen.add(id);
    const params: SdElement["params"] = [];
    for (;;) {
      const b = c.peek();
      if (b === CLOSE) {
        c.pos++;
        break;
      }
      if (b !== SP) c.fail(b === undefined ? "SD-ELEMENT not closed with ']'" : "expected SP or ']' in SD-ELEMENT");
      c.pos++;
      const name = readSdName(c, "PARAM-NAME");
      c.expect(EQUALS, "'=' after PARAM-NAME");
      c.expect(QUOTE, "'\"' before PARAM-VALUE");
      params.push({ name, value: readParamValue(c) });
    }
    out.push({ id, params });
  }
  return out;
}
