import type { JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { dataSubject, type Envelope, encodeBatch, type Kind, kindOf, lgrNotice } from "@tailrace/envelope";
import type { Logger } from "@tailrace/runtime";
import { FairBuffer, type Lane } from "../buffer/fair.js";
import { type AppClaims, AppOwnedElsewhereError } from "./claims.js";
import { Mark } from "./mark.js";

export interface PublisherOptions {
  /** Envelopes held in memory before the oldest are dropped. */
  bufferSize: number;
  /** Envelopes per NATS message. */
  maxBatch: number;
  /** How long a partial batch may wait (ms). */
  flushMs: number;
  /** Publishes awaiting their JetStream ack at once. */
  maxInFlight: number;
  /** Names this publisher's message ids, for JetStream de-duplication on retry. */
  agentId: string;
  logger: Logger;
  /** The most bytes one NATS message may carry (the server's `max_payload`, from the connection's INFO); 1 MiB if unknown. */
  maxPayload?: () => number | undefined;
  /**
   * The connection `js` publishes on. When it drops, the publishes awaiting an ack are sent again at once on the next
   * one: nats.js keeps a request whose message went to a lost server waiting for its whole timeout.
   */
  connection?: Pick<NatsConnection, "status">;
  /** How long a publish waits for its ack before it is sent again (ms); 5 s unless a test needs another. */
  publishTimeoutMs?: number;
}

/** A publish given up because the connection it went out on dropped; it is sent again after the reconnect. */
export class ConnectionLostError extends Error {
  override name = "ConnectionLostError";
  constructor() {
    super("the NATS connection dropped before JetStream acknowledged the batch");
  }
}

/** nats-server's default `max_payload`. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Room left in a message for its subject and headers (the message id). */
const HEADER_ROOM = 1024;
/**
 * A lane backed up behind its one batch in flight takes up to this many batches' worth at once (bytes permitting):
 * one busy app's throughput is a batch per publish round trip, so 512 lines a batch held one app to ~170,000 lines/s
 * on this machine once its batches stopped being pipelined (issue 13).
 */
const BURST_BATCHES = 4;

export interface PublisherStats {
  received: number;
  sent: number;
  /** All drops; the two fields below say why. */
  dropped: number;
  /** Dropped oldest-first because the buffer was full. */
  droppedBufferFull: number;
  /** Refused because the source_id belongs to another tenant. */
  droppedForeignApp: number;
  /** One envelope larger than a NATS message may be (the server's max_payload is set below the agent's line limit). */
  droppedOversize: number;
  batches: number;
  retries: number;
}

/** A publisher's counters before it has done anything. */
export function noPublisherStats(): PublisherStats {
  return { received: 0, sent: 0, dropped: 0, droppedBufferFull: 0, droppedForeignApp: 0, droppedOversize: 0, batches: 0, retries: 0 };
}

interface Pending {
  /** Held by this publish until it is stored or given up. */
  lane: Lane;
  subject: string;
  data: Uint8Array;
  msgID: string;
  count: number;
  /** Kept until the ack so marks can be released. */
  batch: Envelope[];
}

/** Per-app handle that knows its subjects, so the per-envelope path does no validation or string building. */
export class AppChannel {
  private readonly lanes = new Map<Kind, Lane>();
  constructor(
    private readonly pub: NatsPublisher,
    readonly tenant: string,
    readonly sourceId: string,
  ) {
    // Validates both names once; throws InvalidNameError for a bad one.
    dataSubject(tenant, sourceId, "log");
  }

  /**
   * Queues `e`; never blocks. With a `mark`, the mark settles once `e` (and everything else written under it) is
   * stored in JetStream or dropped.
   */
  write(e: Envelope, mark?: Mark): void {
    mark?.attach(e);
    const kind = kindOf(e);
    let lane = this.lanes.get(kind);
    if (!lane) {
      lane = this.pub.buffer.lane(dataSubject(this.tenant, this.sourceId, kind), this.tenant, this.sourceId);
      this.lanes.set(kind, lane);
    }
    this.pub.accept(lane, e);
  }
}

/** A stored batch's ack; above a loaded R3 cluster's slowest, so a slow ack is not taken for a failure. */
const PUBLISH_TIMEOUT_MS = 5000;
/**
 * The one batch that probes NATS while publishing backs off gives up sooner: during an election a probe that waits
 * the full 5 s for a leader that is gone kept the agent silent seconds after the new leader was up (bench/cluster.mjs:
 * the agent's pause was 9 s beside NATS's own 5.5 s).
 */
const PROBE_TIMEOUT_MS = 1000;
/**
 * Probes at most a second apart: one small request per agent a second costs NATS little, and an agent that slept 1-2 s
 * between 1.5 s probes resumed 1.8 s after a writer that retried at once (bench/cluster.mjs leader kill, issue 12).
 */
const BACKOFF_MAX_MS = 1000;

/**
 * The agent's egress: envelopes → fair bounded buffer → batches → JetStream publish with acks.
 *
 * - Writers never block: `write` only queues. A full buffer drops the oldest of the longest lane and says so in-band.
 * - Each batch carries a JetStream message id, so a batch retried after a lost ack is stored once.
 * - When a publish fails (no stream yet, NATS down), publishing pauses with capped, jittered backoff and the failed
 *   batches are sent again in their original order before anything newer.
 * - One lane (app and kind) has one batch in flight at a time; other lanes fill the window. Pipelining a lane let
 *   a batch that failed during a NATS fault be stored after newer ones that got through (hundreds of lines out of
 *   order per drill, issue 12): a drain delivers in stream order, so that was an order its receiver saw.
 */
export class NatsPublisher {
  readonly buffer: FairBuffer;
  readonly stats: PublisherStats = noPublisherStats();
  private inFlight = 0;
  private seq = 0;
  private retry: Pending[] = [];
  private backoffMs = 0;
  /** A backoff's probe is scheduled: failures until it runs are the same outage. */
  private backoffPending = false;
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  private readonly noticeLanes = new Map<string, Lane>();
  /** Settles when the connection drops: every publish in flight races it. */
  private dropped = droppedSignal();
  private stopStatus: (() => void) | undefined;

  constructor(
    private readonly js: JetStreamClient,
    private readonly claims: AppClaims,
    private readonly opts: PublisherOptions,
  ) {
    this.buffer = new FairBuffer(opts.bufferSize, (e) => Mark.release(e, true));
    if (opts.connection) this.watch(opts.connection);
  }

  /**
   * Why (issue 12, bench/cluster.mjs's leader kill): an agent on the killed node waited 5 s for the acks of the
   * batches it had sent there before it sent them again, and its lines reached the tails 8.9 s after the kill while a
   * writer on another node's were there after 3.3 s. A batch given up this way may have been stored: its retry carries
   * the same message id, and JetStream stores it once.
   */
  private watch(connection: Pick<NatsConnection, "status">): void {
    const status = connection.status() as AsyncIterable<{ type: string }> & { stop?: () => void };
    this.stopStatus = () => status.stop?.();
    void (async () => {
      for await (const s of status) {
        if (this.stopped) break;
        if (s.type !== "disconnect" && s.type !== "staleConnection") continue;
        const was = this.dropped;
        this.dropped = droppedSignal();
        was.drop();
      }
    })();
  }

  channel(tenant: string, sourceId: string): AppChannel {
    return new AppChannel(this, tenant, sourceId);
  }

  /** Claims `sourceId` for `tenant` now; rejects with {@link AppOwnedElsewhereError} if another tenant owns it. */
  claim(tenant: string, sourceId: string): Promise<void> {
    return this.claims.ensure(tenant, sourceId);
  }

  /** @internal Called by {@link AppChannel}. */
  accept(lane: Lane, e: Envelope): void {
    this.stats.received++;
    const before = this.buffer.droppedTotal;
    this.buffer.push(lane, e);
    const dropped = this.buffer.droppedTotal - before;
    this.stats.dropped += dropped;
    this.stats.droppedBufferFull += dropped;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.backoffMs > 0) return;
    this.scheduled = true;
    if (this.buffer.size >= this.opts.maxBatch) setImmediate(() => this.flush());
    else this.timer = setTimeout(() => this.flush(), this.opts.flushMs);
  }

  private flush(): void {
    this.scheduled = false;
    this.timer = undefined;
    while (this.inFlight < this.opts.maxInFlight) {
      const next = this.retry.shift() ?? this.nextBatch();
      if (!next) break;
      this.send(next);
    }
    this.checkIdle();
  }

  private nextBatch(): Pending | undefined {
    const taken = this.buffer.take(this.opts.maxBatch, true, this.opts.maxBatch * BURST_BATCHES);
    if (!taken) return undefined;
    const { lane, dropped } = taken;
    let batch = taken.batch;
    if (dropped > 0) {
      const text = `Tailrace agent dropped ${dropped} envelopes for this app: buffer full (${this.opts.bufferSize})`;
      this.opts.logger.warn({ tenant: lane.tenant, source_id: lane.sourceId, dropped }, "agent buffer full, dropped oldest");
      const notice = lgrNotice(lane.tenant, lane.sourceId, text);
      if (lane.subject.endsWith(".log")) batch = [...batch, notice];
      else this.buffer.pushUnbounded(this.noticeLane(lane), notice);
    }
    if (batch.length === 0) {
      this.buffer.release(lane);
      return this.nextBatch();
    }
    const fitted = this.fit(lane, batch);
    if (!fitted) {
      this.buffer.release(lane);
      return this.nextBatch();
    }
    return {
      lane,
      subject: lane.subject,
      data: fitted.data,
      msgID: `${this.opts.agentId}-${++this.seq}`,
      count: fitted.batch.length,
      batch: fitted.batch,
    };
  }

  /**
   * The batch encoded under the server's max_payload: a larger message is refused before it leaves this process, and
   * retrying it refused it forever (40 lines of 60 KB stopped the whole agent). Too large, the batch keeps its front
   * part and gives the rest back to the lane, which sends it next. One envelope too large on its own (a max_payload
   * set below the agent's 64 KiB line limit) is dropped, counted, and said in-band; undefined when nothing is left.
   */
  private fit(lane: Lane, batch: Envelope[]): { batch: Envelope[]; data: Uint8Array } | undefined {
    const limit = (this.opts.maxPayload?.() ?? DEFAULT_MAX_PAYLOAD) - HEADER_ROOM;
    let data = encodeBatch(batch);
    while (data.length > limit && batch.length > 1) {
      const keep = Math.max(1, Math.min(batch.length - 1, Math.floor(((batch.length * limit) / data.length) * 0.9)));
      this.buffer.giveBack(lane, batch.slice(keep));
      batch = batch.slice(0, keep);
      data = encodeBatch(batch);
    }
    if (data.length <= limit) return { batch, data };
    const [e] = batch as [Envelope];
    this.stats.dropped++;
    this.stats.droppedOversize++;
    Mark.release(e, true);
    this.opts.logger.warn(
      { tenant: lane.tenant, source_id: lane.sourceId, bytes: data.length, maxPayload: limit + HEADER_ROOM },
      "dropped an envelope larger than a NATS message may be",
    );
    const notice = lgrNotice(
      lane.tenant,
      lane.sourceId,
      `Tailrace agent dropped an envelope of ${data.length} bytes for this app: larger than NATS takes in one message (max_payload ${limit + HEADER_ROOM})`,
    );
    if (!lane.subject.endsWith(".log")) {
      this.buffer.pushUnbounded(this.noticeLane(lane), notice);
      return undefined;
    }
    return { batch: [notice], data: encodeBatch([notice]) };
  }

  private noticeLane(l: Lane): Lane {
    const subject = dataSubject(l.tenant, l.sourceId, "log");
    let lane = this.noticeLanes.get(subject);
    if (!lane) {
      lane = this.buffer.lane(subject, l.tenant, l.sourceId);
      this.noticeLanes.set(subject, lane);
    }
    return lane;
  }

  private send(p: Pending, timeout = this.opts.publishTimeoutMs ?? PUBLISH_TIMEOUT_MS): void {
    this.inFlight++;
    const parts = p.subject.split(".");
    const stored = this.claims
      .ensure(parts[2] as string, parts[3] as string)
      .then(() => this.js.publish(p.subject, p.data, { msgID: p.msgID, timeout }));
    Promise.race([stored, this.dropped.promise]).then(
      () => {
        this.inFlight--;
        this.stats.sent += p.count;
        this.stats.batches++;
        for (const e of p.batch) Mark.release(e, false);
        this.buffer.release(p.lane);
        this.backoffMs = 0;
        this.flush();
      },
      (err: Error) => {
        this.inFlight--;
        if (err instanceof AppOwnedElsewhereError) {
          // Not retryable: publishing would put this tenant's lines in another tenant's app.
          this.stats.dropped += p.count;
          this.stats.droppedForeignApp += p.count;
          for (const e of p.batch) Mark.release(e, true);
          this.buffer.release(p.lane);
          this.opts.logger.error({ err: err.message, dropped: p.count }, "refusing to publish for an app owned by another tenant");
          this.flush();
          return;
        }
        // The lane stays held: none of its newer batches goes out before this one is stored.
        this.stats.retries++;
        this.retry.push(p);
        // Keep the original order: retries go out in msg-id order.
        this.retry.sort((a, b) => Number(a.msgID.split("-").pop()) - Number(b.msgID.split("-").pop()));
        this.backoff(err);
      },
    );
  }

  private backoff(err: Error): void {
    // A publish that fails after stop() (its node was paused, then the connection closed) schedules nothing: a retry
    // loop would keep the process alive after its shutdown (`tailrace up --cluster`, a paused node, Ctrl-C; found by
    // the helper that built up --cluster in parallel).
    if (this.stopped) return;
    // A whole window of publishes fails at once when a node dies: that is one failure, not one per batch (which
    // doubled the wait up to its cap at once, and the agent slept seconds after the new leader was up).
    if (this.backoffPending) return;
    this.backoffPending = true;
    const was = this.backoffMs;
    this.backoffMs = Math.min(BACKOFF_MAX_MS, Math.max(100, this.backoffMs * 2));
    if (was === 0) this.opts.logger.warn({ err: err.message }, "publish to NATS failed; retrying with backoff");
    const wait = this.backoffMs / 2 + Math.random() * (this.backoffMs / 2);
    if (this.timer) clearTimeout(this.timer);
    this.scheduled = true;
    this.timer = setTimeout(() => {
      this.scheduled = false;
      this.backoffPending = false;
      if (this.stopped && this.retry.length === 0) return;
      // Probe with one batch; a success resets the backoff and reopens the window.
      const next = this.retry.shift();
      if (next) this.send(next, PROBE_TIMEOUT_MS);
      else this.flush();
    }, wait);
  }

  private checkIdle(): void {
    if (this.inFlight === 0 && this.retry.length === 0 && this.buffer.size === 0) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /**
   * Publishes everything buffered and waits for the acks, up to `timeoutMs`. Returns how many envelopes were still
   * unsent when it gave up (0 when all were stored).
   */
  async drain(timeoutMs: number): Promise<number> {
    if (this.timer && this.backoffMs === 0) {
      clearTimeout(this.timer);
      this.scheduled = false;
      this.timer = undefined;
    }
    if (this.backoffMs === 0) this.flush();
    const idle = new Promise<void>((r) => {
      this.idleWaiters.push(r);
      this.checkIdle();
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([idle, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    return this.buffer.size + this.retry.reduce((n, p) => n + p.count, 0);
  }

  async stop(timeoutMs = 5000): Promise<number> {
    const left = await this.drain(timeoutMs);
    this.stopped = true;
    this.stopStatus?.();
    if (this.timer) clearTimeout(this.timer);
    if (left > 0) this.opts.logger.error({ unsent: left }, "stopped with envelopes unsent");
    return left;
  }
}

/** A promise that rejects with {@link ConnectionLostError} on `drop()`, handled even while no publish races it. */
function droppedSignal(): { promise: Promise<never>; drop: () => void } {
  let drop = () => {};
  const promise = new Promise<never>((_, reject) => (drop = () => reject(new ConnectionLostError())));
  promise.catch(() => undefined);
  return { promise, drop };
}
