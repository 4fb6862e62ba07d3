/**
 * HTTPS drains with Logplex framing (https://devcenter.heroku.com/articles/log-drains#https-drains): a POST whose body
 * is octet-counted RFC 5424 messages, with `Content-Type: application/logplex-1`, `Logplex-Msg-Count` and
 * `Logplex-Frame-Id`. A batch goes out at `batchBytes` or after `flushMs`, one request at a time, in order.
 *
 * - 2xx: delivered.
 * - 4xx other than 429: the receiver will never take it; the batch is dropped and reported.
 * - 429, 5xx, network and TLS errors: retried with capped, jittered backoff; the same Frame-Id lets receivers de-duplicate.
 */
import { randomUUID } from "node:crypto";
import { Agent, request } from "node:https";
import { rootCertificates } from "node:tls";
import type { AddressGuard } from "../../binding/guard.js";
import type { DrainTls } from "../../binding/tls.js";
import type { DrainUrl } from "../../binding/url.js";
import { octetFrame } from "../../format/octet.js";
import { checkLiteral, guardedLookup } from "../lookup.js";
import { Backoff, type DrainWriter, describeError, Sleeper, type WriterEvents } from "../writer.js";

export interface LogplexOptions {
  batchBytes: number;
  flushMs: number;
  timeoutMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  events: WriterEvents;
}

interface Batch {
  frames: Buffer[];
  bytes: number;
  count: number;
  dones: Array<() => void>;
  id: string;
}

const newBatch = (): Batch => ({ frames: [], bytes: 0, count: 0, dones: [], id: "" });

export class LogplexWriter implements DrainWriter {
  private cur = newBatch();
  private readonly queue: Batch[] = [];
  private timer: NodeJS.Timeout | undefined;
  private posting = false;
  private closed = false;
  private readonly agent: Agent;
  private readonly backoff: Backoff;
  private readonly sleeper = new Sleeper();
  private readonly auth: string | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly url: DrainUrl,
    private readonly guard: AddressGuard,
    tls: DrainTls | undefined,
    private readonly o: LogplexOptions,
  ) {
    this.backoff = new Backoff(o.backoffMinMs, o.backoffMaxMs);
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 1,
      ...(tls?.ca ? { ca: [...rootCertificates, tls.ca] } : {}),
      ...(tls?.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
    });
    const c = url.credentials;
    this.auth = c ? `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}` : undefined;
  }

  send(msgs: Buffer[], done: () => void): void {
    for (const m of msgs) {
      const f = octetFrame(m);
      if (this.cur.count > 0 && this.cur.bytes + f.length > this.o.batchBytes) this.seal();
      this.cur.frames.push(f);
      this.cur.bytes += f.length;
      this.cur.count++;
    }
    this.cur.dones.push(done);
    if (this.cur.bytes >= this.o.batchBytes) this.seal();
    else this.timer ??= setTimeout(() => this.seal(), this.o.flushMs);
  }

  private seal(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.cur.count === 0 && this.cur.dones.length === 0) return;
    this.cur.id = randomUUID();
    this.queue.push(this.cur);
    this.cur = newBatch();
    void this.post();
  }

  private async post(): Promise<void> {
    if (this.posting) return;
    this.posting = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const b = this.queue[0] as Batch;
        let outcome: "ok" | "drop" | "retry" = "ok";
        if (b.count > 0) {
          try {
            const status = await this.request(b);
            if (status >= 200 && status < 300) outcome = "ok";
            else if (status >= 400 && status < 500 && status !== 429) {
              outcome = "drop";
              this.o.events.rejected(b.count, `the receiver answered HTTP ${status}; ${b.count} messages dropped`);
            } else {
              outcome = "retry";
              this.o.events.error(`the receiver answered HTTP ${status}`);
            }
          } catch (err) {
            outcome = "retry";
            this.o.events.error(describeError(err));
          }
        }
        if (outcome === "retry") {
          this.o.events.retry();
          await this.sleeper.sleep(this.backoff.next());
          continue;
        }
        this.backoff.reset();
        this.queue.shift();
        for (const d of b.dones) d();
      }
    } finally {
      this.posting = false;
      if (this.queue.length === 0 && this.cur.dones.length === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private request(b: Batch): Promise<number> {
    checkLiteral(this.guard, this.url.host);
    const body = Buffer.concat(b.frames, b.bytes);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.url.host,
          port: this.url.port,
          path: this.url.path,
          method: "POST",
          agent: this.agent,
          lookup: guardedLookup(this.guard),
          timeout: this.o.timeoutMs,
          headers: {
            "content-type": "application/logplex-1",
            "content-length": body.length,
            "logplex-msg-count": b.count,
            "logplex-frame-id": b.id,
            "user-agent": "tailrace-drainer",
            ...(this.auth ? { authorization: this.auth } : {}),
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${this.o.timeoutMs} ms`)));
      req.on("error", reject);
      req.end(body);
    });
  }

  async close(graceMs: number): Promise<void> {
    this.seal();
    if ((this.queue.length > 0 || this.posting) && graceMs > 0) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), new Promise((r) => (t = setTimeout(r, graceMs)))]);
      clearTimeout(t);
    }
    this.closed = true;
    this.sleeper.wake();
    this.agent.destroy();
  }
}
