/**
 * Tenant metrics, the doppler's side of `GET /v1/tenants/{tenant}/metrics`:
 *
 *   TAILRACE_DATA ──► MetricsConsumer (gauge, counter, timer; from now − staleness) ──► MetricsStore ──► renderTenant
 *                                                                     └── refusals ──► CardinalityNotices (LGR)
 */
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger, Telemetry } from "@tailrace/runtime";
import { MetricsConsumer } from "./consumer.js";
import { CardinalityNotices } from "./notices.js";
import { renderTenant } from "./render.js";
import { MetricsStore, type Refusal } from "./store.js";

export interface TenantMetricsOptions {
  /** Publishes the cardinality notices. */
  js: JetStreamClient;
  /** Read the stream. */
  nc: NatsConnection;
  jsm: JetStreamManager;
  logger: Logger;
  /** TAILRACE_METRICS_STALENESS: a series not updated for this long disappears; also the rebuild window. */
  staleMs: number;
  /** TAILRACE_METRICS_MAX_SERIES */
  maxSeriesPerTenant: number;
  /** At most one refusal notice per tenant per this long (default 1 min). */
  noticeIntervalMs?: number;
  /** How long start() waits for the rebuild before it returns anyway (default 10 s); `ready` tells when it is done. */
  catchUpTimeoutMs?: number;
  telemetry?: Telemetry;
}

export class TenantMetrics {
  readonly store: MetricsStore;
  private readonly consumer: MetricsConsumer;
  private readonly notices: CardinalityNotices;
  private readonly refusedBy = { cardinality: 0, type_conflict: 0 };
  private sweeper: NodeJS.Timeout | undefined;
  /** True once the stream's last staleness window has been read back: from then on answers are complete. */
  ready = false;

  constructor(private readonly o: TenantMetricsOptions) {
    this.notices = new CardinalityNotices(o.js, o.maxSeriesPerTenant, o.noticeIntervalMs ?? 60_000, o.logger);
    this.store = new MetricsStore({
      staleMs: o.staleMs,
      maxSeriesPerTenant: o.maxSeriesPerTenant,
      onRefuse: (r: Refusal) => {
        this.refusedBy[r.reason]++;
        this.notices.refused(r);
      },
    });
    const t = o.telemetry;
    this.consumer = new MetricsConsumer(
      { nc: o.nc, jsm: o.jsm },
      (tenant, batch) => {
        for (const e of batch) this.store.ingest(tenant, e);
      },
      o.logger,
      t
        ? {
            received: t.received("ingress", { consumer: "tenant_metrics" }),
            malformed: t.dropped("ingress", "malformed", { consumer: "tenant_metrics" }),
          }
        : undefined,
    );
    if (t) {
      t.lag("tenant_metrics", () => this.consumer.lag);
      t.observeGauge("tailrace.tenant_metrics.series", "Tenant metric series this doppler holds.", () => [[this.store.seriesCount(), {}]]);
      t.observeGauge("tailrace.tenant_metrics.tenants", "Tenants with metric series on this doppler.", () => [
        [this.store.tenantCount(), {}],
      ]);
      t.observeCounter("tailrace.tenant_metrics.refused", "Tenant metric samples refused: series bound reached, or a type conflict.", () =>
        Object.entries(this.refusedBy).map(([reason, n]) => [n, { reason }] as const),
      );
    }
  }

  /** Since when (ms) a metrics reader has had no working consumer; 0 while all have one. */
  get degradedSince(): number {
    return this.consumer.degradedSince;
  }

  async start(): Promise<void> {
    const o = this.o;
    let resolveCaughtUp: () => void = () => undefined;
    const caughtUp = new Promise<void>((r) => (resolveCaughtUp = r));
    await this.consumer.start(Date.now() - o.staleMs, () => {
      this.ready = true;
      this.notices.enabled = true;
      o.logger.info({ series: this.store.seriesCount(), tenants: this.store.tenantCount() }, "tenant metrics rebuilt from the stream");
      resolveCaughtUp();
    });
    this.notices.start();
    this.sweeper = setInterval(() => this.store.sweep(), Math.max(1000, Math.min(5000, Math.floor(o.staleMs / 3))));
    this.sweeper.unref();
    const timeoutMs = o.catchUpTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([caughtUp, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    if (!this.ready) o.logger.warn({ lag: this.consumer.lag }, "tenant metrics still rebuilding from the stream; answers may be partial");
  }

  /** The tenant's exposition (Prometheus text 0.0.4); "" when it has no fresh series. */
  render(tenant: string): Promise<string> {
    return renderTenant(this.store.snapshot(tenant));
  }

  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    this.notices.stop();
    await this.consumer.stop();
  }
}
