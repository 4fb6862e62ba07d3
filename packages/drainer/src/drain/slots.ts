/**
 * At most `n` of something at once, the rest waiting their turn in order: here, catch-up consumers being made. A
 * drainer that takes over thousands of drains would otherwise ask NATS for thousands of consumers in the same
 * second.
 *
 * A turn asked for `first` (a drain that was current a moment ago: bound just now, or stepping off the feed) goes
 * before every other waiting one: its catch-up is short, and behind a takeover of 5,000 drains it waited 21.6 s for
 * its first line (issue 13).
 */
export class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];
  private readonly waitingFirst: Array<() => void> = [];

  constructor(n: number) {
    this.free = n;
  }

  /** Resolves with the function that gives the slot back. */
  async take(first = false): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => (first ? this.waitingFirst : this.waiting).push(resolve));
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const next = this.waitingFirst.shift() ?? this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}
