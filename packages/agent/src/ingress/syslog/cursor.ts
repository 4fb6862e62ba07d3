import { SyslogParseError } from "./errors.js";

export const SP = 0x20;

export function isDigit(b: number | undefined): b is number {
  return b !== undefined && b >= 0x30 && b <= 0x39;
}

/** PRINTUSASCII of RFC 5424: %d33-126. */
export function isPrintUsAscii(b: number | undefined): b is number {
  return b !== undefined && b >= 0x21 && b <= 0x7e;
}

/** A read position in one message, with the small vocabulary both grammars share. */
export class Cursor {
  pos = 0;

  constructor(readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  peek(ahead = 0): number | undefined {
    return this.buf[this.pos + ahead];
  }

  fail(reason: string, at = this.pos, cause?: unknown): never {
    throw new SyslogParseError(reason, at, cause === undefined ? undefined : { cause });
  }

  expect(byte: number, what: string): void {
    if (this.buf[this.pos] !== byte) this.fail(this.done ? `message ends where ${what} belongs` : `expected ${what}`);
    this.pos++;
  }

  /** Exactly `n` ASCII digits, as a number. */
  digits(n: number, what: string): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const b = this.buf[this.pos];
      if (!isDigit(b)) this.fail(`expected ${n}-digit ${what}`);
      v = v * 10 + (b - 0x30);
      this.pos++;
    }
    return v;
  }

  /** A two-digit field in `min..max`; the error points at the field, not past it. */
  ranged(what: string, min: number, max: number, width = 2): number {
    const at = this.pos;
    const v = this.digits(width, what);
    if (v < min || v > max) this.fail(`${what} out of range ${min}-${max}`, at);
    return v;
  }

  /** A run of PRINTUSASCII of 1..max bytes, ended by SP or the end of the message (neither is consumed). */
  printable(max: number, what: string): string {
    const start = this.pos;
    const buf = this.buf;
    let i = start;
    while (i < buf.length && buf[i] !== SP) {
      if (!isPrintUsAscii(buf[i])) this.fail(`${what} has a byte outside printable US-ASCII`, i);
      if (i - start === max) this.fail(`${what} longer than ${max} bytes`, i);
      i++;
    }
    if (i === start) this.fail(this.done ? `message ends where ${what} belongs` : `empty ${what}`);
    this.pos = i;
    // Every byte is 33..126, so latin1 is the exact (and fastest) decoding.
    return buf.toString("latin1", start, i);
  }
}
