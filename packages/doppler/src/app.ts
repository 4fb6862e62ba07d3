/**
 * The doppler's whole data path on one screen:
 *
 *   JetStream TAILRACE_DATA ──► FeedHub (an ordered consumer per tailed app, up to TAILRACE_TAIL_CONSUMERS;
 *                          │    then one on the whole stream, routed by subject) ──► Tail (bounded queue) ──► websocket
 *                          └──► readRecent (ephemeral consumer per request) ──► GET /api/v1/read/{source_id}
 *   KV tailrace_apps ──► AppRegistry (source_id → tenant) ──► access decisions
 */
import { jetstream } from "@nats-io/jetstream";
import { verifierFor } from "@tailrace/auth";
import { AddressGuard, DrainStore } from "@tailrace/drainer";
import {
  chooseReplicas,
  connectNats,
  type Logger,
  type NatsConnection,
  natsSecurity,
  openJetStream,
  serverTls,
  Telemetry,
} from "@tailrace/runtime";
import type { DopplerConfig } from "./config.js";
import { createDrainsApi } from "./http/drains.js";
import { Api } from "./http/server.js";
import { createTenantMetricsApi } from "./http/tenant_metrics.js";
import { FeedHub } from "./ingress/hub.js";
import { Limits } from "./limits.js";
import { TenantMetrics } from "./metrics/service.js";
import { AppRegistry } from "./store/apps.js";
import { ensureDataStream } from "./store/stream.js";

export class Doppler {
  private nc: NatsConnection | undefined;
  private hub: FeedHub | undefined;
  private registry: AppRegistry | undefined;
  private api: Api | undefined;
  private streamReady = false;
  private readonly limits: Limits;
  private readonly telemetry = new Telemetry("doppler");
  private tenantMetrics: TenantMetrics | undefined;
  /** The port actually bound (useful with port 0). */
  port = 0;

  constructor(
    private readonly config: DopplerConfig,
    private readonly logger: Logger,
  ) {
    this.limits = new Limits({
      tailsPerTenant: config.TAILRACE_MAX_TAILS_PER_TENANT,
      tailsPerAddress: config.TAILRACE_MAX_TAILS_PER_ADDRESS,
      requestsPerSec: config.TAILRACE_REQUEST_RATE,
    });
  }

