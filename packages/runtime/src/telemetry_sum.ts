import type { Labels, Observation } from "./telemetry.js";

/**
 * Turns totals read from live objects (a drain's stats, a limiter's refusals) into counters that never go backwards.
 *
 * - A label set whose total drops (its object was re-created) keeps what it had counted: the new total adds to it.
 * - A label set that disappears (its object is gone) stops being reported, and its last total stays in {@link total},
 *   so a sum over all of them never goes backwards either.
 */
export class MonotonicSum {
  private readonly last = new Map<string, { base: number; value: number }>();
  private retired = 0;

  /** Takes this scrape's totals; returns them made monotonic. */
  update(read: Iterable<Observation>): Observation[] {
    const seen = new Set<string>();
    const out: Observation[] = [];
    for (const [value, labels] of read) {
      const key = keyOf(labels);
      seen.add(key);
      let s = this.last.get(key);
      if (!s) {
        s = { base: 0, value };
        this.last.set(key, s);
      } else if (value < s.value) {
        s.base += s.value;
      }
      s.value = value;
      out.push([s.base + value, labels]);
    }
    for (const [key, s] of this.last) {
      if (seen.has(key)) continue;
      this.retired += s.base + s.value;
      this.last.delete(key);
    }
    return out;
  }

  /** Everything counted, by label sets present and gone. */
  get total(): number {
    let n = this.retired;
    for (const s of this.last.values()) n += s.base + s.value;
    return n;
  }
}

function keyOf(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join("\u0000");
}
