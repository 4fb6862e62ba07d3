/**
 * Cloud Foundry's per-instance log rate limit, in bytes/s. A token bucket that holds at most one second of the
 * limit: short bursts pass, a sustained flood is cut to the limit. While lines are refused the instance gets, at most
 * once a second, the in-band notice `app instance exceeded log rate limit (N bytes/sec)`; every refused line is
 * counted.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private lastNotice = Number.NEGATIVE_INFINITY;
  /** Lines refused and their bytes, since start. */
  droppedLines = 0;
  droppedBytes = 0;

  constructor(
    /** Bytes per second; 0 or less means no limit. */
    readonly limit: number,
    private readonly notify: (text: string) => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = limit;
    this.last = now();
  }

  /** Whether a line of `bytes` may pass; refuses, counts and (at most once a second) notifies otherwise. */
  allow(bytes: number): boolean {
    if (this.limit <= 0) return true;
    const t = this.now();
    this.tokens = Math.min(this.limit, this.tokens + ((t - this.last) * this.limit) / 1000);
    this.last = t;
    if (this.tokens >= bytes) {
      this.tokens -= bytes;
      return true;
    }
    this.droppedLines++;
    this.droppedBytes += bytes;
    if (t - this.lastNotice >= 1000) {
      this.lastNotice = t;
      this.notify(`app instance exceeded log rate limit (${this.limit} bytes/sec)`);
    }
    return false;
  }
}
