import type { Envelope } from "@tailrace/envelope";

const MARK = Symbol("tailrace.mark");

type Marked = Envelope & { [MARK]?: Mark };

/**
 * Tells a source when everything it wrote under this mark has left the agent's hands: stored by JetStream (acked),
 * or dropped and counted (buffer full, app owned by another tenant). File sources checkpoint a read offset only
 * once the mark of the lines before it has settled, so a crash can repeat at most the chunk in flight and never
 * skip one.
 *
 * Usage: `const m = new Mark()`, `channel.write(e, m)` for each envelope, then `m.seal()` and `await m.settled`.
 */
export class Mark {
  private pending = 0;
  private sealed = false;
  /** Envelopes under this mark that were dropped instead of stored. */
  dropped = 0;
  private resolve!: () => void;
  readonly settled: Promise<void> = new Promise((r) => (this.resolve = r));

  /** @internal Ties `e` to this mark; called by the channel on write. */
  attach(e: Envelope): void {
    if (this.sealed) throw new Error("mark already sealed");
    this.pending++;
    (e as Marked)[MARK] = this;
  }

  /** No more envelopes will be written under this mark; it settles once those written have. */
  seal(): Promise<void> {
    this.sealed = true;
    if (this.pending === 0) this.resolve();
    return this.settled;
  }

  private done(dropped: boolean): void {
    if (dropped) this.dropped++;
    if (--this.pending === 0 && this.sealed) this.resolve();
  }

  /** @internal Called by the publisher for each envelope once it is stored (`dropped` false) or dropped. */
  static release(e: Envelope, dropped: boolean): void {
    const m = (e as Marked)[MARK];
    if (m) {
      (e as Marked)[MARK] = undefined;
      m.done(dropped);
    }
  }
}
