/**
 * Timer observations of one series over a sliding window, for a Prometheus summary.
 *
 * Why a window and not a cumulative histogram: timers are single events, so a cumulative count would be this
 * doppler's own tally since it started, and two dopplers behind one load balancer would report different counts.
 * Every doppler can rebuild the last window from the stream, so over a window they all agree. The window is cut
 * into slices aligned to wall-clock multiples of the slice length, by the envelope's timestamp (not arrival), so
 * the figures do not depend on when a doppler read them.
 *
 * Values go into log-scale buckets (each ×1.04 the last: quantiles within ±2 %), so memory is bounded by the range
 * of values, not their number.
 */

const GAMMA = 1.04;
const LOG_GAMMA = Math.log(GAMMA);
/** At or below this (seconds) a value counts as zero. */
const TINY = 1e-9;
export const SLICES = 5;

interface Slice {
  slot: number;
  buckets: Map<number, number>;
  zeros: number;
  count: number;
  sum: number;
  min: number;
  max: number;
}

export interface WindowFigures {
  count: number;
  sum: number;
  /** Quantile → value, for the quantiles asked. */
  quantiles: Array<[number, number]>;
}

export class TimerWindow {
  private readonly slices: Array<Slice | undefined> = new Array(SLICES);

  constructor(private readonly sliceMs: number) {}

  /** Adds one observation (seconds) made at `atMs`; ignored when older than the window kept so far. */
  observe(atMs: number, seconds: number): void {
    const slot = Math.floor(atMs / this.sliceMs);
    const i = slot % SLICES;
    let s = this.slices[i];
    if (!s || s.slot < slot) {
      s = { slot, buckets: new Map(), zeros: 0, count: 0, sum: 0, min: Number.POSITIVE_INFINITY, max: 0 };
      this.slices[i] = s;
    } else if (s.slot > slot) {
      return;
    }
    s.count++;
    s.sum += seconds;
    if (seconds < s.min) s.min = seconds;
    if (seconds > s.max) s.max = seconds;
    if (seconds <= TINY) s.zeros++;
    else {
      const b = Math.ceil(Math.log(seconds) / LOG_GAMMA);
      s.buckets.set(b, (s.buckets.get(b) ?? 0) + 1);
    }
  }

  private live(nowMs: number): Slice[] {
    const oldest = Math.floor(nowMs / this.sliceMs) - SLICES + 1;
    return this.slices.filter((s): s is Slice => s !== undefined && s.slot >= oldest);
  }

  /** True when nothing observed is inside the window at `nowMs`. */
  empty(nowMs: number): boolean {
    return this.live(nowMs).every((s) => s.count === 0);
  }

  figures(nowMs: number, qs: readonly number[]): WindowFigures {
    const live = this.live(nowMs);
    let count = 0;
    let sum = 0;
    let zeros = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    const merged = new Map<number, number>();
    for (const s of live) {
      count += s.count;
      sum += s.sum;
      zeros += s.zeros;
      min = Math.min(min, s.min);
      max = Math.max(max, s.max);
      for (const [b, n] of s.buckets) merged.set(b, (merged.get(b) ?? 0) + n);
    }
    const order = [...merged.keys()].sort((a, b) => a - b);
    const quantiles = qs.map((q): [number, number] => {
      if (count === 0) return [q, Number.NaN];
      // The value of rank ceil(q·count), 1-based, as Prometheus client libraries report.
      const rank = Math.max(1, Math.ceil(q * count));
      if (rank <= zeros) return [q, 0];
      let seen = zeros;
      let b = order.at(-1) as number;
      for (const i of order) {
        seen += merged.get(i) as number;
        if (seen >= rank) {
          b = i;
          break;
        }
      }
      // The bucket's midpoint, kept within what was observed (so one observation reads back exactly).
      return [q, Math.min(max, Math.max(min, (2 * GAMMA ** b) / (GAMMA + 1)))];
    });
    return { count, sum, quantiles };
  }
}
