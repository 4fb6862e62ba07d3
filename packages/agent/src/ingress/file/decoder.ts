import type { Mark } from "../../egress/mark.js";
import type { InstanceSink } from "../instance.js";
import { PartialLine } from "./partial.js";

/**
 * Turns the lines of one log file format (Docker json-file, CRI) into envelopes. The tailer cuts the file into
 * lines and says where each starts, so the decoder can report how far the file is fully emitted.
 */
export interface FileDecoder {
  /** One line of the file without its `\n`, starting at byte `start`. Envelopes go out under `mark`. */
  line(line: Buffer, start: number, mark: Mark): void;
  /**
   * The offset of the first byte of a line the decoder still holds (a chunk of a longer log line, waiting for the
   * rest), or undefined. A checkpoint never passes it, so a restart reads that chunk again.
   */
  heldFrom(): number | undefined;
  /** The file ended for good (rotated away or removed): emit whatever is held. */
  finish(mark: Mark): void;
  /** The file was truncated or replaced: forget whatever is held. */
  reset(): void;
}

/**
 * What Docker's and CRI's decoders share: a partial line per stream (stdout, stderr), each holding the chunks of a
 * split log line until its end arrives. Subclasses parse their format and feed `out`/`err`.
 */
export abstract class StreamPairDecoder implements FileDecoder {
  protected readonly out: PartialLine;
  protected readonly err: PartialLine;

  constructor(sink: InstanceSink) {
    this.out = new PartialLine("OUT", sink);
    this.err = new PartialLine("ERR", sink);
  }

  abstract line(line: Buffer, start: number, mark: Mark): void;

  heldFrom(): number | undefined {
    const a = this.out.start;
    const b = this.err.start;
    if (a === undefined) return b;
    if (b === undefined) return a;
    return Math.min(a, b);
  }

  finish(mark: Mark): void {
    this.out.flush(mark);
    this.err.flush(mark);
  }

  reset(): void {
    this.out.reset();
    this.err.reset();
  }
}

/** The longest file line accepted; a longer one is not a log line (Docker and CRI cut at 16 KiB) and is skipped. */
export const MAX_FILE_LINE = 1024 * 1024;
const LF = 0x0a;

/**
 * Cuts file bytes into lines, keeping offsets. The unterminated tail is held (copied) until its `\n` arrives, and a
 * line over {@link MAX_FILE_LINE} is reported and skipped rather than buffered without bound.
 */
export class FileLines {
  private rest: Buffer[] = [];
  private restBytes = 0;
  private skipping = false;
  /** Offset of the start of the line being gathered (the first byte not yet cut into a line). */
  private lineStart = 0;
  /** Offset just past the last byte pushed. */
  private end = 0;

  constructor(
    private readonly decoder: FileDecoder,
    private readonly onOversize: (start: number) => void,
  ) {}

  /** Offset up to which everything has been handed on and emitted: a safe checkpoint. */
  safeOffset(): number {
    const held = this.decoder.heldFrom();
    return held === undefined ? this.lineStart : Math.min(held, this.lineStart);
  }

  push(chunk: Buffer, mark: Mark): void {
    const base = this.end;
    this.end += chunk.length;
    let i = 0;
    for (;;) {
      const nl = chunk.indexOf(LF, i);
      if (nl === -1) break;
      if (this.skipping) {
        this.skipping = false;
      } else if (this.restBytes > 0) {
        this.rest.push(chunk.subarray(i, nl));
        const line = Buffer.concat(this.rest, this.restBytes + nl - i);
        this.rest = [];
        this.restBytes = 0;
        this.decoder.line(line, this.lineStart, mark);
      } else {
        this.decoder.line(chunk.subarray(i, nl), this.lineStart, mark);
      }
      i = nl + 1;
      this.lineStart = base + i;
    }
    if (i < chunk.length) {
      const tail = chunk.length - i;
      if (this.skipping) return;
      if (this.restBytes + tail > MAX_FILE_LINE) {
        this.onOversize(this.lineStart);
        this.skipping = true;
        this.rest = [];
        this.restBytes = 0;
      } else {
        this.rest.push(Buffer.from(chunk.subarray(i)));
        this.restBytes += tail;
      }
    }
  }

  /** End of file for good: an unterminated last line is still a line. */
  finish(mark: Mark): void {
    if (this.restBytes > 0 && !this.skipping) this.decoder.line(Buffer.concat(this.rest, this.restBytes), this.lineStart, mark);
    this.decoder.finish(mark);
    this.reset(this.end);
  }

  /** Starts over at `offset` (a new file, a truncation, a resume). */
  reset(offset: number): void {
    this.rest = [];
    this.restBytes = 0;
    this.skipping = false;
    this.lineStart = offset;
    this.end = offset;
    this.decoder.reset();
  }
}
