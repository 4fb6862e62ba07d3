/**
 * The log view. Lines arrive at any rate; the DOM is touched at most once per animation frame, and holds at most
 * `maxRows` rows (the oldest are removed), so the page stays responsive at thousands of lines a second. Rows are built
 * with text nodes only: a log line is never parsed as HTML.
 */
import type { Line } from "./envelope.js";
import { type Filter, LineStore, matches, NO_FILTER, splitMatches } from "./store.js";

export interface ViewStats {
  /** Rows appended to the DOM since the page opened. */
  rendered: number;
  /** Lines that arrived in one frame beyond what the DOM holds, so were never drawn (they stay in the store). */
  skipped: number;
  /** Frames in which the view drew something. */
  frames: number;
}

export class LogView {
  readonly store: LineStore;
  private pending: Line[] = [];
  private scheduled = false;
  private filter: Filter = NO_FILTER;
  private rows = 0;
  readonly stats: ViewStats = { rendered: 0, skipped: 0, frames: 0 };
  onRender: (() => void) | undefined;

  constructor(
    private readonly el: HTMLElement,
    readonly maxRows = 2_000,
    storeCapacity = 20_000,
  ) {
    this.store = new LineStore(storeCapacity);
  }

  get currentFilter(): Filter {
    return this.filter;
  }

  /** Adds lines to the store; they are drawn on the next animation frame. */
  push(lines: readonly Line[]): void {
    this.store.push(lines);
    for (const l of lines) this.pending.push(l);
    // Never hold more than a screenful in waiting: the rest is in the store and would be trimmed anyway.
    if (this.pending.length > this.maxRows * 2) {
      const drop = this.pending.length - this.maxRows;
      this.pending = this.pending.slice(drop);
      this.stats.skipped += drop;
    }
    this.schedule();
  }

  setFilter(f: Filter): void {
    this.filter = f;
    this.pending = [];
    this.el.replaceChildren();
    this.rows = 0;
    this.pending = this.store.newest(f, this.maxRows);
    this.schedule();
  }

  clear(): void {
    this.store.clear();
    this.pending = [];
    this.el.replaceChildren();
    this.rows = 0;
  }

  /** The lines the view holds under the current filter, oldest first (what "download" saves). */
  visibleLines(): Line[] {
    return this.store.all(this.filter);
  }

  /** Draws what is waiting for the next animation frame now: on pause, the screen must hold still from the click. */
  flush(): void {
    if (this.pending.length > 0) this.draw();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => this.draw());
  }

  private atBottom(): boolean {
    return this.el.scrollTop + this.el.clientHeight >= this.el.scrollHeight - 8;
  }

  private draw(): void {
    this.scheduled = false;
    let batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    batch = batch.filter((l) => matches(this.filter, l));
    if (batch.length > this.maxRows) {
      this.stats.skipped += batch.length - this.maxRows;
      batch = batch.slice(batch.length - this.maxRows);
    }
    const follow = this.atBottom();
    const frag = document.createDocumentFragment();
    for (const l of batch) frag.appendChild(this.row(l));
    this.el.appendChild(frag);
    this.rows += batch.length;
    let excess = this.rows - this.maxRows;
    while (excess-- > 0 && this.el.firstChild) {
      this.el.firstChild.remove();
      this.rows--;
    }
    this.stats.rendered += batch.length;
    this.stats.frames++;
    if (follow) this.el.scrollTop = this.el.scrollHeight;
    this.onRender?.();
  }

  private row(l: Line): HTMLElement {
    const div = document.createElement("div");
    div.className = `l ${l.cls}`;
    const head = document.createElement("span");
    head.className = "h";
    head.textContent = `${l.head} `;
    div.appendChild(head);
    const needle = this.filter.text;
    if (!needle) {
      div.appendChild(document.createTextNode(l.text));
      return div;
    }
    const parts = splitMatches(l.text, needle);
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as string;
      if (i % 2 === 1) {
        const mark = document.createElement("mark");
        mark.textContent = p;
        div.appendChild(mark);
      } else if (p) div.appendChild(document.createTextNode(p));
    }
    return div;
  }
}
