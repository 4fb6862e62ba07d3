/**
 * The drainer's whole data path on one screen:
 *
 *   TAILRACE_DATA ──source (everything)──► TAILRACE_DRAINS, the drains' buffer (retention, per-app cap)
 *   KV tailrace_drains ──watch──► DrainRunner per binding, in one of 64 shards by its id
 *   KV tailrace_drain_leases: one holder per shard ──► the holder runs the shard's drains' Pipelines:
 *     one feed per drainer (every app) ──► per drain: encode ──► writer (syslog TCP / syslog-tls / https logplex / OTLP)
 *     a drain that falls behind reads its app on a catch-up consumer of its own until it is back on the feed
 *   KV tailrace_drain_cursors: each shard's drains' cursors, checkpointed every second; LGR notices to tr.data.<t>.<app>.log
 */
import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import { hostname } from "node:os";
import { jetstream } from "@nats-io/jetstream";
import type { KvWatchEntry } from "@nats-io/kv";
import {
  chooseReplicas,
  closeHttpServer,
  connectNats,
  type Logger,
  type NatsConnection,
  natsSecurity,
  openJetStream,
  Telemetry,
} from "@tailrace/runtime";
import { AddressGuard } from "./binding/guard.js";
import type { DrainerConfig } from "./config.js";
import { ensureDrainBuffer } from "./drain/buffer.js";
import { Feed } from "./drain/feed.js";
import { Replays } from "./drain/replay.js";
import { DrainRunner, type RunnerDeps } from "./drain/runner.js";
import { Shards, shardOf } from "./drain/shards.js";
import { Slots } from "./drain/slots.js";
import type { DrainStats } from "./drain/stats.js";
import { Backoff } from "./egress/writer.js";
import { startHttp } from "./http.js";
import { type Binding, bindingKey, DrainStore, parseBinding } from "./store/bindings.js";
import { Cursors } from "./store/cursors.js";
import { Leases } from "./store/leases.js";

const STOP_GRACE_MS = 5000;
const CHECKPOINT_EVERY_MS = 1000;
/** Catch-up consumers made at once: a takeover of thousands of drains asks NATS for them a few dozen at a time. */
const CATCHUPS_AT_ONCE = 32;
/** Reads of a shard's checkpoint before its drains go on without it (a timeout each: QUICK_TIMEOUT_MS or the KV's). */
const CURSOR_READS = 2;

export class Drainer {
  readonly id: string;
  private nc: NatsConnection | undefined;
  private deps: RunnerDeps | undefined;
  private feed: Feed | undefined;
  private shards: Shards | undefined;
  private cursors: Cursors | undefined;
  /** One runner per binding; those of the shards this drainer holds are active. */
  private readonly runners = new Map<string, DrainRunner>();
  /** What was last checkpointed per shard, so an idle shard costs no write. */
  private readonly written = new Map<number, string>();
  private checkpointTimer: NodeJS.Timeout | undefined;
  private checkpointing = false;
  private stopWatch: (() => void) | undefined;
  private server: Server | undefined;
  private watching = false;
  private stopping = false;
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
    const buffer = await ensureDrainBuffer(
      jsm,
      {
        maxAgeMs: c.TAILRACE_DRAIN_RETENTION,
        maxBytes: c.TAILRACE_DRAIN_MAX_BYTES,
        perApp: c.TAILRACE_DRAIN_PER_APP,
        maxConsumers: c.TAILRACE_DRAIN_MAX_CONSUMERS,
        replicas,
      },
      log,
    );
    const store = await DrainStore.open(this.nc, replicas);
    const leases = await Leases.open(this.nc, c.TAILRACE_DRAIN_LEASE_TTL, replicas);
    this.cursors = await Cursors.open(this.nc, buffer, replicas);
    this.feed = new Feed(this.nc, jsm, log);
    await this.feed.start();
    this.deps = {
      nc: this.nc,
      js: jetstream(this.nc),
      jsm,
      feed: this.feed,
      slots: new Slots(CATCHUPS_AT_ONCE),
      replays: new Replays({ nc: this.nc, jsm, logger: log, position: () => (this.feed as Feed).position }),
      guard: new AddressGuard(c.TAILRACE_DRAIN_ALLOW_CIDRS),
      logger: log,
      noticeIntervalMs: c.TAILRACE_DRAIN_NOTICE_INTERVAL,
      unservedAfterMs: c.TAILRACE_DRAIN_UNSERVED_AFTER,
      allowPlainOtlp: c.TAILRACE_DRAIN_ALLOW_PLAIN_OTLP,
      pipeline: {
        window: c.TAILRACE_DRAIN_WINDOW,
        retentionMs: c.TAILRACE_DRAIN_RETENTION,
        maxBacklog: c.TAILRACE_DRAIN_MAX_BACKLOG,
        perApp: c.TAILRACE_DRAIN_PER_APP,
      },
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
    this.shards = new Shards(leases, this.id, log, {
      taken: (s) => this.take(s),
      lost: (s) => this.lose(s),
      handOver: (s) => this.handOver(s),
    });
    this.shards.start();
    this.checkpointTimer = setInterval(() => void this.checkpoint(), CHECKPOINT_EVERY_MS);
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

  /** Mirrors the bindings bucket: a runner per binding, active while its shard is this drainer's. */
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
  }

