import { SyslogFramingError } from "./errors.js";

export { SyslogFramingError } from "./errors.js";

export type SyslogFramerOptions = {
  /** The largest SYSLOG-MSG accepted, in bytes. Default 64 KiB + 2 KiB: a full envelope payload plus a header. */
  maxMessageBytes?: number;
  /**
   * The largest declared MSG-LEN that is skipped byte for byte when it exceeds `maxMessageBytes`. A larger one is
   * taken as garbage, not a length: trusting it could swallow the rest of the stream. Default 1 MiB, and never less
   * than `maxMessageBytes`.
   */
  maxSkipBytes?: number;
};

export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 + 2 * 1024;
const DEFAULT_MAX_SKIP_BYTES = 1024 * 1024;

const NUL = 0x00;
const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const ZERO = 0x30;
const NINE = 0x39;
const LT = 0x3c;

/**
 * Where the framer stands: between frames, inside MSG-LEN, inside an octet-counted or an LF-terminated SYSLOG-MSG,
 * or discarding up to and including the next LF after an error.
 */
type State = "start" | "length" | "octets" | "line" | "skip";

/**
 * Cuts an RFC 6587 TCP stream into syslog messages. Each frame picks its own method by its first byte, since
 * senders differ and some switch: a digit is octet counting (`MSG-LEN SP SYSLOG-MSG`), `<` is non-transparent
 * framing, ended by LF, CRLF or NUL. LF, CR and NUL between frames are ignored, as some senders end octet-counted
 * frames with a newline.
 *
 * A bad frame is reported to `onError` and the framer resynchronises at the next LF, so the messages around it
 * survive. An octet-counted frame larger than `maxMessageBytes` is reported and skipped exactly, as its length is
 * known; an octet-counted frame whose SYSLOG-MSG does not start with `<` is taken as a misread length instead, and
 * resynchronised at the next LF rather than trusted.
 *
 * Messages passed to `onMessage` are views into the pushed chunks when a frame sits in one chunk (no copy), so a
 * message held long keeps its whole chunk in memory; copy it to hold it long.
 */
export class SyslogFramer {
  private readonly maxMessageBytes: number;
  private readonly maxSkipBytes: number;
  private state: State = "start";
  /** MSG-LEN as read so far, then the declared length of the current octet-counted frame. */
  private length = 0;
  /** Bytes still to come in the current octet-counted frame. */
  private remaining = 0;
  /** The current octet-counted frame is oversize: count its bytes down, keep none. */
  private discarding = false;
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** Stream offset of the start of the current chunk, for error offsets. */
  private streamOffset = 0;

