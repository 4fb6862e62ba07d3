import { nowNs } from "@tailrace/envelope";
import type { Logger } from "@tailrace/runtime";
import type { NatsPublisher } from "../../egress/nats.js";
import type { AgentCounters } from "../../telemetry/counters.js";
import { InstanceSink } from "../instance.js";
import { logTypeOf, placeSyslog } from "./mapping.js";
import { parseSyslog } from "./parse.js";

const MAX_SINKS = 10_000;

/**
 * Turns one framed syslog message into a log envelope. Never throws: a malformed or unplaceable message is counted
 * and logged at debug (without its text, which may hold secrets), and the listener carries on.
 */
export class SyslogHandler {
  private readonly sinks = new Map<string, InstanceSink>();
  /** Messages accepted and refused, by reason, for tests and /metrics. */
  readonly stats = { accepted: 0, malformed: 0, unmapped: 0, invalidName: 0 };

  constructor(
    private readonly publisher: NatsPublisher,
    private readonly counters: AgentCounters,
    private readonly logger: Logger,
    private readonly o: { defaultTenant: string; logRateLimit: number },
  ) {}

  /** A TCP stream broke RFC 6587 framing; the framer has resynchronised. */
  framingError(err: Error): void {
    this.stats.malformed++;
    this.counters.drop("malformed");
    this.logger.debug({ transport: "tcp", err: err.message }, "syslog framing error");
  }

  handle(msg: Buffer, transport: "udp" | "tcp"): void {
    let m: ReturnType<typeof parseSyslog>;
    try {
      m = parseSyslog(msg);
    } catch (err) {
      this.stats.malformed++;
      this.counters.drop("malformed");
      this.logger.debug({ transport, err: (err as Error).message, bytes: msg.length }, "malformed syslog message");
      return;
    }
    const placed = placeSyslog(m, this.o.defaultTenant);
    if (!placed.ok) {
      if (placed.reason === "unmapped") this.stats.unmapped++;
      else this.stats.invalidName++;
      this.counters.drop(placed.reason);
      this.logger.debug({ transport, reason: placed.reason, hostname: m.hostname?.slice(0, 64) }, "refused a syslog message");
      return;
    }
    const i = placed.info;
    const key = `${i.tenant}\u0000${i.app}\u0000${i.processType}\u0000${i.instanceId}`;
    let sink = this.sinks.get(key);
    if (!sink) {
      // Bounded: a sender cycling through names must not grow this without limit.
      if (this.sinks.size >= MAX_SINKS) this.sinks.clear();
      sink = new InstanceSink(
        { ...i, logRateLimit: this.o.logRateLimit },
        this.publisher.channel(i.tenant, i.app),
        this.counters,
        "syslog",
      );
      this.sinks.set(key, sink);
    }
    this.stats.accepted++;
    // A line's terminator is not part of it: rsyslog's RFC 5424 templates end MSG with LF even in octet-counted
    // frames. A copy, because the message is a view into a socket buffer.
    let end = m.message.length;
    while (end > 0 && (m.message[end - 1] === 0x0a || m.message[end - 1] === 0x0d)) end--;
    sink.log(Buffer.from(m.message.subarray(0, end)), logTypeOf(m), m.timestampNs ?? nowNs());
  }
}
