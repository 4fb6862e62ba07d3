import { agent, agentUsage } from "./agent.js";
import { doppler, dopplerUsage } from "./doppler.js";
import { drainer, drainerUsage } from "./drainer.js";
import { drains, drainsUsage } from "./drains.js";
import { firehose, firehoseUsage } from "./firehose.js";
import { logs, logsUsage } from "./logs.js";
import { metrics, metricsUsage } from "./metrics.js";
import { run, runUsage } from "./run.js";
import { token, tokenUsage } from "./token.js";
import { up, upUsage } from "./up.js";

/** Every command, with its usage. The compose-file test checks each service's command against this list. */
export const COMMANDS: Record<string, { fn: (argv: string[]) => Promise<number>; usage: string }> = {
  up: { fn: up, usage: upUsage },
  run: { fn: run, usage: runUsage },
  logs: { fn: logs, usage: logsUsage },
  metrics: { fn: metrics, usage: metricsUsage },
  token: { fn: token, usage: tokenUsage },
  drains: { fn: drains, usage: drainsUsage },
  firehose: { fn: firehose, usage: firehoseUsage },
  doppler: { fn: doppler, usage: dopplerUsage },
  agent: { fn: agent, usage: agentUsage },
  drainer: { fn: drainer, usage: drainerUsage },
};

export const COMMAND_NAMES = Object.keys(COMMANDS);
