/**
 * Tells a tenant, in its own stream, that its metrics hit the series bound: an LGR notice on the app's log subject,
 * at most one per tenant per interval. Every doppler sees the same refusals, so the notice's JetStream message id is
 * the tenant and the interval's number: the stream's duplicate window keeps exactly one, whichever doppler sent it.
 */
import type { JetStreamClient } from "@nats-io/jetstream";
import { dataSubject, encodeBatch, lgrNotice } from "@tailrace/envelope";
import type { Logger } from "@tailrace/runtime";
import type { Refusal } from "./store.js";

export class CardinalityNotices {
  private readonly pending = new Map<string, { first: Refusal; count: number }>();
  private readonly sentSlot = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** Off while the store is rebuilt from the stream: those refusals were told about when they happened. */
  enabled = false;

  constructor(
    private readonly js: JetStreamClient,
    private readonly maxSeries: number,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.flush(), Math.min(this.intervalMs, 5000));
    this.timer.unref();
  }

  refused(r: Refusal): void {
    const p = this.pending.get(r.tenant);
    if (p) p.count++;
    else this.pending.set(r.tenant, { first: r, count: 1 });
  }

  /** Sends one notice per tenant that had refusals, unless one went out in this interval. */
  flush(now = Date.now()): void {
    const slot = Math.floor(now / this.intervalMs);
    for (const [tenant, p] of this.pending) {
      if (!this.enabled || this.sentSlot.get(tenant) === slot) continue;
      this.pending.delete(tenant);
      this.sentSlot.set(tenant, slot);
      void this.send(tenant, slot, p.first, p.count);
    }
    if (!this.enabled) this.pending.clear();
  }

  private async send(tenant: string, slot: number, r: Refusal, count: number): Promise<void> {
    const what =
      r.reason === "cardinality"
        ? `this tenant's metrics reached ${this.maxSeries} series, the most allowed (TAILRACE_METRICS_MAX_SERIES)`
        : `metric ${r.family} already exists with another type`;
    const text = `Tailrace refused ${count} metric samples of new series: ${what}. Series already known keep updating. First refused: ${r.family} of instance ${r.labels.instance_id ?? ""}`;
    try {
      await this.js.publish(dataSubject(tenant, r.sourceId, "log"), encodeBatch([lgrNotice(tenant, r.sourceId, text)]), {
        msgID: `tailrace-metrics-refused.${tenant}.${slot}`,
      });
    } catch (err) {
      this.logger.warn({ tenant, err: (err as Error).message }, "could not publish a metrics refusal notice");
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
