/**
 * What the HTTP drain writers (Logplex, OTLP) share: items gathered into batches (sealed at `batchBytes`, after
 * `flushMs`, or when the kind of item changes, since one request carries one kind), posted one at a time and in
 * order, each retried until the receiver answers, and the `done` of every `send` called in the order sent.
 *
 * - A 2xx is delivered (a receiver may still report items it refused: `rejected` in the {@link Verdict}).
 * - A 4xx other than 429 will never be taken: the batch is dropped and reported (`rejected`, an LGR loss line).
 * - 429, 5xx, network and TLS errors are retried with capped, jittered backoff, waiting at least what a
 *   `Retry-After` asks (at most {@link RETRY_AFTER_MAX_MS}). Loss is never the writer's decision, only retention's.
 */
import type { IncomingHttpHeaders } from "node:http";
import { Backoff, describeError, Sleeper, type WriterEvents } from "../writer.js";

/** The longest a `Retry-After` may hold a drain back; the drain's retention still bounds the outage. */
export const RETRY_AFTER_MAX_MS = 5 * 60_000;

export interface Batch<T> {
  items: T[];
  bytes: number;
  kind: string;
  dones: Array<() => void>;
  /** What the writer made of the items for the first attempt, kept for the retries (e.g. the gzipped body). */
  body?: Buffer;
}

export type Verdict =
  | { outcome: "ok"; rejected?: { count: number; reason: string } }
  | { outcome: "drop"; reason: string }
  | { outcome: "retry"; reason: string; afterMs?: number };

export interface DeliveryOptions {
  batchBytes: number;
  flushMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  events: WriterEvents;
}

/** The common reading of an HTTP status; `what` names the items in the drop reason (e.g. "messages"). */
export function verdictOf(status: number, headers: IncomingHttpHeaders, count: number, what: string, detail = ""): Verdict {
  const why = `the receiver answered HTTP ${status}${detail ? `: ${detail}` : ""}`;
  if (status >= 200 && status < 300) return { outcome: "ok" };
  if (status >= 400 && status < 500 && status !== 429) return { outcome: "drop", reason: `${why}; ${count} ${what} dropped` };
  const afterMs = retryAfterMs(headers["retry-after"]);
  return { outcome: "retry", reason: why, ...(afterMs === undefined ? {} : { afterMs }) };
}

/** `Retry-After` in seconds or as an HTTP date (RFC 9110 10.2.3), as milliseconds from now; undefined when absent. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  const ms = /^\d{1,10}$/.test(v) ? Number(v) * 1000 : /^[A-Za-z]{3}, /.test(v) ? Date.parse(v) - now : Number.NaN;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), RETRY_AFTER_MAX_MS) : undefined;
}

const newBatch = <T>(kind = ""): Batch<T> => ({ items: [], bytes: 0, kind, dones: [] });

export class HttpDelivery<T> {
  private cur: Batch<T> = newBatch();
  private readonly queue: Batch<T>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private posting = false;
  private closed = false;
  private readonly backoff: Backoff;
  private readonly sleeper = new Sleeper();
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly o: DeliveryOptions,
    /** One attempt at one batch; a throw is a network or TLS error, retried. */
    private readonly deliver: (b: Batch<T>) => Promise<Verdict>,
  ) {
    this.backoff = new Backoff(o.backoffMinMs, o.backoffMaxMs);
  }

  /** Adds one item of `bytes` (an estimate will do) and `kind`. */
  add(item: T, bytes: number, kind = ""): void {
    if (this.cur.items.length > 0 && (this.cur.kind !== kind || this.cur.bytes + bytes > this.o.batchBytes)) this.seal();
    if (this.cur.items.length === 0) this.cur.kind = kind;
    this.cur.items.push(item);
    this.cur.bytes += bytes;
  }

  /** Ends one `send`: `done` is called once everything added so far is delivered (or dropped). */
  mark(done: () => void): void {
    this.cur.dones.push(done);
    if (this.cur.bytes >= this.o.batchBytes) this.seal();
    else this.timer ??= setTimeout(() => this.seal(), this.o.flushMs);
  }

  private seal(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.cur.items.length === 0 && this.cur.dones.length === 0) return;
    this.queue.push(this.cur);
    this.cur = newBatch();
    void this.post();
  }

  private async post(): Promise<void> {
    if (this.posting) return;
    this.posting = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const b = this.queue[0] as Batch<T>;
        let v: Verdict = { outcome: "ok" };
        if (b.items.length > 0) {
          try {
            v = await this.deliver(b);
          } catch (err) {
            v = { outcome: "retry", reason: describeError(err) };
          }
        }
        if (v.outcome === "retry") {
          this.o.events.error(v.reason);
          this.o.events.retry();
          await this.sleeper.sleep(Math.max(this.backoff.next(), v.afterMs ?? 0));
          continue;
        }
        if (v.outcome === "drop") this.o.events.rejected(b.items.length, v.reason);
        else if (v.rejected && v.rejected.count > 0) this.o.events.rejected(v.rejected.count, v.rejected.reason);
        this.backoff.reset();
        this.queue.shift();
        for (const d of b.dones) d();
      }
    } finally {
      this.posting = false;
      if (this.queue.length === 0 && this.cur.dones.length === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Waits up to `graceMs` for what is queued to be delivered, then stops; undelivered batches get no `done`. */
  async close(graceMs: number): Promise<void> {
    this.seal();
    if ((this.queue.length > 0 || this.posting) && graceMs > 0) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), new Promise((r) => (t = setTimeout(r, graceMs)))]);
      clearTimeout(t);
    }
    this.closed = true;
    this.sleeper.wake();
  }
}