  constructor(
    private readonly onMessage: (msg: Buffer) => void,
    private readonly onError: (err: SyslogFramingError) => void,
    opts: SyslogFramerOptions = {},
  ) {
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxSkipBytes = Math.max(opts.maxSkipBytes ?? DEFAULT_MAX_SKIP_BYTES, this.maxMessageBytes);
    if (!Number.isSafeInteger(this.maxMessageBytes) || this.maxMessageBytes < 1) {
      throw new RangeError("maxMessageBytes must be a positive integer");
    }
    if (!Number.isSafeInteger(this.maxSkipBytes)) throw new RangeError("maxSkipBytes must be an integer");
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    // Cached terminator positions, so many short LF frames in one chunk cost one scan each, not one per frame.
    // -2: not searched yet; -1: none left in this chunk.
    let nextLf = -2;
    let nextNul = -2;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case "start": {
          const b = chunk[i] as number;
          if (b === LF || b === CR || b === NUL) {
            i++;
          } else if (b > ZERO && b <= NINE) {
            this.state = "length";
            this.length = b - ZERO;
            i++;
          } else if (b === LT) {
            this.state = "line";
          } else if (b === ZERO) {
            this.fail("MSG-LEN starts with a zero", i);
          } else {
            this.fail(`unexpected byte 0x${b.toString(16).padStart(2, "0")} at the start of a frame (want a digit or '<')`, i);
          }
          break;
        }
        case "length": {
          const b = chunk[i] as number;
          if (b >= ZERO && b <= NINE) {
            this.length = this.length * 10 + (b - ZERO);
            if (this.length > this.maxSkipBytes) this.fail(`MSG-LEN above ${this.maxSkipBytes} is not a plausible length`, i);
            else i++;
          } else if (b === SP) {
            this.state = "octets";
            this.remaining = this.length;
            this.discarding = false;
            i++;
          } else {
            this.fail(`MSG-LEN ${this.length} not followed by SP`, i);
          }
          break;
        }
        case "octets": {
          if (this.remaining === this.length && !this.discarding) {
            // First byte of SYSLOG-MSG: PRI always starts it, so anything else means the "length" was not one.
            if (chunk[i] !== LT) {
              this.fail(`octet-counted frame of ${this.length} bytes does not start with '<'`, i);
              break;
            }
            if (this.length > this.maxMessageBytes) {
              this.discarding = true;
              this.report(`octet-counted frame of ${this.length} bytes exceeds ${this.maxMessageBytes}; skipped`, i);
            }
          }
          const take = Math.min(this.remaining, n - i);
          if (!this.discarding) this.keep(chunk.subarray(i, i + take));
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) {
            this.state = "start";
            if (!this.discarding) this.onMessage(this.take());
          }
          break;
        }
        case "line": {
          if (nextLf !== -1 && nextLf < i) nextLf = chunk.indexOf(LF, i);
          if (nextNul !== -1 && nextNul < i) nextNul = chunk.indexOf(NUL, i);
          i = this.line(chunk, i, nextLf, nextNul);
          break;
        }
        case "skip": {
          if (nextLf !== -1 && nextLf < i) nextLf = chunk.indexOf(LF, i);
          if (nextLf === -1) {
            i = n;
          } else {
            i = nextLf + 1;
            this.state = "start";
          }
          break;
        }
      }
    }
    this.streamOffset += n;
  }

  /** The stream has closed: an unterminated LF frame is still a message; a cut octet-counted frame is an error. */
  end(): void {
    const state = this.state;
    this.state = "start";
    if (state === "line") {
      const frame = stripCr(this.take());
      if (frame.length > this.maxMessageBytes) this.report(`LF-framed message exceeds ${this.maxMessageBytes} bytes`, 0);
      else this.onMessage(frame);
    } else if (state === "length") {
      this.report("stream ended inside MSG-LEN", 0);
    } else if (state === "octets" && !this.discarding) {
      this.drop();
      this.report(`stream ended ${this.remaining} bytes short of an octet-counted frame of ${this.length}`, 0);
    }
  }

  /** Handles LF framing from `i`; returns where to continue. */
  private line(chunk: Buffer, i: number, nextLf: number, nextNul: number): number {
    const n = chunk.length;
    const end = nextLf === -1 ? nextNul : nextNul === -1 ? nextLf : Math.min(nextLf, nextNul);
    const stop = end === -1 ? n : end;
    // One byte of slack for the CR of a CRLF trailer, which is not part of the message.
    if (this.partsBytes + (stop - i) > this.maxMessageBytes + 1) {
      this.drop();
      if (end === -1) {
        this.fail(`LF-framed message exceeds ${this.maxMessageBytes} bytes`, i);
        return n;
      }
      this.report(`LF-framed message exceeds ${this.maxMessageBytes} bytes`, i);
      this.state = "start";
      return end + 1;
    }
    this.keep(chunk.subarray(i, stop));
    if (end === -1) return n;
    let frame = this.take();
    if (end === nextLf) frame = stripCr(frame);
    this.state = "start";
    if (frame.length > this.maxMessageBytes) this.report(`LF-framed message exceeds ${this.maxMessageBytes} bytes`, end);
    else this.onMessage(frame);
    return end + 1;
  }

  private keep(part: Buffer): void {
    if (part.length === 0) return;
    this.parts.push(part);
    this.partsBytes += part.length;
  }

  private drop(): void {
    this.parts = [];
    this.partsBytes = 0;
  }

  private take(): Buffer {
    const parts = this.parts;
    const b = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, this.partsBytes);
    this.parts = [];
    this.partsBytes = 0;
    return b;
  }

  /** Reports a bad frame and resynchronises: everything up to and including the next LF, from `i` on, is dropped. */
  private fail(reason: string, i: number): void {
    this.drop();
    this.state = "skip";
    this.report(reason, i);
  }

  /** `i` is an index into the current chunk. */
  private report(reason: string, i: number): void {
    this.onError(new SyslogFramingError(reason, this.streamOffset + i));
  }
}

function stripCr(b: Buffer): Buffer {
  return b.length > 0 && b[b.length - 1] === CR ? b.subarray(0, b.length - 1) : b;
}
