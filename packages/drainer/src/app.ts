/**
 * The drainer's whole data path on one screen:
 *
 *   KV tailrace_drains ──watch──► DrainRunner per binding ──lease (KV tailrace_drain_leases, TTL)──► Pipeline:
 *     durable pull consumer on TAILRACE_DATA (filter tr.data.<tenant>.<app>.log|*) ──► RFC 5424 ──► writer
 *     (syslog TCP / syslog-tls / https logplex) ──► ack in order once delivered; LGR notices to tr.data.<tenant>.<app>.log
 */
import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import { hostname } from "node:os";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { KvWatchEntry } from "@nats-io/kv";
import { connectNats, type Logger, type NatsConnection, natsSecurity, Telemetry } from "@tailrace/runtime";
import { AddressGuard } from "./binding/guard.js";
import type { DrainerConfig } from "./config.js";
import { deleteConsumer, deleteOrphans } from "./drain/consumer.js";
import { DrainRunner, type RunnerDeps } from "./drain/runner.js";
import type { DrainStats } from "./drain/stats.js";
import { startHttp } from "./http.js";
import { type Binding, bindingKey, DrainStore, parseBinding } from "./store/bindings.js";
import { Leases } from "./store/leases.js";

const STOP_GRACE_MS = 5000;

export class Drainer {
  readonly id: string;
  private nc: NatsConnection | undefined;
  private deps: RunnerDeps | undefined;
  private readonly runners = new Map<string, DrainRunner>();
  private stopWatch: (() => void) | undefined;
  private server: Server | undefined;
  private watching = false;
  private readonly telemetry = new Telemetry("drainer");
  /** The port /healthz, /readyz and /metrics are on (useful with port 0). */
  port = 0;

  constructor(
    private readonly config: DrainerConfig,
    private readonly logger: Logger,
  ) {
    this.id = config.TAILRACE_DRAINER_ID || `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  }

  async start(): Promise<void> {
    const c = this.config;
    const log = this.logger.child({ drainer: this.id });
    this.nc = await connectNats({ url: c.NATS_URL, name: "tailrace-drainer", logger: this.logger, security: natsSecurity(c, "drainer") });
    this.telemetry.watchNats(this.nc);
    this.telemetry.observeDrains(() => this.stats());
    const jsm = await jetstreamManager(this.nc);
    const store = await DrainStore.open(this.nc);
    const leases = await Leases.open(this.nc, c.TAILRACE_DRAIN_LEASE_TTL);
    this.deps = {
      nc: this.nc,
      js: jetstream(this.nc),
      jsm,
      leases,
      guard: new AddressGuard(c.TAILRACE_DRAIN_ALLOW_CIDRS),
      logger: log,
      owner: this.id,
      noticeIntervalMs: c.TAILRACE_DRAIN_NOTICE_INTERVAL,
      pipeline: { window: c.TAILRACE_DRAIN_WINDOW, retentionMs: c.TAILRACE_DRAIN_RETENTION, maxBacklog: c.TAILRACE_DRAIN_MAX_BACKLOG },
      writer: {
        confirmMs: c.TAILRACE_DRAIN_CONFIRM,
        backoffMinMs: c.TAILRACE_DRAIN_BACKOFF_MIN,
        backoffMaxMs: c.TAILRACE_DRAIN_BACKOFF_MAX,
        httpBatchBytes: c.TAILRACE_DRAIN_HTTP_BATCH_BYTES,
        httpFlushMs: c.TAILRACE_DRAIN_HTTP_FLUSH,
        httpTimeoutMs: c.TAILRACE_DRAIN_HTTP_TIMEOUT,
      },
    };
    await this.watch(store);
    const http = await startHttp(
      c.TAILRACE_DRAINER_HOST,
      c.TAILRACE_DRAINER_PORT,
      () => this.checks(),
      () => this.telemetry.text(),
    );
    this.server = http.server;
    this.port = http.port;
    log.info({ port: this.port, drains: this.runners.size }, "drainer started");
  }

  /** Mirrors the bindings bucket: a runner per binding, started and stopped as bindings come and go. */
  private async watch(store: DrainStore): Promise<void> {
    const watch = await store.kv.watch({ key: ">" });
    this.stopWatch = () => watch.stop();
    let initial = (await store.kv.status()).values > 0;
    await new Promise<void>((resolve) => {
      void (async () => {
        for await (const e of watch) {
          await this.apply(e);
          if (initial && e.delta === 0) {
            initial = false;
            resolve();
          }
        }
      })();
      if (!initial) resolve();
    });
    this.watching = true;
    const bound = new Set([...this.runners.values()].map((r) => r.binding.id));
    deleteOrphans((this.deps as RunnerDeps).jsm, bound).then(
      (n) => n > 0 && this.logger.info({ deleted: n }, "deleted consumers of removed drains"),
      () => undefined, // no data stream yet: nothing to clean
    );
  }

  private async apply(e: KvWatchEntry): Promise<void> {
    const deps = this.deps as RunnerDeps;
    const old = this.runners.get(e.key);
    if (e.operation === "PUT") {
      const b = parseBinding(e.value);
      if (!b || bindingKey(b) !== e.key) {
        this.logger.warn({ key: e.key }, "ignoring an unreadable drain binding");
        return;
      }
      if (old && old.binding.url === b.url && old.binding.created === b.created) return;
      if (old) await old.stop(0);
      this.add(b, deps);
      return;
    }
    if (old) {
      this.runners.delete(e.key);
      await old.stop(0);
      await deleteConsumer(deps.jsm, old.binding).catch(() => undefined);
      this.logger.info({ drain: old.binding.id, url: old.stats.url }, "drain removed");
    }
  }

  private add(b: Binding, deps: RunnerDeps): void {
    let runner: DrainRunner;
    try {
      runner = new DrainRunner(b, deps);
    } catch (err) {
      // A binding the API would refuse today (e.g. written by an older version): skip it, loudly.
      this.logger.error({ drain: b.id, err: (err as Error).message }, "cannot run drain binding");
      return;
    }
    this.runners.set(bindingKey(b), runner);
    runner.start();
  }

  private checks(): Record<string, boolean> {
    const nc = this.nc;
    return { nats: nc !== undefined && !nc.isClosed(), bindings: this.watching };
  }

  /** Per-drain counters: sent, errors, retries, lag, lost. */
  stats(): DrainStats[] {
    return [...this.runners.values()].map((r) => ({ ...r.stats }));
  }

  /** Delivers what is in flight, hands every lease back, and closes the NATS connection. */
  async stop(): Promise<void> {
    this.stopWatch?.();
    const runners = [...this.runners.values()];
    this.runners.clear();
    await Promise.all(runners.map((r) => r.stop(STOP_GRACE_MS)));
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
    await this.nc?.drain().catch(() => this.nc?.close());
    await this.telemetry.shutdown();
  }
}