  async start(): Promise<void> {
    const c = this.config;
    // Read the certificate first: a bad TLS setting should stop start-up before anything connects.
    const tls = serverTls(c.TAILRACE_TLS_CERT, c.TAILRACE_TLS_KEY);
    this.nc = await connectNats({ url: c.NATS_URL, name: "tailrace-doppler", logger: this.logger, security: natsSecurity(c, "doppler") });
    this.telemetry.watchNats(this.nc);
    this.telemetry.observeCounter(
      "tailrace.doppler.refused",
      "Requests and tails refused by a limit.",
      () => Object.entries(this.limits.refused).map(([reason, n]) => [n, { reason }] as const),
      false,
    );
    const js = jetstream(this.nc);
    const jsm = await openJetStream(this.nc, this.logger);
    const replicas = chooseReplicas(this.nc, c.TAILRACE_STREAM_REPLICAS, "TAILRACE_STREAM_REPLICAS", this.logger);
    await ensureDataStream(
      jsm,
      {
        perSubject: c.TAILRACE_RECENT_PER_APP,
        maxAgeMs: c.TAILRACE_RETENTION,
        maxBytes: c.TAILRACE_STREAM_MAX_BYTES,
        replicas,
      },
      this.logger,
    );
    this.streamReady = true;
    this.registry = new AppRegistry(this.nc, this.logger, jsm, replicas);
    await this.registry.start();
    this.hub = new FeedHub({ nc: this.nc, jsm }, this.logger, this.telemetry, { maxConsumers: c.TAILRACE_TAIL_CONSUMERS });
    this.tenantMetrics = new TenantMetrics({
      js,
      nc: this.nc,
      jsm,
      logger: this.logger,
      staleMs: c.TAILRACE_METRICS_STALENESS || 3 * c.TAILRACE_METRICS_INTERVAL,
      maxSeriesPerTenant: c.TAILRACE_METRICS_MAX_SERIES,
      telemetry: this.telemetry,
    });
    await this.tenantMetrics.start();
    const tenantMetrics = this.tenantMetrics;
    const nc = this.nc;
    const registry = this.registry;
    const verifier = verifierFor({
      secret: c.TAILRACE_JWT_SECRET,
      jwksUrl: c.TAILRACE_JWKS_URL,
      issuer: c.TAILRACE_JWT_ISSUER,
      audience: c.TAILRACE_JWT_AUDIENCE,
    });
    const drains = createDrainsApi({
      verifier,
      registry,
      store: await DrainStore.open(nc, replicas),
      guard: new AddressGuard(c.TAILRACE_DRAIN_ALLOW_CIDRS),
      logger: this.logger,
      maxPerApp: c.TAILRACE_DRAIN_MAX_PER_APP,
      maxPerTenant: c.TAILRACE_DRAIN_MAX_PER_TENANT,
      allowPlainOtlp: c.TAILRACE_DRAIN_ALLOW_PLAIN_OTLP,
    });
    this.api = new Api({
      nc,
      verifier,
      drains,
      registry,
      js,
      jsm,
      hub: this.hub,
      limits: this.limits,
      tenantMetrics: createTenantMetricsApi({ verifier, metrics: tenantMetrics, logger: this.logger, telemetry: this.telemetry }),
      telemetry: this.telemetry,
      logger: this.logger,
      ...(tls ? { tls } : {}),
      tailQueue: c.TAILRACE_TAIL_QUEUE,
      tailFlushMs: c.TAILRACE_TAIL_FLUSH,
      tailMaxBuffered: c.TAILRACE_TAIL_MAX_BUFFERED,
      tailHopelessMs: c.TAILRACE_TAIL_HOPELESS,
      ready: () => ({
        nats: !nc.isClosed() && nc.info !== undefined,
        stream: this.streamReady,
        apps: registry.ready,
        metrics: tenantMetrics.ready,
      }),
      status: () => this.status(),
      metrics: () => this.metricsText(),
    });
    this.port = await this.api.listen(c.TAILRACE_DOPPLER_PORT, c.TAILRACE_DOPPLER_HOST);
    this.logger.info({ port: this.port, host: c.TAILRACE_DOPPLER_HOST, tls: Boolean(tls) }, "doppler listening");
  }

  /**
   * Which NATS server this doppler is on, and whether any of its stream readers is without a consumer right now
   * (a NATS node lost, a leader being elected): it still serves, and the readers resume on their own.
   */
  private status(): Record<string, unknown> {
    const nc = this.nc;
    const since: Record<string, number> = {};
    const feeds = this.hub?.degraded;
    if (feeds?.feeds) since.tail_feeds = feeds.since;
    if (this.registry?.degradedSince) since.app_registry = this.registry.degradedSince;
    if (this.tenantMetrics?.degradedSince) since.tenant_metrics = this.tenantMetrics.degradedSince;
    const now = Date.now();
    return {
      nats: { server: nc?.info?.server_name ?? null, cluster: nc?.info?.cluster ?? null },
      degraded: Object.keys(since).length > 0,
      ...(Object.keys(since).length ? { degraded_for_ms: Object.fromEntries(Object.entries(since).map(([k, t]) => [k, now - t])) } : {}),
    };
  }

  private metricsText(): Promise<string> {
    return this.telemetry.text();
  }

  /** Closes tails (1001), stops feeds and drains the NATS connection. */
  async stop(): Promise<void> {
    await this.api?.close();
    await this.hub?.stop();
    await this.tenantMetrics?.stop();
    this.registry?.stop();
    await this.nc?.drain().catch(() => this.nc?.close());
    await this.telemetry.shutdown();
  }
}
