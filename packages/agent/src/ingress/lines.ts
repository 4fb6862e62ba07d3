import { MAX_PAYLOAD_BYTES } from "@tailrace/envelope";

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines. A line longer than `maxBytes` is emitted in parts of at most `maxBytes`, cut on a
 * UTF-8 character boundary; every part but the last has `partial` set, so nothing is lost and readers can re-join.
 */
export class LineSplitter {
  private chunks: Buffer[] = [];
  private pending = 0;

  constructor(
    private readonly onLine: (line: Buffer, partial: boolean) => void,
    private readonly maxBytes = MAX_PAYLOAD_BYTES,
  ) {}

  push(data: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = data.indexOf(LF, start);
      if (nl === -1) break;
      this.chunks.push(data.subarray(start, nl));
      this.pending += nl - start;
      this.emitLine();
      start = nl + 1;
    }
    if (start < data.length) {
      this.chunks.push(data.subarray(start));
      this.pending += data.length - start;
      while (this.pending > this.maxBytes) this.emitPart();
    }
  }

  /** Emits what is left as a final line (the stream ended without a newline). */
  end(): void {
    if (this.pending > 0 || this.chunks.length > 0) this.emitLine();
  }

  private joined(): Buffer {
    const b = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.pending);
    this.chunks = [];
    this.pending = 0;
    return b;
  }

  private emitLine(): void {
    let line = this.joined();
    while (line.length > this.maxBytes) {
      const cut = boundary(line, this.maxBytes);
      this.onLine(line.subarray(0, cut), true);
      line = line.subarray(cut);
    }
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    this.onLine(line, false);
  }

  private emitPart(): void {
    const all = this.joined();
    const cut = boundary(all, this.maxBytes);
    this.onLine(all.subarray(0, cut), true);
    const rest = all.subarray(cut);
    if (rest.length) {
      // Copy so the retained remainder does not pin the whole chunk.
      this.chunks = [Buffer.from(rest)];
      this.pending = rest.length;
    }
  }
}

/** The largest cut ≤ max that does not split a UTF-8 sequence (falls back to max for non-UTF-8 bytes). */
export function boundary(b: Buffer, max: number): number {
  if (b.length <= max) return b.length;
  let cut = max;
  // Step back over continuation bytes (10xxxxxx), at most 3.
  for (let i = 0; i < 4 && cut > 0; i++) {
    if (((b[cut] as number) & 0xc0) !== 0x80) return cut;
    cut--;
  }
  return max;
}