  private runnersOf(shard: number): DrainRunner[] {
    return [...this.runners.values()].filter((r) => shardOf(r.binding.id) === shard);
  }

  private async take(shard: number): Promise<void> {
    const runners = this.runnersOf(shard);
    let err: Error | undefined;
    for (let attempt = 0; attempt < CURSOR_READS; attempt++) {
      try {
        const cursors = await (this.cursors as Cursors).read(shard);
        // A drain this drainer delivered past the checkpoint goes on from its own cursor: what it sent while the
        // checkpoint could not be written (its bucket's leader frozen, say) was sent, and sending it again is all a
        // stale checkpoint would add (the frozen-node drill: 13,000 of 48,000 lines again, in a shard lost and taken
        // back by the same drainer). What another holder did since is covered: the later of the two wins.
        for (const r of runners) r.activate(Math.max(cursors.get(r.binding.id) ?? 0, r.cursor) || undefined);
        if (runners.length > 0) this.logger.info({ shard, drains: runners.length }, "took a drain shard");
        return;
      } catch (e) {
        err = e as Error;
      }
    }
    // The checkpoint cannot be read now (its bucket's leader may be on a node that does not answer). A drain this
    // drainer delivered before goes on from its own cursor; the others wait for the checkpoint rather than start again
    // from their binding, which re-sent 15,000 to 33,000 lines of a drain in the frozen-node drill.
    const waiting = runners.filter((r) => r.cursor === 0);
    for (const r of runners) if (r.cursor > 0) r.activate(r.cursor);
    this.logger.warn(
      { shard, err: err?.message, drains: runners.length, waiting: waiting.length },
      "cannot read a drain shard's cursors yet; its drains go on from this drainer's own cursors, the others wait",
    );
    if (waiting.length > 0) void this.takeLater(shard, waiting);
  }

  /** Starts `waiting` from the shard's checkpoint once it can be read, for as long as the shard stays ours. */
  private async takeLater(shard: number, waiting: DrainRunner[]): Promise<void> {
    const backoff = new Backoff(500, 5000);
    for (;;) {
      await new Promise((r) => setTimeout(r, backoff.next()).unref());
      if (this.stopping || !this.shards?.holds(shard)) return;
      const cursors = await (this.cursors as Cursors).read(shard).catch(() => undefined);
      if (!cursors) continue;
      const live = waiting.filter((r) => this.runners.get(bindingKey(r.binding)) === r);
      for (const r of live) r.activate(cursors.get(r.binding.id));
      this.logger.info({ shard, drains: live.length }, "read a drain shard's cursors; its waiting drains start");
      return;
    }
  }

