import type { Envelope } from "@tailrace/envelope";

/** One queue per NATS subject (tenant, app, kind). */
export interface Lane {
  readonly subject: string;
  readonly tenant: string;
  readonly sourceId: string;
  items: Envelope[];
  head: number;
  /** Dropped since the last notice was sent. */
  dropped: number;
}

function size(l: Lane): number {
  return l.items.length - l.head;
}

/**
 * A bounded buffer shared fairly between apps. It never blocks a writer. When full, it drops the oldest envelope of
 * the *longest* lane, so an app flooding at full speed pays for its own flood and a quiet app on the same host
 * loses nothing. Drops are counted per lane so the publisher can tell the app (an LGR notice) and the operator.
 */
export class FairBuffer {
  private readonly lanes = new Map<string, Lane>();
  /** Lanes with something to take, in round-robin order, from `readyHead` on (a queue: shift() on an array of
   * 50,000 lanes was the agent's top cost at 50,000 apps, issue 13). */
  private ready: Lane[] = [];
  private readyHead = 0;
  private total = 0;
  droppedTotal = 0;

  /** `onDrop` sees each envelope dropped, so whoever waits on it (a source's checkpoint mark) is told. */
  constructor(
    readonly capacity: number,
    private readonly onDrop?: (e: Envelope) => void,
  ) {}

  get size(): number {
    return this.total;
  }

  lane(subject: string, tenant: string, sourceId: string): Lane {
    let l = this.lanes.get(subject);
    if (!l) {
      l = { subject, tenant, sourceId, items: [], head: 0, dropped: 0 };
      this.lanes.set(subject, l);
    }
    return l;
  }

  push(l: Lane, e: Envelope): void {
    if (this.total >= this.capacity) this.dropFromLongest();
    if (size(l) === 0 && l.dropped === 0) this.ready.push(l);
    l.items.push(e);
    this.total++;
  }

  /** Adds an envelope past the bound; for Tailrace's own notices, which are few and must not be lost to a flood. */
  pushUnbounded(l: Lane, e: Envelope): void {
    if (size(l) === 0 && l.dropped === 0) this.ready.push(l);
    l.items.push(e);
    this.total++;
  }

  private dropFromLongest(): void {
    let victim: Lane | undefined;
    for (let i = this.readyHead; i < this.ready.length; i++) {
      const l = this.ready[i] as Lane;
      if (!victim || size(l) > size(victim)) victim = l;
    }
    if (!victim || size(victim) === 0) return;
    const e = victim.items[victim.head] as Envelope;
    (victim.items as Array<Envelope | undefined>)[victim.head] = undefined;
    victim.head++;
    this.onDrop?.(e);
    victim.dropped++;
    this.total--;
    this.droppedTotal++;
    this.compact(victim);
  }

  private compact(l: Lane): void {
    if (l.head > 1024 && l.head * 2 > l.items.length) {
      l.items = l.items.slice(l.head);
      l.head = 0;
    }
  }

  /**
   * Takes up to `max` envelopes from the next lane in round-robin order. Returns undefined when empty.
   * `dropped` is how many that lane lost since the last take, so the caller can emit a notice.
   */
  take(max: number): { lane: Lane; batch: Envelope[]; dropped: number } | undefined {
    while (this.readyHead < this.ready.length) {
      const l = this.ready[this.readyHead] as Lane;
      (this.ready as Array<Lane | undefined>)[this.readyHead] = undefined;
      this.readyHead++;
      if (this.readyHead === this.ready.length) {
        this.ready = [];
        this.readyHead = 0;
      } else if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
        this.ready = this.ready.slice(this.readyHead);
        this.readyHead = 0;
      }
      const n = Math.min(max, size(l));
      const dropped = l.dropped;
      l.dropped = 0;
      if (n === 0 && dropped === 0) continue;
      const batch = l.items.slice(l.head, l.head + n);
      l.head += n;
      this.total -= n;
      if (size(l) === 0) {
        l.items = [];
        l.head = 0;
      } else {
        this.compact(l);
        this.ready.push(l);
      }
      return { lane: l, batch, dropped };
    }
    return undefined;
  }
}
