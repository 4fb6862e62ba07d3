/**
 * One drain binding as this drainer sees it. While the drain's shard is this drainer's (shards.ts), the runner runs
 * the drain's {@link Pipeline} from the drain's checkpointed cursor; when the shard goes, the pipeline stops, and the
 * next holder resumes from the cursor.
 */
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { dataSubject, encodeBatch, lgrNotice } from "@tailrace/envelope";
import type { Logger } from "@tailrace/runtime";
import type { AddressGuard } from "../binding/guard.js";
import { type DrainUrl, parseDrainUrl } from "../binding/url.js";
import { createEgress, type WriterSettings } from "../egress/factory.js";
import { type Binding, bindingKey } from "../store/bindings.js";
import { DrainStatusWriter } from "../store/status.js";
import type { Feed } from "./feed.js";
import { Notices } from "./notices.js";
import { Pipeline, type PipelineSettings, type Resume } from "./pipeline.js";
import type { Replays } from "./replay.js";
import type { Slots } from "./slots.js";
import type { DrainStats } from "./stats.js";

export interface RunnerDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  feed: Feed;
  slots: Slots;
  replays: Replays;
  guard: AddressGuard;
  logger: Logger;
  noticeIntervalMs: number;
  pipeline: PipelineSettings;
  writer: WriterSettings;
  /** How long set-up may keep failing before the drain counts as unserved (and its tenant and operator are told). */
  unservedAfterMs: number;
  /** TAILRACE_DRAIN_ALLOW_PLAIN_OTLP: run `otlp+http://` drains (a binding the API would refuse today is skipped). */
  allowPlainOtlp: boolean;
}

/** While a drain stays unserved, the operator's log is reminded this often (the tenant's LGR lines keep their own pace). */
const UNSERVED_REMINDER_MS = 10 * 60_000;

export class DrainRunner {
  readonly stats: DrainStats;
  private readonly url: DrainUrl;
  private readonly key: string;
  private readonly notices: Notices;
  private readonly log: Logger;
  private pipeline: Pipeline | undefined;
  /** The cursor the last pipeline left (0: none yet). */
  private lastCursor = 0;
  /** Since when set-up on NATS keeps failing (0: it does not), how often, and when the log last said so. */
  private failingSince = 0;
  private failures = 0;
  private toldAt = 0;

  constructor(
    readonly binding: Binding,
    private readonly d: RunnerDeps,
  ) {
    this.url = parseDrainUrl(binding.url, { allowPlainOtlp: d.allowPlainOtlp });
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
      catchups: 0,
      replays: 0,
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

  /** The stream sequence of the buffer this drain is delivered through (0 when it has not started). */
  get cursor(): number {
    return this.pipeline?.cursor ?? this.lastCursor;
  }

  get active(): boolean {
    return this.pipeline !== undefined;
  }

  /** Starts delivering, from `cursor` when the drain has one, else from the binding's creation. */
  activate(cursor: number | undefined): void {
    if (this.pipeline) return;
    const resume: Resume = cursor ? { cursor } : { since: this.binding.created };
    this.pipeline = this.newPipeline(resume);
    this.pipeline.start();
    this.stats.active = true;
    // From its binding: how long the binding took to get here (the watch of the bindings, the shard's lease).
    this.log.info(cursor ? { cursor } : { cursor: 0, boundMsAgo: Date.now() - this.binding.created }, "delivering the drain");
  }

  /** Delivers what is in flight (up to `graceMs`) and stops; returns the cursor to resume from. */
  async deactivate(graceMs: number): Promise<number> {
    const p = this.pipeline;
    this.pipeline = undefined;
    this.stats.active = false;
    this.stats.unserved = false;
    this.failingSince = 0;
    if (p) {
      await p.stop(graceMs);
      this.lastCursor = p.cursor;
    }
    return this.lastCursor;
  }

  /** Refreshes the lag figure (batches in flight plus what the catch-up has still to read). */
  refresh(): void {
    if (this.pipeline) this.stats.lag = this.pipeline.lag;
  }

  private newPipeline(resume: Resume): Pipeline {
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
    const egress = createEgress(this.url, this.binding.tls, this.d.guard, this.d.writer, events);
    return new Pipeline(
      this.binding,
      this.url,
      egress,
      this.stats,
      {
        nc: this.d.nc,
        jsm: this.d.jsm,
        feed: this.d.feed,
        slots: this.d.slots,
        replays: this.d.replays,
        logger: this.log,
        settings: this.d.pipeline,
        onLoss: (n) => this.notices.loss(n),
        trouble: (reason) => this.trouble(reason),
      },
      resume,
    );
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
        "drain cannot be served: NATS refuses its consumer; its tenant is told in the app's log stream",
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

  /** Stops for good: delivers what is in flight (up to `graceMs`) and sends a pending loss line. */
  async stop(graceMs: number): Promise<number> {
    const cursor = await this.deactivate(graceMs);
    this.notices.stop();
    return cursor;
  }
}
