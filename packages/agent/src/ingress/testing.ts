import type { Envelope } from "@tailrace/envelope";
import type { AppChannel } from "../egress/nats.js";
import { AgentCounters } from "../telemetry/counters.js";
import { type InstanceInfo, InstanceSink } from "./instance.js";

/** A sink whose channel only records, for unit tests of decoders. */
export function recordingSink(info: Partial<InstanceInfo> = {}): { sink: InstanceSink; out: Envelope[]; counters: AgentCounters } {
  const out: Envelope[] = [];
  const channel = { write: (e: Envelope) => out.push(e) } as unknown as AppChannel;
  const counters = new AgentCounters();
  const full: InstanceInfo = { tenant: "acme", app: "web", processType: "web", instanceId: "0", logRateLimit: 0, ...info };
  return { sink: new InstanceSink(full, channel, counters, "docker"), out, counters };
}

export const texts = (out: Envelope[]) => out.map((e) => Buffer.from(e.log?.payload ?? []).toString("utf8"));
