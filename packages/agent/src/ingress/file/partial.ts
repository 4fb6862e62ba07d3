import { type LogType, MAX_PAYLOAD_BYTES } from "@tailrace/envelope";
import type { Mark } from "../../egress/mark.js";
import type { InstanceSink } from "../instance.js";
import { boundary } from "../lines.js";

/**
 * Held per stream before parts go out early. Lines up to this size are split exactly at 64 KiB; beyond it, each
 * early flush ends in a shorter part. Bounded so a line without end cannot exhaust memory.
 */
const MAX_HELD = 4 * MAX_PAYLOAD_BYTES;

/**
 * Re-joins the chunks a container runtime cut a long line into (Docker json-file entries without a trailing `\n`,
 * CRI `P` lines), one stream at a time, then lets the sink split the whole line again at 64 KiB by our rule.
 *
 * A line that keeps growing is not held without bound: past 256 KiB the held part goes out as `partial` parts at
 * once, and the rest of the line follows as more parts, so readers re-join it all the same.
 */
export class PartialLine {
  private parts: Buffer[] = [];
  private bytes = 0;
  /** File offset of the first held chunk, or undefined when nothing is held. */
  start: number | undefined;
  private timestamp = 0n;
  /** Parts of the current line already went out; the rest keeps its time. */
  private continuing = false;

  constructor(
    private readonly type: LogType,
    private readonly sink: InstanceSink,
  ) {}

  /** A chunk that does not end its line. */
  hold(chunk: Buffer, timestamp: bigint, offset: number, mark: Mark): void {
    if (this.start === undefined) {
      this.start = offset;
      if (!this.continuing) this.timestamp = timestamp;
    }
    this.parts.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes > MAX_HELD) {
      let all = this.take();
      while (all.length > 0) {
        const cut = boundary(all, MAX_PAYLOAD_BYTES);
        this.sink.logPart(all.subarray(0, cut), this.type, this.timestamp, true, mark);
        all = all.subarray(cut);
      }
      // The rest of the line follows; its first chunk starts a new hold, with this line's time.
      this.continuing = true;
    }
  }

  /** The chunk that ends the line (maybe the only one). */
  end(chunk: Buffer, timestamp: bigint, mark: Mark): void {
    // Nothing held, not even an empty chunk: the common case. (Testing `bytes` here kept an empty held chunk's
    // offset forever, so checkpoints stopped advancing; found by decoder.fuzz.test.ts.)
    if (this.start === undefined && !this.continuing) {
      this.sink.log(chunk, this.type, timestamp, mark);
      return;
    }
    this.parts.push(chunk);
    this.bytes += chunk.length;
    const ts = this.timestamp;
    this.sink.log(this.take(), this.type, ts, mark);
  }

  /** The file ended without the rest of the line: emit what is held as a line. */
  flush(mark: Mark): void {
    if (this.bytes > 0) this.sink.log(this.take(), this.type, this.timestamp, mark);
  }

  reset(): void {
    this.take();
  }

  private take(): Buffer {
    const b = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.bytes);
    this.parts = [];
    this.bytes = 0;
    this.start = undefined;
    this.continuing = false;
    return b;
  }
}
