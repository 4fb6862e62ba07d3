import type { JsMsg } from "@nats-io/jetstream";

/**
 * Acks JetStream messages in delivery order, whatever order their work finishes in, so the consumer's ack floor only
 * ever covers messages that were really delivered (or deliberately skipped). A new drain holder resumes from there.
 */
export class AckQueue {
  private readonly q: Array<{ m: JsMsg; done: boolean }> = [];
  /** The highest stream sequence acked so far (0 before the first). */
  ackedThrough = 0;

  get size(): number {
    return this.q.length;
  }

  /** Whether the message of stream sequence `seq` is registered and not yet acked. */
  holds(seq: number): boolean {
    return this.q.some((s) => s.m.seq === seq);
  }

  /** Registers `m`; call the returned function when its work is done. */
  push(m: JsMsg): () => void {
    const slot = { m, done: false };
    this.q.push(slot);
    return () => {
      slot.done = true;
      this.flush();
    };
  }

  private flush(): void {
    let n = 0;
    while (n < this.q.length && this.q[n]?.done) n++;
    if (n === 0) return;
    for (const s of this.q.splice(0, n)) {
      s.m.ack();
      if (s.m.seq > this.ackedThrough) this.ackedThrough = s.m.seq;
    }
  }
}
