/**
 * The per-instance log rate limit (TAILRACE_LOG_RATE_LIMIT, bytes/s) for OTLP logs, as every other log source of
 * the agent applies it: one token bucket per tenant, app and instance, lines over it dropped and counted, and the
 * instance told in-band at most once a second. An OTLP client also hears of it, in partial_success.
 */
import type { Envelope } from "@tailrace/envelope";
import { RateLimiter } from "../../limit/rate.js";
import type { Placement } from "./logs.js";

/** Instances remembered at once; past it the map starts over (a limiter is one second of state). */
const MAX_INSTANCES = 10_000;

export class InstanceRates {
  private readonly limiters = new Map<string, RateLimiter>();

  constructor(
    /** Bytes/s; 0 or less is no limit. */
    private readonly limit: number,
    private readonly notify: (p: Placement, text: string) => void,
  ) {}

  /** The envelopes within the instance's limit, and how many were not. */
  admit(p: Placement, envs: Envelope[]): { kept: Envelope[]; refused: number } {
    if (this.limit <= 0) return { kept: envs, refused: 0 };
    const key = `${p.tenant}\u0000${p.app}\u0000${p.instanceId}`;
    let limiter = this.limiters.get(key);
    if (!limiter) {
      if (this.limiters.size >= MAX_INSTANCES) this.limiters.clear();
      limiter = new RateLimiter(this.limit, (text) => this.notify(p, text));
      this.limiters.set(key, limiter);
    }
    const kept = envs.filter((e) => limiter.allow(e.log?.payload.length ?? 0));
    return { kept, refused: envs.length - kept.length };
  }
}
