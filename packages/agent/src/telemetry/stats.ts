import type { PublisherStats } from "../egress/nats.js";
import type { AgentCounters, DropReason, SourceName } from "./counters.js";

/** A snapshot of the agent's own telemetry; `Agent.stats()` returns it and /metrics renders it. */
export interface AgentStats {
  ingress: { envelopes: Record<SourceName, number>; bytes: Record<SourceName, number> };
  egress: { envelopes: number; batches: number; retries: number };
  /** By reason: the publisher's buffer_full and foreign_app, and the sources' own (oversize also the publisher's). */
  dropped: Record<DropReason | "buffer_full" | "foreign_app", number>;
  buffered: number;
  files: { open: number; lagBytes: number };
  metricsEmitted: number;
}

export function snapshot(
  c: AgentCounters,
  p: PublisherStats,
  buffered: number,
  files: { open: number; lagBytes: number },
  metricsEmitted: number,
): AgentStats {
  return {
    ingress: { envelopes: { ...c.ingressEnvelopes }, bytes: { ...c.ingressBytes } },
    egress: { envelopes: p.sent, batches: p.batches, retries: p.retries },
    dropped: {
      ...c.dropped,
      buffer_full: p.droppedBufferFull,
      foreign_app: p.droppedForeignApp,
      oversize: c.dropped.oversize + p.droppedOversize,
    },
    buffered,
    files,
    metricsEmitted,
  };
}

function family(out: string[], name: string, type: "counter" | "gauge", help: string, rows: Array<[string, number]>): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, v] of rows) out.push(`${name}${labels} ${v}`);
}

/** Prometheus text exposition (0.0.4). The names are part of the public contract; see docs/AGENT.md. */
export function prometheusText(s: AgentStats): string {
  const out: string[] = [];
  const by = (label: string, r: Record<string, number>): Array<[string, number]> =>
    Object.entries(r).map(([k, v]) => [`{${label}="${k}"}`, v]);
  family(out, "tailrace_agent_ingress_envelopes_total", "counter", "Envelopes taken in, by source.", by("source", s.ingress.envelopes));
  family(out, "tailrace_agent_ingress_bytes_total", "counter", "Log payload bytes taken in, by source.", by("source", s.ingress.bytes));
  family(out, "tailrace_agent_egress_envelopes_total", "counter", "Envelopes stored by JetStream (acked).", [["", s.egress.envelopes]]);
  family(out, "tailrace_agent_egress_batches_total", "counter", "NATS messages stored by JetStream (acked).", [["", s.egress.batches]]);
  family(out, "tailrace_agent_egress_retries_total", "counter", "Publishes retried after a failure.", [["", s.egress.retries]]);
  family(out, "tailrace_agent_dropped_total", "counter", "Envelopes or messages dropped, by reason.", by("reason", s.dropped));
  family(out, "tailrace_agent_buffered_envelopes", "gauge", "Envelopes waiting in the agent's buffer.", [["", s.buffered]]);
  family(out, "tailrace_agent_files_open", "gauge", "Log files being followed.", [["", s.files.open]]);
  family(out, "tailrace_agent_file_lag_bytes", "gauge", "Bytes written to followed log files and not read yet.", [["", s.files.lagBytes]]);
  family(out, "tailrace_agent_metrics_emitted_total", "counter", "Container and process metric envelopes emitted.", [
    ["", s.metricsEmitted],
  ]);
  return `${out.join("\n")}\n`;
}
