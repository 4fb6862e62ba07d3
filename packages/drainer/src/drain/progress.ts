/**
 * Which stream sequence a drain has delivered through, whatever order its batches' deliveries finish in: the cursor
 * that the drainer checkpoints, and from which the next holder of the drain resumes. It only ever covers batches that
 * were really delivered (or deliberately skipped and counted as lost).
 */
export class Progress {
  private readonly q: Array<{ seq: number; done: boolean }> = [];
  private head = 0;

  /** Everything up to this sequence is delivered or given up (0 before the first). */
  constructor(public through = 0) {}

  /** Batches taken and not yet delivered. */
  get size(): number {
    return this.q.length - this.head;
  }

  /** Registers batch `seq` (rising); call the returned function once it is delivered. */
  push(seq: number): () => void {
    const slot = { seq, done: false };
    this.q.push(slot);
    return () => {
      slot.done = true;
      this.flush();
    };
  }

  private flush(): void {
    while (this.head < this.q.length && this.q[this.head]?.done) {
      this.through = (this.q[this.head] as { seq: number }).seq;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.q.length) {
      this.q.splice(0, this.head);
      this.head = 0;
    }
  }
}
