/**
 * At most `n` of something at once, the rest waiting their turn in order: here, catch-up consumers being made. A
 * drainer that takes over thousands of drains would otherwise ask NATS for thousands of consumers in the same
 * second.
 */
export class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(n: number) {
    this.free = n;
  }

  /** Resolves with the function that gives the slot back. */
  async take(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}
