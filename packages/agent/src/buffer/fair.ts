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
  /** In the round-robin queue. */
  queued: boolean;
  /** A batch of it is being published: it is not taken again until {@link FairBuffer.release}. */
  held: boolean;
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
  /**
   * Lanes with something in them by how much, and the largest such size: a full buffer finds its victim at once. It
   * scanned every ready and held lane per envelope dropped, so an agent with 5,000 apps that fell behind spent its
   * time looking for victims and fell further behind (issue 13). Held lanes are in it too: a flooding app's lane is
   * held most of the time (a batch of it is always in flight) and must still pay for its own flood.
   */
  private readonly bySize = new Map<number, Set<Lane>>();
  private maxSize = 0;
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
      l = { subject, tenant, sourceId, items: [], head: 0, dropped: 0, queued: false, held: false };
      this.lanes.set(subject, l);
    }
    return l;
  }

  push(l: Lane, e: Envelope): void {
    if (this.total >= this.capacity) this.dropFromLongest();
    this.pushUnbounded(l, e);
  }

  /** Adds an envelope past the bound; for Tailrace's own notices, which are few and must not be lost to a flood. */
  pushUnbounded(l: Lane, e: Envelope): void {
    l.items.push(e);
    this.total++;
    this.resized(l, size(l) - 1);
    this.enqueue(l);
  }

  /** Files `l` under its size now, from under `was`. */
  private resized(l: Lane, was: number): void {
    const now = size(l);
    if (now === was) return;
    if (was > 0) {
      const set = this.bySize.get(was);
      set?.delete(l);
      if (set?.size === 0) this.bySize.delete(was);
    }
    if (now > 0) {
      let set = this.bySize.get(now);
      if (!set) {
        set = new Set();
        this.bySize.set(now, set);
      }
      set.add(l);
      if (now > this.maxSize) this.maxSize = now;
    }
  }

  /** The lane holding the most (the size only grows one at a time, so walking it down costs no more, over time). */
  private longest(): Lane | undefined {
    while (this.maxSize > 0) {
      const set = this.bySize.get(this.maxSize);
      if (set) return set.values().next().value;
      this.maxSize--;
    }
    return undefined;
  }

  /** The publish of `l`'s last batch is over (stored, or given up): its next batch may be taken. */
  release(l: Lane): void {
    if (!l.held) return;
    l.held = false;
    this.enqueue(l);
  }

  private enqueue(l: Lane): void {
    if (l.queued || l.held || (size(l) === 0 && l.dropped === 0)) return;
    l.queued = true;
    this.ready.push(l);
  }

  private dropFromLongest(): void {
    const victim = this.longest();
    if (!victim) return;
    const e = victim.items[victim.head] as Envelope;
    (victim.items as Array<Envelope | undefined>)[victim.head] = undefined;
    victim.head++;
    this.resized(victim, size(victim) + 1);
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
   * Puts envelopes taken from `l` back at its front, in their order (a batch too large for one NATS message, split):
   * they go out next, before anything newer of the lane.
   */
  giveBack(l: Lane, envelopes: Envelope[]): void {
    if (envelopes.length === 0) return;
    const was = size(l);
    l.items = envelopes.concat(l.items.slice(l.head));
    l.head = 0;
    this.total += envelopes.length;
    this.resized(l, was);
    this.enqueue(l);
  }

  /**
   * Takes up to `max` envelopes from the next lane in round-robin order (up to `burst` from a lane that holds more
   * than `max`: one backed up behind its batch in flight). Returns undefined when empty.
   * `dropped` is how many that lane lost since the last take, so the caller can emit a notice.
   *
   * With `hold`, the lane is held until {@link release}: no other batch of it is taken meanwhile, so batches of one
   * lane are published one after the other and a retried one cannot be stored after a newer one.
   */
  take(max: number, hold = false, burst = max): { lane: Lane; batch: Envelope[]; dropped: number } | undefined {
    while (this.readyHead < this.ready.length) {
      const l = this.ready[this.readyHead] as Lane;
      l.queued = false;
      (this.ready as Array<Lane | undefined>)[this.readyHead] = undefined;
      this.readyHead++;
      if (this.readyHead === this.ready.length) {
        this.ready = [];
        this.readyHead = 0;
      } else if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
        this.ready = this.ready.slice(this.readyHead);
        this.readyHead = 0;
      }
      const n = Math.min(size(l) > max ? Math.max(max, burst) : max, size(l));
      const dropped = l.dropped;
      l.dropped = 0;
      if (n === 0 && dropped === 0) continue;
      const batch = l.items.slice(l.head, l.head + n);
      l.head += n;
      this.total -= n;
      this.resized(l, size(l) + n);
      if (size(l) === 0) {
        l.items = [];
        l.head = 0;
      } else this.compact(l);
      if (hold) l.held = true;
      else this.enqueue(l);
      return { lane: l, batch, dropped };
    }
    return undefined;
  }
}
