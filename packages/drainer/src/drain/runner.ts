/**
 * One drain binding as this drainer sees it: it competes for the drain's lease and, while it holds it, runs the
 * drain's {@link Pipeline}. Losing the lease (a partition, a stalled process) stops the pipeline at once without acking
 * more; the next holder resumes from the ack floor.
 */
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { dataSubject, encodeBatch, lgrNotice } from "@tailrace/envelope";
import type { Logger } from "@tailrace/runtime";
import type { AddressGuard } from "../binding/guard.js";
import { type DrainUrl, parseDrainUrl } from "../binding/url.js";
import { createWriter, type WriterSettings } from "../egress/factory.js";
import { type Binding, bindingKey } from "../store/bindings.js";
import type { Leases } from "../store/leases.js";
import { DrainStatusWriter } from "../store/status.js";
import { Notices } from "./notices.js";
import { Pipeline, type PipelineSettings } from "./pipeline.js";
import type { DrainStats } from "./stats.js";
import { type DrainStreamLimits, ensureDrainStream, scopeOf } from "./stream.js";

export interface RunnerDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  leases: Leases;
  guard: AddressGuard;
  logger: Logger;
  owner: string;
  noticeIntervalMs: number;
  pipeline: PipelineSettings;
  writer: WriterSettings;
  /** Limits of the drain streams: retention per app and scope. */
  streams: DrainStreamLimits;
  /** The earliest creation time among the bindings that share `b`'s drain stream: where a new stream starts. */
  earliest(b: Binding): number;
  /** How long set-up may keep failing before the drain counts as unserved (and its tenant and operator are told). */
  unservedAfterMs: number;
}

/** While a drain stays unserved, the operator's log is reminded this often (the tenant's LGR lines keep their own pace). */
const UNSERVED_REMINDER_MS = 10 * 60_000;

export class DrainRunner {
  readonly stats: DrainStats;
  private readonly url: DrainUrl;
  private readonly key: string;
  private readonly notices: Notices;
  private readonly log: Logger;
  private revision: number | undefined;
  /** Delivered and acked through this drain-stream sequence by an earlier pipeline of this runner. */
  private ackedThrough = 0;
  /** When the lease was last taken or renewed (ms). */
  private renewedAt = 0;
  /** Renewals fail because NATS does not answer (logged once per spell). */
  private renewFailing = false;
  private pipeline: Pipeline | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;
  /** Since when set-up on NATS keeps failing (0: it does not), how often, and when the log last said so. */
  private failingSince = 0;
  private failures = 0;
  private toldAt = 0;

  constructor(
    readonly binding: Binding,
    private readonly d: RunnerDeps,
  ) {
    this.url = parseDrainUrl(binding.url);
    this.key = bindingKey(binding);
    this.log = d.logger.child({ drain: binding.id, tenant: binding.tenant, source_id: binding.sourceId, url: this.url.anonymized });
    this.stats = {
      id: binding.id,
      tenant: binding.tenant,
      source_id: binding.sourceId,
      url: this.url.anonymized,
      active: false,
      sent: 0,
      errors: 0,
      retries: 0,
      lag: 0,
      lost: 0,
      unserved: false,
    };
    const status = new DrainStatusWriter(d.nc);
    this.notices = new Notices(
      (text) => this.notice(text),
      this.url.anonymized,
      d.noticeIntervalMs,
      (text) =>
        void status
          .record(this.key, text)
          .catch((err) => this.log.warn({ err: (err as Error).message }, "could not record the drain's last error")),
    );
  }

  start(): void {
    const every = Math.max(100, Math.floor(this.d.leases.ttlMs / 3));
    this.tick();
    this.timer = setInterval(() => this.tick(), every);
  }

  private tick(): void {
    if (this.ticking || this.stopped) return;
    this.ticking = this.leaseRound().finally(() => {
      this.ticking = undefined;
    });
  }

