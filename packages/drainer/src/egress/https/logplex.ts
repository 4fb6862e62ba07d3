/**
 * HTTPS drains with Logplex framing (https://devcenter.heroku.com/articles/log-drains#https-drains): a POST whose body
 * is octet-counted RFC 5424 messages, with `Content-Type: application/logplex-1`, `Logplex-Msg-Count` and
 * `Logplex-Frame-Id`. Batching, order, retries and drops are the HTTP writers' (../http/delivery.ts); a retry keeps
 * the batch's Frame-Id, so receivers can de-duplicate.
 */
import { randomUUID } from "node:crypto";
import type { AddressGuard } from "../../binding/guard.js";
import type { DrainTls } from "../../binding/tls.js";
import type { DrainUrl } from "../../binding/url.js";
import { octetFrame } from "../../format/octet.js";
import { HttpClient } from "../http/client.js";
import { type Batch, type DeliveryOptions, HttpDelivery, type Verdict, verdictOf } from "../http/delivery.js";
import type { DrainWriter } from "../writer.js";

export interface LogplexOptions extends DeliveryOptions {
  timeoutMs: number;
}

export class LogplexWriter implements DrainWriter {
  private readonly client: HttpClient;
  private readonly delivery: HttpDelivery<Buffer>;
  private readonly auth: string | undefined;
  private readonly frameIds = new WeakMap<Batch<Buffer>, string>();

  constructor(
    private readonly url: DrainUrl,
    guard: AddressGuard,
    tls: DrainTls | undefined,
    o: LogplexOptions,
  ) {
    this.client = new HttpClient({ secure: true, host: url.host, port: url.port }, guard, tls, o.timeoutMs);
    this.delivery = new HttpDelivery(o, (b) => this.post(b));
    const c = url.credentials;
    this.auth = c ? `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}` : undefined;
  }

  send(msgs: Buffer[], done: () => void): void {
    for (const m of msgs) {
      const f = octetFrame(m);
      this.delivery.add(f, f.length);
    }
    this.delivery.mark(done);
  }

  private async post(b: Batch<Buffer>): Promise<Verdict> {
    b.body ??= Buffer.concat(b.items, b.bytes);
    let id = this.frameIds.get(b);
    if (!id) this.frameIds.set(b, (id = randomUUID()));
    const res = await this.client.post(
      this.url.path,
      {
        "content-type": "application/logplex-1",
        "logplex-msg-count": b.items.length,
        "logplex-frame-id": id,
        ...(this.auth ? { authorization: this.auth } : {}),
      },
      b.body,
    );
    return verdictOf(res.status, res.headers, b.items.length, "messages");
  }

  async close(graceMs: number): Promise<void> {
    await this.delivery.close(graceMs);
    this.client.destroy();
  }
}
