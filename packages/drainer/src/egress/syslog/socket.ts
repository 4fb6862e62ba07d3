/**
 * Syslog over a stream socket (TCP or TLS) with RFC 6587 octet counting.
 *
 * Syslog has no acknowledgements, and a write callback only means the kernel has the bytes. So a write counts as
 * delivered (its `done` runs, and the drain acks the JetStream message) only once the connection has stayed up for
 * `confirmMs` after it. When a connection breaks, everything not yet confirmed is written again, in order, on the
 * next one: a receiver outage costs duplicates at worst, never lines.
 *
 * Backpressure is explicit: when `write()` returns false the writer waits for `drain` before writing more, and
 * the drain's in-flight window (JetStream max_ack_pending) stops new messages arriving meanwhile.
 */
import type { Socket } from "node:net";
import { Backoff, type DrainWriter, describeError, Sleeper, type WriterEvents } from "../writer.js";

/** Opens a connected (for TLS: handshaken) socket, or rejects with a user-facing error. */
export type Dial = () => Promise<Socket>;

interface Entry {
  buf: Buffer;
  done: () => void;
  /** Generation of the connection the entry was written on; -1 when not written on the current one. */
  gen: number;
  /** When the kernel took the bytes (0: not yet). */
  at: number;
}

export interface SocketWriterOptions {
  confirmMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  events: WriterEvents;
}

export class SocketWriter implements DrainWriter {
  private readonly entries: Entry[] = [];
  /** entries[0, written) have been written on the current connection. */
  private written = 0;
  private sock: Socket | undefined;
  private gen = 0;
  private pumping = false;
  private closed = false;
  private readonly backoff: Backoff;
  private readonly sleeper = new Sleeper();
  private readonly timer: NodeJS.Timeout;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly dial: Dial,
    private readonly o: SocketWriterOptions,
  ) {
    this.backoff = new Backoff(o.backoffMinMs, o.backoffMaxMs);
    this.timer = setInterval(() => this.confirm(), Math.max(10, Math.min(100, o.confirmMs / 4)));
    this.timer.unref();
  }

  /** `frames` are octet-counted messages already (format/frames.ts), written as they are, in order. */
  send(frames: Buffer[], done: () => void): void {
    const buf = frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames);
    this.entries.push({ buf, done, gen: -1, at: 0 });
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.closed && this.written < this.entries.length) {
        const sock = this.sock ?? (await this.connect());
        if (!sock) return;
        const e = this.entries[this.written++] as Entry;
        const gen = this.gen;
        e.gen = gen;
        e.at = 0;
        const ok = sock.write(e.buf, (err) => {
          if (!err && e.gen === gen) e.at = Date.now();
        });
        if (!ok) await drained(sock);
      }
    } finally {
      this.pumping = false;
    }
  }

  private async connect(): Promise<Socket | undefined> {
    while (!this.closed) {
      try {
        const sock = await this.dial();
        if (this.closed) {
          sock.destroy();
          return undefined;
        }
        this.gen++;
        this.written = 0;
        for (const e of this.entries) e.gen = -1;
        this.sock = sock;
        sock.setNoDelay(true);
        sock.setKeepAlive(true, 30_000);
        sock.on("data", () => {}); // receivers say nothing; read anyway so a chatty one cannot stall us
        sock.on("error", (err) => this.lost(sock, describeError(err)));
        sock.on("close", () => this.lost(sock, "the receiver closed the connection"));
        return sock;
      } catch (err) {
        this.o.events.error(describeError(err));
        this.o.events.retry();
        await this.sleeper.sleep(this.backoff.next());
      }
    }
    return undefined;
  }

  private lost(sock: Socket, reason: string): void {
    if (this.sock !== sock) return;
    this.sock = undefined;
    sock.destroy();
    this.gen++;
    this.written = 0;
    if (this.closed) return;
    if (this.entries.length > 0) {
      // Only a loss that strands messages is worth telling the app about; idle connections come and go.
      this.o.events.error(reason);
      this.o.events.retry();
      void this.pump();
    }
  }

  private confirm(): void {
    const now = Date.now();
    let n = 0;
    while (n < this.written) {
      const e = this.entries[n] as Entry;
      if (e.gen !== this.gen || e.at === 0 || now - e.at < this.o.confirmMs) break;
      n++;
    }
    if (n === 0) return;
    const ready = this.entries.splice(0, n);
    this.written -= n;
    this.backoff.reset();
    for (const e of ready) e.done();
    if (this.entries.length === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  async close(graceMs: number): Promise<void> {
    if (this.entries.length > 0 && graceMs > 0) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), new Promise((r) => (t = setTimeout(r, graceMs)))]);
      clearTimeout(t);
    }
    this.closed = true;
    clearInterval(this.timer);
    this.sleeper.wake();
    const sock = this.sock;
    this.sock = undefined;
    if (sock) {
      sock.end();
      // A receiver that never reads would keep the socket forever.
      setTimeout(() => sock.destroy(), 1000).unref();
    }
  }
}

function drained(sock: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      sock.off("drain", done);
      sock.off("close", done);
      resolve();
    };
    sock.on("drain", done);
    sock.on("close", done);
  });
}
