/**
 * The drainer's whole data path on one screen:
 *
 *   TAILRACE_DATA ──source (tr.data.<tenant>.<app>.log|*)──► drain stream TAILRACE_DRAIN_<hash>_LOG|_ALL per app
 *   KV tailrace_drains ──watch──► DrainRunner per binding ──lease (KV tailrace_drain_leases, TTL)──► Pipeline:
 *     durable pull consumer on the app's drain stream ──► RFC 5424 ──► writer
 *     (syslog TCP / syslog-tls / https logplex) ──► ack in order once delivered; LGR notices to tr.data.<tenant>.<app>.log
 */
import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import { hostname } from "node:os";
import { jetstream } from "@nats-io/jetstream";
import type { KvWatchEntry } from "@nats-io/kv";
import { chooseReplicas, connectNats, type Logger, type NatsConnection, natsSecurity, openJetStream, Telemetry } from "@tailrace/runtime";
import { AddressGuard } from "./binding/guard.js";
import { parseDrainUrl } from "./binding/url.js";
import type { DrainerConfig } from "./config.js";
import { deleteConsumer, deleteOrphans } from "./drain/consumer.js";
import { DrainRunner, type RunnerDeps } from "./drain/runner.js";
import type { DrainStats } from "./drain/stats.js";
import { type DrainScope, deleteDrainStream, drainStreamName, listDrainStreams, scopeOf } from "./drain/stream.js";
import { startHttp } from "./http.js";
import { type Binding, bindingKey, DrainStore, parseBinding } from "./store/bindings.js";
import { Leases } from "./store/leases.js";

const STOP_GRACE_MS = 5000;

/** The drain stream a binding reads; undefined for a binding whose URL no longer parses (it has no runner). */
function streamOf(b: Binding): string | undefined {
  let scope: DrainScope;
  try {
    scope = scopeOf(parseDrainUrl(b.url).drainData);
  } catch {
    return undefined;
  }
  return drainStreamName(b.tenant, b.sourceId, scope);
}

export class Drainer {
  readonly id: string;
  private nc: NatsConnection | undefined;
  private deps: RunnerDeps | undefined;
  private store: DrainStore | undefined;
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
    const jsm = await openJetStream(this.nc, log);
    const replicas = chooseReplicas(this.nc, c.TAILRACE_DRAIN_STREAM_REPLICAS, "TAILRACE_DRAIN_STREAM_REPLICAS", log);
    const store = await DrainStore.open(this.nc, replicas);
    this.store = store;
    const leases = await Leases.open(this.nc, c.TAILRACE_DRAIN_LEASE_TTL, replicas);
    this.deps = {
      nc: this.nc,
      js: jetstream(this.nc),
      jsm,
      leases,
      guard: new AddressGuard(c.TAILRACE_DRAIN_ALLOW_CIDRS),
      logger: log,
      owner: this.id,
      noticeIntervalMs: c.TAILRACE_DRAIN_NOTICE_INTERVAL,
      unservedAfterMs: c.TAILRACE_DRAIN_UNSERVED_AFTER,
      pipeline: { window: c.TAILRACE_DRAIN_WINDOW, retentionMs: c.TAILRACE_DRAIN_RETENTION, maxBacklog: c.TAILRACE_DRAIN_MAX_BACKLOG },
      writer: {
        confirmMs: c.TAILRACE_DRAIN_CONFIRM,
        backoffMinMs: c.TAILRACE_DRAIN_BACKOFF_MIN,
        backoffMaxMs: c.TAILRACE_DRAIN_BACKOFF_MAX,
        httpBatchBytes: c.TAILRACE_DRAIN_HTTP_BATCH_BYTES,
        httpFlushMs: c.TAILRACE_DRAIN_HTTP_FLUSH,
        httpTimeoutMs: c.TAILRACE_DRAIN_HTTP_TIMEOUT,
      },
      streams: { maxAgeMs: c.TAILRACE_DRAIN_RETENTION, maxBytes: c.TAILRACE_DRAIN_MAX_BYTES, replicas },
      earliest: (b) => {
        const s = streamOf(b);
        let t = b.created;
        for (const r of this.runners.values()) if (r.binding.created < t && streamOf(r.binding) === s) t = r.binding.created;
        return t;
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
    this.deleteOrphans().catch((err) => this.logger.warn({ err: (err as Error).message }, "could not clean up removed drains"));
  }

  /** Deletes the drain streams and consumers of drains removed while no drainer ran. */
  private async deleteOrphans(): Promise<void> {
    const jsm = (this.deps as RunnerDeps).jsm;
    const bound = new Set([...this.runners.values()].map((r) => r.binding.id));
    const used = new Set([...this.runners.values()].map((r) => streamOf(r.binding)));
    let consumers = 0;
    for (const s of await listDrainStreams(jsm)) {
      if (used.has(s.name)) consumers += await deleteOrphans(jsm, s.name, bound);
      else await this.retireStream(s.tenant, s.sourceId, s.name);
    }
    if (consumers > 0) this.logger.info({ deleted: consumers }, "deleted consumers of removed drains");
  }

  /**
   * Deletes a drain stream no drain reads any more. The bucket, not this drainer's view of it, decides: a binding
   * another drainer is adding right now keeps the stream (and if it lands just after, its drain makes it again).
   */
  private async retireStream(tenant: string, sourceId: string, name: string): Promise<void> {
    for (const r of this.runners.values()) if (streamOf(r.binding) === name) return;
    const left = await (this.store as DrainStore).list(tenant, sourceId);
    if (left.some((b) => streamOf(b) === name)) return;
    await deleteDrainStream((this.deps as RunnerDeps).jsm, name);
    this.logger.info({ tenant, source_id: sourceId, stream: name }, "deleted the drain stream of an app without drains");
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
      if (old && streamOf(old.binding) !== streamOf(b)) await this.removed(old.binding);
      return;
    }
    if (old) {
      this.runners.delete(e.key);
      await old.stop(0);
      await this.removed(old.binding);
      this.logger.info({ drain: old.binding.id, url: old.stats.url }, "drain removed");
    }
  }

  /** Cleans up after a binding: its consumer, and its drain stream when it was the last drain reading it. */
  private async removed(b: Binding): Promise<void> {
    const stream = streamOf(b);
    if (!stream) return;
    const jsm = (this.deps as RunnerDeps).jsm;
    await deleteConsumer(jsm, stream, b).catch(() => undefined);
    await this.retireStream(b.tenant, b.sourceId, stream).catch((err) =>
      this.logger.warn({ drain: b.id, err: (err as Error).message }, "could not delete the drain stream"),
    );
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
