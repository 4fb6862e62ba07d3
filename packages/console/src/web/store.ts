/**
 * The lines the page holds: a bounded ring, oldest dropped first, so memory stays flat however long the page runs.
 * The DOM shows only the newest of them (view.ts); filters and downloads read from here.
 */
import type { Line } from "./envelope.js";

export interface Filter {
  /** Prefix of the source type (as the API's `source_type`), or "" for all. */
  sourceType: string;
  /** Exact instance id, or undefined for all. */
  instance: string | undefined;
  /** Case-insensitive text to highlight. */
  text: string;
  /** Show only lines that contain `text`. */
  onlyMatching: boolean;
}

export const NO_FILTER: Filter = { sourceType: "", instance: undefined, text: "", onlyMatching: false };

export function matches(f: Filter, l: Line): boolean {
  if (f.sourceType && !l.sourceType.startsWith(f.sourceType)) return false;
  if (f.instance !== undefined && l.instance !== f.instance) return false;
  if (f.onlyMatching && f.text && !`${l.head} ${l.text}`.toLowerCase().includes(f.text.toLowerCase())) return false;
  return true;
}

export class LineStore {
  private readonly ring: (Line | undefined)[];
  private start = 0;
  size = 0;
  /** Lines pushed out of the ring since the page opened. */
  evicted = 0;
  readonly sourceTypes = new Set<string>();
  readonly instances = new Set<string>();

  constructor(readonly capacity = 20_000) {
    this.ring = new Array(capacity);
  }

  push(lines: readonly Line[]): void {
    for (const l of lines) {
      if (this.size < this.capacity) {
        this.ring[(this.start + this.size) % this.capacity] = l;
        this.size++;
      } else {
        this.ring[this.start] = l;
        this.start = (this.start + 1) % this.capacity;
        this.evicted++;
      }
      if (l.sourceType) this.sourceTypes.add(l.sourceType);
      if (l.instance) this.instances.add(l.instance);
    }
  }

  clear(): void {
    this.ring.fill(undefined);
    this.start = 0;
    this.size = 0;
    this.sourceTypes.clear();
    this.instances.clear();
  }

  /** The newest `max` lines that match, oldest first. */
  newest(f: Filter, max: number): Line[] {
    const out: Line[] = [];
    for (let i = this.size - 1; i >= 0 && out.length < max; i--) {
      const l = this.ring[(this.start + i) % this.capacity] as Line;
      if (matches(f, l)) out.push(l);
    }
    return out.reverse();
  }

  /** Every held line that matches, oldest first. */
  all(f: Filter): Line[] {
    return this.newest(f, this.size);
  }
}

/** The lines as `cf logs` prints them, one a line, for the download. */
export function toText(lines: readonly Line[]): string {
  let s = "";
  for (const l of lines) s += `${l.head} ${l.text}\n`;
  return s;
}

/** Splits `text` around case-insensitive matches of `needle`: even indexes are plain, odd ones are matches. */
export function splitMatches(text: string, needle: string): string[] {
  if (!needle) return [text];
  // Lower-casing may change a string's length (e.g. "İ"); then match case-sensitively so indexes stay right.
  const folded = text.toLowerCase();
  const same = folded.length === text.length;
  const lower = same ? folded : text;
  const n = same ? needle.toLowerCase() : needle;
  const parts: string[] = [];
  let from = 0;
  for (;;) {
    const at = lower.indexOf(n, from);
    if (at < 0) break;
    parts.push(text.slice(from, at), text.slice(at, at + n.length));
    from = at + n.length;
  }
  parts.push(text.slice(from));
  return parts;
}
