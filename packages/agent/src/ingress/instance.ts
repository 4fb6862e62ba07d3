import { type Envelope, type LogType, lgrNotice, MAX_PAYLOAD_BYTES } from "@tailrace/envelope";
import type { Mark } from "../egress/mark.js";
import type { AppChannel } from "../egress/nats.js";
import { RateLimiter } from "../limit/rate.js";
import type { AgentCounters, SourceName } from "../telemetry/counters.js";
import { boundary } from "./lines.js";

/** Who an app instance is: where its envelopes go and how they are tagged. */
export interface InstanceInfo {
  tenant: string;
  app: string;
  /** `web`, `worker`, …: becomes `source_type` APP/PROC/WEB. */
  processType: string;
  instanceId: string;
  /** Bytes/s; 0 or less is no limit. */
  logRateLimit: number;
}

/** The Cloud Foundry source type for a process type: `web` → `APP/PROC/WEB`. */
export function sourceType(processType: string): string {
  return `APP/PROC/${processType.toUpperCase()}`;
}

/**
 * One app instance's way out: tags every log line, applies the instance's log rate limit, splits lines over
 * 64 KiB into parts marked `partial`, and counts the bytes that make up its `log_rate` metric.
 */
export class InstanceSink {
  readonly tags: Readonly<Record<string, string>>;
  private readonly partialTags: Readonly<Record<string, string>>;
  readonly limiter: RateLimiter;
  /** Log bytes accepted since start, for the `log_rate` gauge. */
  logBytes = 0;

  constructor(
    readonly info: InstanceInfo,
    readonly channel: AppChannel,
    private readonly counters: AgentCounters,
    private readonly source: SourceName,
  ) {
    this.tags = Object.freeze({
      tenant: info.tenant,
      app_name: info.app,
      source_type: sourceType(info.processType),
      process_type: info.processType,
    });
    this.partialTags = Object.freeze({ ...this.tags, partial: "true" });
    this.limiter = new RateLimiter(info.logRateLimit, (text) => {
      this.channel.write(lgrNotice(info.tenant, info.app, text, { instance_id: info.instanceId }));
    });
  }

  /** One complete log line (without its terminator). Returns false if the rate limit refused it. */
  log(payload: Buffer, type: LogType, timestamp: bigint, mark?: Mark): boolean {
    if (!this.limiter.allow(payload.length)) {
      this.counters.drop("rate_limit");
      return false;
    }
    this.logBytes += payload.length;
    let rest = payload;
    while (rest.length > MAX_PAYLOAD_BYTES) {
      const cut = boundary(rest, MAX_PAYLOAD_BYTES);
      this.emit(rest.subarray(0, cut), type, timestamp, this.partialTags, mark);
      rest = rest.subarray(cut);
    }
    this.emit(rest, type, timestamp, this.tags, mark);
    return true;
  }

  /** A part of a line the splitter already cut at 64 KiB (`partial` on all but the last). */
  logPart(payload: Buffer, type: LogType, timestamp: bigint, partial: boolean, mark?: Mark): void {
    if (!this.limiter.allow(payload.length)) {
      this.counters.drop("rate_limit");
      return;
    }
    this.logBytes += payload.length;
    this.emit(payload, type, timestamp, partial ? this.partialTags : this.tags, mark);
  }

  private emit(payload: Buffer, type: LogType, timestamp: bigint, tags: Readonly<Record<string, string>>, mark?: Mark): void {
    this.counters.ingress(this.source, payload.length);
    const e: Envelope = { timestamp, sourceId: this.info.app, instanceId: this.info.instanceId, tags, log: { payload, type } };
    this.channel.write(e, mark);
  }

  /** Any other envelope for this instance (metrics). */
  write(e: Envelope): void {
    this.counters.ingress("metrics", 0);
    this.channel.write(e);
  }
}