  private async lose(shard: number): Promise<void> {
    this.written.delete(shard);
    await Promise.all(this.runnersOf(shard).map((r) => r.deactivate(0)));
  }

  private async handOver(shard: number): Promise<void> {
    const runners = this.runnersOf(shard);
    await Promise.all(runners.map((r) => r.deactivate(STOP_GRACE_MS)));
    await this.writeShard(shard, runners).catch((err) =>
      this.logger.warn(
        { shard, err: (err as Error).message },
        "could not checkpoint a drain shard handed over; its next holder repeats a little",
      ),
    );
    this.written.delete(shard);
  }

  private async writeShard(shard: number, runners: DrainRunner[]): Promise<void> {
    const cursors = new Map<string, number>();
    for (const r of runners) if (r.cursor > 0) cursors.set(r.binding.id, r.cursor);
    const text = JSON.stringify([...cursors]);
    if (this.written.get(shard) === text) return;
    await (this.cursors as Cursors).write(shard, cursors);
    this.written.set(shard, text);
  }

  /** Writes the cursors of every held shard whose drains moved since the last time. */
  private async checkpoint(): Promise<void> {
    const shards = this.shards;
    if (this.checkpointing || !shards) return;
    this.checkpointing = true;
    try {
      const byShard = new Map<number, DrainRunner[]>();
      for (const r of this.runners.values()) {
        if (!r.active) continue;
        r.refresh();
        const s = shardOf(r.binding.id);
        if (!shards.holds(s)) continue;
        const list = byShard.get(s);
        if (list) list.push(r);
        else byShard.set(s, [r]);
      }
      await Promise.all([...byShard].map(([s, rs]) => this.writeShard(s, rs)));
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, "could not checkpoint drain cursors; retrying");
    } finally {
      this.checkpointing = false;
    }
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
      // A binding changed in place goes on from where its drain was.
      const cursor = old ? await old.stop(0) : 0;
      this.add(b, deps, cursor);
      return;
    }
    if (old) {
      this.runners.delete(e.key);
      await old.stop(0);
      this.logger.info({ drain: old.binding.id, url: old.stats.url }, "drain removed");
    }
  }

  private add(b: Binding, deps: RunnerDeps, cursor: number): void {
    let runner: DrainRunner;
    try {
      runner = new DrainRunner(b, deps);
    } catch (err) {
      // A binding the API would refuse today (e.g. written by an older version): skip it, loudly.
      this.logger.error({ drain: b.id, err: (err as Error).message }, "cannot run drain binding");
      return;
    }
    this.runners.set(bindingKey(b), runner);
    if (this.shards?.holds(shardOf(b.id))) runner.activate(cursor || undefined);
  }

  private checks(): Record<string, boolean> {
    const nc = this.nc;
    return { nats: nc !== undefined && !nc.isClosed(), bindings: this.watching, feed: this.feed !== undefined && !this.feed.degraded };
  }

  /** Per-drain counters: sent, errors, retries, lag, lost. */
  stats(): DrainStats[] {
    return [...this.runners.values()].map((r) => {
      r.refresh();
      return { ...r.stats };
    });
  }

  /** How many of the 64 drain shards this drainer holds. */
  get shardsHeld(): number {
    return this.shards?.count ?? 0;
  }

  /** Delivers what is in flight, checkpoints, hands every shard back, and closes the NATS connection. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopWatch?.();
    clearInterval(this.checkpointTimer);
    // Each shard's drains deliver what is in flight, its cursors are written, and its lease goes back.
    await this.shards?.stop();
    const runners = [...this.runners.values()];
    this.runners.clear();
    await Promise.all(runners.map((r) => r.stop(0)));
    await this.feed?.stop();
    if (this.server) await closeHttpServer(this.server);
    await this.nc?.drain().catch(() => this.nc?.close());
    await this.telemetry.shutdown();
  }
}
