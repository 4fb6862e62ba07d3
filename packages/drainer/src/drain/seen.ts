/**
 * What the drains' feed has handed on lately, per app: the latest buffer timestamp of the app's batches, so that a
 * drain bound a moment ago can tell whether the feed has gone past any batch it must deliver. Usually it has not (the
 * binding reaches the drainer milliseconds after it is made), and the drain joins the feed at once instead of waiting
 * for a catch-up consumer: at 5,000 drains, a drain bound while the drainer was making the others' catch-up
 * consumers waited 21.6 s for its first line (issue 13).
 *
 * Two generations of `spanMs` each, so memory holds the apps that logged in the last one or two spans, not every app
 * ever seen. Times are the buffer's own (the stamps a catch-up by start time goes by), in nanoseconds.
 */
export class SeenApps {
  private current = new Map<string, number>();
  private older = new Map<string, number>();
  /** The first stamp of the current generation, and the latest in each. */
  private currentFrom = 0;
  private currentMax = 0;
  private olderMax = 0;
  /**
   * Nothing stamped after this can have gone by unnoted: it is the feed's first batch (the buffer's earlier batches
   * it never saw), or the latest stamp of a generation let go. 0 until the feed has handed on anything.
   */
  private horizon = 0;
  private readonly spanNs: number;

  constructor(spanMs = 15_000) {
    this.spanNs = spanMs * 1_000_000;
  }

  /** The feed handed on a batch of `app` stamped `tsNs`. */
  note(app: string, tsNs: number): void {
    if (this.currentFrom === 0) {
      this.currentFrom = tsNs;
      if (this.horizon === 0) this.horizon = tsNs;
    } else if (tsNs - this.currentFrom > this.spanNs) {
      this.horizon = Math.max(this.horizon, this.olderMax);
      this.older = this.current;
      this.olderMax = this.currentMax;
      this.current = new Map();
      this.currentFrom = tsNs;
      this.currentMax = 0;
    }
    if (tsNs > this.currentMax) this.currentMax = tsNs;
    const last = this.current.get(app);
    if (last === undefined || tsNs > last) this.current.set(app, tsNs);
  }

  /**
   * Whether the feed has handed on a batch of `app` stamped at or after `sinceNs`: false means none (every such batch
   * is still to come on the feed), true means at least one, and undefined that it cannot tell (`sinceNs` is older than
   * what it remembers, or the feed has handed on nothing yet).
   */
  passedSince(app: string, sinceNs: number): boolean | undefined {
    if (this.horizon === 0 || sinceNs <= this.horizon) return undefined;
    const last = Math.max(this.current.get(app) ?? 0, this.older.get(app) ?? 0);
    return last >= sinceNs;
  }
}
