/** Where envelopes come into the agent. */
export const SOURCES = ["docker", "cri", "process", "syslog", "http", "otlp", "metrics"] as const;
export type SourceName = (typeof SOURCES)[number];

/** Why the agent dropped something. Buffer and foreign-app drops are counted by the publisher. */
/** `refused`: OTLP log records and data points an export sent that the agent does not take (its partial_success). */
export const DROP_REASONS = ["rate_limit", "malformed", "invalid_name", "unmapped", "oversize", "unauthorized", "refused"] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/**
 * The agent's own counters. Names are stable: /metrics renders them as `tailrace_agent_*` (see telemetry/prometheus.ts
 * and docs/AGENT.md), and an OpenTelemetry exporter may read the same fields later.
 */
export class AgentCounters {
  readonly ingressEnvelopes = Object.fromEntries(SOURCES.map((s) => [s, 0])) as Record<SourceName, number>;
  readonly ingressBytes = Object.fromEntries(SOURCES.map((s) => [s, 0])) as Record<SourceName, number>;
  readonly dropped = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;

  ingress(source: SourceName, bytes: number): void {
    this.ingressEnvelopes[source]++;
    this.ingressBytes[source] += bytes;
  }

  drop(reason: DropReason, n = 1): void {
    this.dropped[reason] += n;
  }
}