  private async leaseRound(): Promise<void> {
    if (this.revision === undefined) {
      const rev = await this.d.leases.acquire(this.key, this.d.owner);
      if (rev === undefined || this.stopped) {
        if (rev !== undefined) await this.d.leases.release(this.key, rev);
        return;
      }
      this.revision = rev;
      this.renewedAt = Date.now();
      this.stats.active = true;
      this.log.info("took the drain's lease; delivering");
      this.pipeline = this.newPipeline();
      this.pipeline.start();
      return;
    }
    let rev: number | undefined;
    try {
      rev = await this.d.leases.renew(this.key, this.d.owner, this.revision);
    } catch (err) {
      // NATS does not answer (a node lost, a leader being elected). The lease is ours until its TTL from the last
      // renewal; keep delivering inside it and stop before it ends, so two drainers never write one drain.
      const left = this.renewedAt + this.d.leases.ttlMs - Date.now();
      if (left > this.d.leases.ttlMs / 3) {
        if (!this.renewFailing)
          this.log.warn({ err: (err as Error).message, leaseLeftMs: left }, "cannot renew the drain's lease yet; retrying");
        this.renewFailing = true;
        return;
      }
      this.log.warn(
        { err: (err as Error).message },
        "cannot renew the drain's lease before it ends; delivery pauses until it is ours again",
      );
      this.renewFailing = true;
      rev = undefined;
    }
    if (rev !== undefined) {
      if (this.renewFailing) this.log.info("renewed the drain's lease again");
      this.renewFailing = false;
      this.renewedAt = Date.now();
      this.revision = rev;
      return;
    }
    if (!this.renewFailing) this.log.warn("the drain's lease is not ours any more; another drainer may deliver it now");
    this.renewFailing = false;
    this.revision = undefined;
    this.stats.active = false;
    this.stats.unserved = false;
    const p = this.pipeline;
    this.pipeline = undefined;
    await p?.stop(0);
    if (p) this.ackedThrough = p.ackedThrough;
  }

  private newPipeline(): Pipeline {
    const events = {
      error: (reason: string) => {
        this.stats.errors++;
        this.log.warn({ reason }, "drain delivery failed");
        this.notices.error(reason);
      },
      retry: () => {
        this.stats.retries++;
      },
      rejected: (count: number, reason: string) => {
        this.stats.errors++;
        this.stats.lost += count;
        this.log.warn({ reason, count }, "drain receiver refused messages");
        this.notices.error(reason);
        this.notices.loss(count);
      },
    };
    const writer = createWriter(this.url, this.binding.tls, this.d.guard, this.d.writer, events);
    return new Pipeline(this.binding, this.url, writer, this.stats, {
      js: this.d.js,
      jsm: this.d.jsm,
      logger: this.log,
      settings: this.d.pipeline,
      ensureStream: () => {
        const b = this.binding;
        return ensureDrainStream(this.d.jsm, b.tenant, b.sourceId, scopeOf(this.url.drainData), this.d.earliest(b), this.d.streams);
      },
      onLoss: (n) => this.notices.loss(n),
      ackedThrough: this.ackedThrough,
      trouble: (reason) => this.trouble(reason),
    });
  }

  /**
   * One line in the log when set-up first fails, not one per retry (issue 13: 1,000 unservable drains logged 18,311
   * retries in two minutes and told no one). A failure that outlasts `unservedAfterMs` is no hiccup: the drain counts
   * as unserved (a metric), the log says so once with the reason and every ten minutes after, and the tenant gets LGR
   * lines at the notices' pace.
   */
  private trouble(reason: string | undefined): void {
    const now = Date.now();
    if (reason === undefined) {
      if (this.stats.unserved) this.log.info({ failures: this.failures, forMs: now - this.failingSince }, "drain is served again");
      this.stats.unserved = false;
      this.failingSince = 0;
      this.failures = 0;
      return;
    }
    this.failures++;
    if (this.failingSince === 0) {
      this.failingSince = now;
      this.log.warn({ err: reason }, "drain consumer failed; retrying");
      return;
    }
    if (now - this.failingSince < this.d.unservedAfterMs) return;
    if (!this.stats.unserved || now - this.toldAt >= UNSERVED_REMINDER_MS) {
      this.toldAt = now;
      this.log.error(
        { err: reason, failures: this.failures, forMs: now - this.failingSince },
        "drain cannot be served: NATS refuses to set it up; its tenant is told in the app's log stream",
      );
    }
    this.stats.unserved = true;
    this.notices.error(`cannot be set up on NATS: ${reason}`);
  }

  private async notice(text: string): Promise<void> {
    const b = this.binding;
    try {
      await this.d.js.publish(
        dataSubject(b.tenant, b.sourceId, "log"),
        encodeBatch([lgrNotice(b.tenant, b.sourceId, text, { drain_id: b.id })]),
      );
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "could not publish a drain notice");
    }
  }

  /** Delivers what is in flight (up to `graceMs`), acks it, and hands the lease back so another drainer goes on at once. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.ticking;
    const p = this.pipeline;
    this.pipeline = undefined;
    await p?.stop(graceMs);
    this.notices.stop();
    // The acks must reach the server before another drainer reads the ack floor.
    await this.d.nc.flush().catch(() => undefined);
    if (this.revision !== undefined) await this.d.leases.release(this.key, this.revision);
    this.revision = undefined;
    this.stats.active = false;
  }
}
