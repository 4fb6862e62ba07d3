/**
 * The doppler's whole data path on one screen:
 *
 *   JetStream TAILRACE_DATA ──► FeedHub (one ordered consumer per app in use) ──► Tail (bounded queue) ──► websocket
 *                          └──► readRecent (ephemeral consumer per request) ──► GET /api/v1/read/{source_id}
 *   KV tailrace_apps ──► AppRegistry (source_id → tenant) ──► access decisions
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { verifierFor } from "@tailrace/auth";
import { AddressGuard, DrainStore } from "@tailrace/drainer";
import { connectNats, type Logger, type NatsConnection, serverTls } from "@tailrace/runtime";
import type { DopplerConfig } from "./config.js";
import { createDrainsApi } from "./http/drains.js";
import { Api } from "./http/server.js";
import { FeedHub } from "./ingress/feed.js";
import { Limits } from "./limits.js";
import { AppRegistry } from "./store/apps.js";
import { ensureDataStream } from "./store/stream.js";

export class Doppler {
  private nc: NatsConnection | undefined;
  private hub: FeedHub | undefined;
  private registry: AppRegistry | undefined;
  private api: Api | undefined;
  private streamReady = false;
  private readonly limits: Limits;
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
    this.nc = await connectNats({ url: c.NATS_URL, name: "tailrace-doppler", logger: this.logger });
    const js = jetstream(this.nc);
    const jsm = await jetstreamManager(this.nc);
    await ensureDataStream(jsm, {
      perSubject: c.TAILRACE_RECENT_PER_APP,
      maxAgeMs: c.TAILRACE_RETENTION,
      maxBytes: c.TAILRACE_STREAM_MAX_BYTES,
      replicas: c.TAILRACE_STREAM_REPLICAS,
    });
    this.streamReady = true;
    this.registry = new AppRegistry(this.nc, this.logger);
    await this.registry.start();
    this.hub = new FeedHub(js, this.logger);
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
      store: await DrainStore.open(nc, c.TAILRACE_STREAM_REPLICAS),
      guard: new AddressGuard(c.TAILRACE_DRAIN_ALLOW_CIDRS),
      logger: this.logger,
      maxPerApp: c.TAILRACE_DRAIN_MAX_PER_APP,
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
      logger: this.logger,
      ...(tls ? { tls } : {}),
      tailQueue: c.TAILRACE_TAIL_QUEUE,
      tailFlushMs: c.TAILRACE_TAIL_FLUSH,
      tailMaxBuffered: c.TAILRACE_TAIL_MAX_BUFFERED,
      tailHopelessMs: c.TAILRACE_TAIL_HOPELESS,
      ready: () => ({ nats: !nc.isClosed() && nc.info !== undefined, stream: this.streamReady, apps: registry.ready }),
      metrics: () => this.metricsText(),
    });
    this.port = await this.api.listen(c.TAILRACE_DOPPLER_PORT, c.TAILRACE_DOPPLER_HOST);
    this.logger.info({ port: this.port, host: c.TAILRACE_DOPPLER_HOST, tls: Boolean(tls) }, "doppler listening");
  }

  private metricsText(): string {
    let sent = this.api?.closedTotals.sent ?? 0;
    let dropped = this.api?.closedTotals.dropped ?? 0;
    for (const t of this.api?.tails ?? []) {
      sent += t.stats.sent;
      dropped += t.stats.dropped;
    }
    return [
      "# HELP tailrace_doppler_tails_open Websocket tails and firehose consumers open now.",
      "# TYPE tailrace_doppler_tails_open gauge",
      `tailrace_doppler_tails_open ${this.api?.tails.size ?? 0}`,
      "# HELP tailrace_doppler_envelopes_sent_total Envelopes written to websocket consumers.",
      "# TYPE tailrace_doppler_envelopes_sent_total counter",
      `tailrace_doppler_envelopes_sent_total{direction="egress"} ${sent}`,
      "# HELP tailrace_doppler_envelopes_dropped_total Envelopes dropped before reaching a consumer.",
      "# TYPE tailrace_doppler_envelopes_dropped_total counter",
      `tailrace_doppler_envelopes_dropped_total{direction="egress",reason="slow_consumer"} ${dropped}`,
      "# HELP tailrace_doppler_refused_total Requests and tails refused by a limit.",
      "# TYPE tailrace_doppler_refused_total counter",
      ...Object.entries(this.limits.refused).map(([reason, n]) => `tailrace_doppler_refused_total{reason="${reason}"} ${n}`),
      "",
    ].join("\n");
  }

  /** Closes tails (1001), stops feeds and drains the NATS connection. */
  async stop(): Promise<void> {
    await this.api?.close();
    await this.hub?.stop();
    this.registry?.stop();
    await this.nc?.drain().catch(() => this.nc?.close());
  }
}
