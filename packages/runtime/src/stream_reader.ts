/**
 * A stream reader that heals itself: an ordered JetStream push consumer (no acks, in memory, R1) spoken on core NATS,
 * so that the doppler, not the client library, decides when the consumer is gone and makes a new one.
 *
 * On a cluster, the R1 consumer of an R3 stream lives on one node. When that node dies or freezes, nothing arrives
 * and nothing says so; the library's ordered consumer waits for two missed 30 s heartbeats and then retries in ways
 * that can stall for good (a `tailrace logs` follower that silently stopped). Here the consumer sends a heartbeat
 * every second; no delivery and no heartbeat for {@link STALL_MS} (or a gap in its delivery sequence, or a reconnect)
 * makes the reader drop it and create a new one from the stream sequence after the last one it delivered, retrying
 * with jittered backoff until JetStream answers. The listener sees every message once, in stream order, and each
 * recovery is logged: the reason when it is lost, and the pause and the server when it resumes.
 */
import { AckPolicy, DeliverPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { quickJetStream } from "./js_retry.js";
import type { Logger } from "./logger.js";

const NS_PER_MS = 1_000_000;
/** The consumer's idle heartbeat. */
export const HEARTBEAT_MS = 1000;
/** Silence after which the consumer counts as lost: three heartbeats, so a busy event loop is not mistaken for it. */
export const STALL_MS = 3 * HEARTBEAT_MS;
/** How long a heartbeating consumer may deliver nothing before the reader asks it whether it holds anything. */
const PROBE_MS = 5000;
// Capped at a second: a reader waits out an election (4-9 s on nats-server 2.9) and should try again soon after it.
const BACKOFF_MS = [100, 250, 500, 1000];

export type ReaderStart = { seq: number } | { time: Date } | "new" | "all" | "last_per_subject";

export interface ReaderMessage {
  subject: string;
  /** Stream sequence. */
  seq: number;
  data: Uint8Array;
  headers: MsgHdrs | undefined;
  /** Messages on the filter stored after this one, as the server saw it. */
  pending: number;
  /** When the stream stored it (ns since the epoch, as a double: exact to well under a microsecond). */
  timestampNanos: number;
}

export interface ReaderOptions {
  nc: NatsConnection;
  jsm: JetStreamManager;
  stream: string;
  /** The consumer's filter subject; empty for the whole stream. */
  filter: string;
  start: ReaderStart;
  /**
   * Called for each message, in stream order, each once. A returned promise holds the reader: later deliveries wait
   * in order and flow control is not answered until it settles, so the server stops sending (a replay at the pace
   * of a slow client).
   */
  onMessage: (m: ReaderMessage) => void | Promise<void>;
  /** Called once the reader has delivered everything stored when it started. */
  onCaughtUp?: () => void;
  logger: Logger;
  /** Names the reader in log lines, e.g. `tail feed tr.data.acme.app.*`. */
  what: string;
  /** The caller reports failures to make the first consumer itself (e.g. once per spell, not per attempt). */
  quietStart?: boolean;
  /**
   * Push flow control (default true). nats-server keeps only a small window of a flow-controlled consumer's bytes in
   * flight and waits for the reply to go on, so one consumer read by a busy process is paced by its event loop. A
   * reader whose listener never holds and that must keep up with a whole stream turns it off (the doppler's wide tail
   * feed); it then relies on its heartbeats, and a process too slow for the stream is cut off by the server as a slow
   * consumer and resumes where it was.
   */
  flowControl?: boolean;
}

/** The parts of a delivery's reply subject: `$JS.ACK.<stream>.<consumer>.<n>.<sseq>.<dseq>.<ts>.<pending>` (v1, 9 tokens) or v2. */
function ackInfo(reply: string): { sseq: number; dseq: number; pending: number; ts: number } | undefined {
  const t = reply.split(".");
  const o = t.length >= 12 ? 2 : 0;
  if (t.length < 9) return undefined;
  const sseq = Number(t[5 + o]);
  const dseq = Number(t[6 + o]);
  const pending = Number(t[8 + o]);
  const ts = Number(t[7 + o]);
  if (!Number.isSafeInteger(sseq) || !Number.isSafeInteger(dseq)) return undefined;
  return { sseq, dseq, pending: Number.isSafeInteger(pending) ? pending : 0, ts: Number.isFinite(ts) ? ts : Date.now() * 1e6 };
}

/**
 * The name of the node `node` if it holds a replica of the stream that is not current (a node back from a crash or
 * a freeze, still fetching what it missed). An R1 consumer reads its own node's copy, and there it can pass over
 * messages that have not arrived yet; a reader only keeps a consumer on the leader or a current replica. Undefined
 * when the placement is fine, or when it cannot be told (one server, or no answer: the reader's own checks decide).
 */
export async function replicaBehind(nc: NatsConnection, stream: string, node: string | undefined): Promise<string | undefined> {
  // A server that is not in a cluster has no replicas to fall behind.
  if (!node || !nc.info?.cluster) return undefined;
  // Asked with a short timeout: while the stream elects a leader nobody answers, and the consumer, just made, waits.
  const c = (await (await quickJetStream(nc)).streams.info(stream).catch(() => undefined))?.cluster;
  if (!c || c.leader === node) return undefined;
  const replica = c.replicas?.find((r) => r.name === node);
  return replica && !replica.current ? node : undefined;
}

export class StreamReader {
  /** Stream sequence of the last message delivered (or skipped by the start policy). */
  lastSeq = 0;
  /** Messages stored on the filter and not yet delivered, as of the last one delivered. */
  pending = 0;
  /** Consumers lost and made again since start. */
  recoveries = 0;
  /** Since when (ms) the reader has had no working consumer; 0 while it has one. */
  degradedSince = 0;
  caughtUp = false;
  private sub: Subscription | undefined;
  private consumerName = "";
  private lastDseq = 0;
  private lastActivity = 0;
  /** When a message was last delivered, or the consumer last shown to have nothing for us (ms). */
  private lastData = 0;
  private probing = false;
  private generation = 0;
  private stopped = false;
  private watchdog: NodeJS.Timeout | undefined;
  private stopStatus: (() => void) | undefined;
  /** While a listener holds the reader: deliveries and flow-control replies not yet handled, in order. */
  private held: Msg[] | undefined;
  /**
   * Deliveries of a consumer whose creation is not yet answered. They are handled once it is, and dropped with it
   * when the answer fails: a consumer nobody confirmed may sit on a replica that is still catching up, and what it
   * delivered would move {@link lastSeq} past messages it never had (seen: a tail missing 9,086 lines after a
   * node's freeze, while the drain had them all).
   */
  private unconfirmed: Msg[] | undefined;

  constructor(private readonly o: ReaderOptions) {}

  /**
   * Resolves once the first consumer exists, retrying while JetStream does not answer (a leader election) for up to
   * `timeoutMs`; after that it rejects and the reader is stopped. Later recoveries retry for as long as it runs.
   */
  async start(timeoutMs = 15_000): Promise<void> {
    await this.open(this.o.start, "start", Date.now() + timeoutMs);
    this.watchdog = setInterval(() => this.check(), HEARTBEAT_MS / 2);
    this.watchdog.unref();
    const status = this.o.nc.status() as AsyncIterable<{ type: string }> & { stop?: () => void };
    this.stopStatus = () => status.stop?.();
    void (async () => {
      for await (const s of status) {
        if (this.stopped) break;
        if (s.type !== "reconnect") continue;
        // A reader still making its consumer was asking a server that is gone: ask the new one now, not after its
        // backoff and the timeout of a request sent to the old one.
        if (this.degradedSince) void this.open(this.resumeFrom(), "NATS reconnected").catch(() => undefined);
        else this.lost("NATS reconnected", false);
      }
    })();
  }

  /** Drops the consumer and makes a new one after the last message delivered. */
  private lost(reason: string, warn = true): void {
    if (this.stopped || this.degradedSince) return;
    this.degradedSince = Date.now();
    const log = { reader: this.o.what, reason, consumer: this.consumerName, lastSeq: this.lastSeq };
    if (warn) this.o.logger.warn(log, "stream reader lost its consumer; making a new one");
    else this.o.logger.info(log, "stream reader making a new consumer");
    this.closeSub();
    // What a listener held back is dropped with its consumer: the new one delivers it again (it is after lastSeq),
    // and the new consumer's first deliveries must not queue behind a hold that belongs to the old one.
    this.held = undefined;
    void this.open(this.resumeFrom(), reason).catch(() => undefined);
  }

  /** Where a new consumer starts: after the last message delivered. */
  private resumeFrom(): ReaderStart {
    return this.lastSeq > 0 || this.o.start === "new" ? { seq: this.lastSeq + 1 } : this.o.start;
  }

  private check(): void {
    if (this.stopped || this.degradedSince || this.held) return;
    const silent = Date.now() - this.lastActivity;
    if (silent > STALL_MS) {
      this.lost(`no delivery and no heartbeat for ${Math.round(silent)} ms`);
      return;
    }
    // Heartbeats alone do not prove the consumer delivers: ask it now and then whether it holds anything for us.
    if (!this.probing && Date.now() - this.lastData > PROBE_MS) void this.probe();
  }

  /** A consumer that has messages for us, or sent some that never came, while it delivers nothing, is stuck. */
  private async probe(): Promise<void> {
    const name = this.consumerName;
    const gen = this.generation;
    this.probing = true;
    try {
      const ci = await this.o.jsm.consumers.info(this.o.stream, name);
      if (gen !== this.generation || this.stopped || this.held || this.degradedSince) return;
      const undelivered = ci.delivered.consumer_seq > this.lastDseq;
      if (ci.num_pending > 0 || undelivered) {
        // Give what is on the wire one more round before calling it stuck.
        if (Date.now() - this.lastData > 2 * PROBE_MS) {
          this.lost(
            `the consumer holds ${ci.num_pending} messages and delivered ${ci.delivered.consumer_seq - this.lastDseq} that never came`,
          );
        }
        return;
      }
      this.lastData = Date.now();
    } catch {
      // NATS is away or the consumer is gone; the heartbeats (or their absence) tell.
    } finally {
      this.probing = false;
    }
  }

  private closeSub(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
    const name = this.consumerName;
    // Best effort: an orphan also goes away on its own once nobody listens (inactive_threshold).
    if (name) this.o.jsm.consumers.delete(this.o.stream, name).catch(() => undefined);
    this.consumerName = "";
  }

  private policy(from: ReaderStart): Record<string, unknown> {
    if (from === "new") return { deliver_policy: DeliverPolicy.New };
    if (from === "all") return { deliver_policy: DeliverPolicy.All };
    if (from === "last_per_subject") return { deliver_policy: DeliverPolicy.LastPerSubject };
    if ("seq" in from) return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, from.seq) };
    return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: from.time.toISOString() };
  }

  private async open(from: ReaderStart, reason: string, giveUpAt = Number.POSITIVE_INFINITY): Promise<void> {
    const gen = ++this.generation;
    for (let attempt = 0; ; attempt++) {
      if (this.stopped || gen !== this.generation) return;
      // Deliveries may arrive before the answer to the create request does: they wait for it.
      this.lastDseq = 0;
      const early: Msg[] = [];
      this.unconfirmed = early;
      const inbox = createInbox((this.o.nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix);
      const sub = this.o.nc.subscribe(inbox, { callback: (_err, m) => this.onDelivery(gen, m) });
      try {
        // A consumer placed on a dead node is never answered: ask again soon (js_retry.ts, QUICK_TIMEOUT_MS).
        const ci = await (await quickJetStream(this.o.nc)).consumers.add(this.o.stream, {
          ...(this.o.filter ? { filter_subject: this.o.filter } : {}),
          deliver_subject: inbox,
          ack_policy: AckPolicy.None,
          flow_control: this.o.flowControl ?? true,
          idle_heartbeat: HEARTBEAT_MS * NS_PER_MS,
          mem_storage: true,
          num_replicas: 1,
          // A doppler that dies leaves its consumers behind; the server removes them once nobody listens.
          inactive_threshold: 10_000 * NS_PER_MS,
          ...this.policy(from),
        });
        if (this.stopped || gen !== this.generation) {
          sub.unsubscribe();
          this.o.jsm.consumers.delete(this.o.stream, ci.name).catch(() => undefined);
          return;
        }
        const behind = await replicaBehind(this.o.nc, this.o.stream, ci.cluster?.leader);
        if (behind) {
          sub.unsubscribe();
          this.o.jsm.consumers.delete(this.o.stream, ci.name).catch(() => undefined);
          throw new Error(`the consumer landed on ${behind}, a replica still catching up`);
        }
        if (this.stopped || gen !== this.generation) {
          sub.unsubscribe();
          this.o.jsm.consumers.delete(this.o.stream, ci.name).catch(() => undefined);
          return;
        }
        this.sub = sub;
        this.held = undefined;
        this.consumerName = ci.name;
        this.lastActivity = Date.now();
        this.lastData = Date.now();
        // With "new" or a start time, the server has skipped what came before: resume after that, not from 0. (What
        // it delivered already waits in `early`, so nothing on the wire is taken for a duplicate.)
        if (ci.delivered.consumer_seq === 0 && ci.delivered.stream_seq > this.lastSeq) this.lastSeq = ci.delivered.stream_seq;
        if (!this.caughtUp && ci.num_pending === 0) this.markCaughtUp();
        if (this.degradedSince) {
          const pausedMs = Date.now() - this.degradedSince;
          this.degradedSince = 0;
          this.recoveries++;
          this.o.logger.warn(
            {
              reader: this.o.what,
              reason,
              pausedMs,
              attempts: attempt + 1,
              fromSeq: this.lastSeq + 1,
              server: this.o.nc.info?.server_name,
              consumerOn: ci.cluster?.leader,
            },
            "stream reader resumed on a new consumer",
          );
        }
        // Now confirmed (and no longer degraded, so a gap among them makes a new consumer as it would later).
        this.unconfirmed = undefined;
        for (const m of early) this.onDelivery(gen, m);
        return;
      } catch (err) {
        sub.unsubscribe();
        // Only this attempt's own buffer: a newer open (after a reconnect) may have one of its own by now.
        if (this.unconfirmed === early) this.unconfirmed = undefined;
        if (this.stopped || gen !== this.generation) return;
        if (Date.now() > giveUpAt) {
          await this.stop();
          throw err;
        }
        if (!this.degradedSince) this.degradedSince = Date.now();
        const starting = giveUpAt !== Number.POSITIVE_INFINITY;
        this.o.logger.debug({ reader: this.o.what, err: (err as Error).message, attempt: attempt + 1 }, "stream reader attempt failed");
        if ((attempt === 0 || attempt % 10 === 9) && !(starting && this.o.quietStart)) {
          this.o.logger.warn(
            { reader: this.o.what, err: (err as Error).message, attempts: attempt + 1 },
            "stream reader cannot make its consumer yet; retrying",
          );
        }
        const base = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)] as number;
        await new Promise((r) => setTimeout(r, base / 2 + Math.random() * base));
      }
    }
  }

  private markCaughtUp(): void {
    if (this.caughtUp) return;
    this.caughtUp = true;
    this.o.onCaughtUp?.();
  }

  private onDelivery(gen: number, m: Msg): void {
    if (gen !== this.generation || this.stopped) return;
    this.lastActivity = Date.now();
    if (this.unconfirmed) {
      this.unconfirmed.push(m);
      return;
    }
    if (this.held) {
      this.held.push(m);
      return;
    }
    this.handle(gen, m);
  }

  /** Handles what arrived while the listener held the reader, until it holds again. */
  private release(gen: number): void {
    // A hold of a consumer since replaced: its queue went with it.
    if (gen !== this.generation) return;
    const q = this.held;
    this.held = undefined;
    this.lastActivity = Date.now();
    while (q?.length && gen === this.generation && !this.stopped) {
      this.handle(gen, q.shift() as Msg);
      if (this.held) {
        // Held again: what is left goes first.
        (this.held as Msg[]).unshift(...q);
        return;
      }
    }
  }

  private handle(gen: number, m: Msg): void {
    const h = m.headers;
    if (h && h.code === 100) {
      // Flow control asks for an empty reply; a heartbeat may carry a stalled flow control's subject.
      if (m.reply) m.respond();
      const stalled = h.get("Nats-Consumer-Stalled");
      if (stalled) this.o.nc.publish(stalled);
      const lastConsumer = Number(h.get("Nats-Last-Consumer") || 0);
      if (lastConsumer > this.lastDseq) this.lost(`the consumer delivered ${lastConsumer - this.lastDseq} messages that never arrived`);
      return;
    }
    if (!m.reply) return;
    const info = ackInfo(m.reply);
    if (!info) return;
    if (info.dseq !== this.lastDseq + 1) {
      this.lost(`delivery ${info.dseq} where ${this.lastDseq + 1} was next: the consumer restarted or skipped`);
      return;
    }
    this.lastDseq = info.dseq;
    this.lastData = Date.now();
    // Never twice: a new consumer starts after the last message delivered.
    if (info.sseq <= this.lastSeq) return;
    this.lastSeq = info.sseq;
    this.pending = info.pending;
    const hold = this.o.onMessage({
      subject: m.subject,
      seq: info.sseq,
      data: m.data,
      headers: m.headers,
      pending: info.pending,
      timestampNanos: info.ts,
    });
    if (!this.caughtUp && info.pending === 0) this.markCaughtUp();
    if (hold) {
      this.held = [];
      hold.then(
        () => this.release(gen),
        () => this.release(gen),
      );
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    if (this.watchdog) clearInterval(this.watchdog);
    this.stopStatus?.();
    this.closeSub();
  }
}
