/**
 * How long the tails of this process gather envelopes into one frame: `baseMs` (TAILRACE_TAIL_FLUSH) while the event
 * loop keeps up, and longer while it is behind, so that an overloaded doppler writes fewer, fuller frames instead of
 * falling further behind.
 *
 * Why (issue 13, docs/BENCHMARKS.md "Tails at width"): a frame costs a `writev` whatever it carries (about 20 µs
 * here). 10,000 tails of apps that log 10 lines/s each get a line every 100 ms; written a frame a line, that is
 * 100,000 frames/s, two cores' worth of system calls, and the doppler fell seconds behind with every line delivered.
 * The pacer watches the event loop's lateness (a 50 ms tick) and stretches the gathering time by half while it is
 * more than {@link BEHIND_MS} late, shrinking it by a tenth a tick once it is on time again, between `baseMs` and
 * `maxMs`. An idle doppler's tails keep their few-ms latency.
 */
export const TICK_MS = 50;
/** Lateness of a tick that counts as behind. */
export const BEHIND_MS = 20;
/** Lateness under which the loop counts as on time. */
const ON_TIME_MS = 5;

export class FlushPacer {
  private delay: number;
  private timer: NodeJS.Timeout | undefined;
  private last = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs = 500,
  ) {
    this.delay = baseMs;
  }

  /** The gathering time (ms) a tail should use now. */
  get delayMs(): number {
    return Math.round(this.delay);
  }

  start(): this {
    this.last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      this.observe(now - this.last - TICK_MS);
      this.last = now;
    }, TICK_MS);
    this.timer.unref();
    return this;
  }

  /** One tick's lateness (ms). */
  observe(lateMs: number): void {
    if (lateMs > BEHIND_MS) this.delay = Math.min(this.maxMs, Math.max(this.delay, 1) * 1.5);
    else if (lateMs < ON_TIME_MS) this.delay = Math.max(this.baseMs, this.delay * 0.9);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
