/**
 * Stream sequences in rising order, as a ring that grows by doubling: the batches of one app the drains' feed went
 * past while the drain was catching up on its own (see pipeline.ts). Numbers, not messages: a few bytes each.
 */
export class SeqQueue {
  private buf = new Float64Array(16);
  private head = 0;
  length = 0;

  push(seq: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      for (let i = 0; i < this.length; i++) next[i] = this.buf[(this.head + i) % this.buf.length] as number;
      this.buf = next;
      this.head = 0;
    }
    this.buf[(this.head + this.length) % this.buf.length] = seq;
    this.length++;
  }

  /** The oldest, or undefined when empty. */
  peek(): number | undefined {
    return this.length > 0 ? this.buf[this.head] : undefined;
  }

  shift(): number | undefined {
    if (this.length === 0) return undefined;
    const seq = this.buf[this.head];
    this.head = (this.head + 1) % this.buf.length;
    this.length--;
    return seq;
  }

  clear(): void {
    this.buf = new Float64Array(16);
    this.head = 0;
    this.length = 0;
  }
}
