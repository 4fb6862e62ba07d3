import { Agent, loadAgentConfig } from "@tailrace/agent";
import { checkUnknown, createLogger } from "@tailrace/runtime";
import { knownSettings } from "../settings.js";
import { untilSignal } from "../signals.js";

export const agentUsage = `tailrace agent
  Runs the host agent: collects from this host's sources and publishes to NATS. Configured from the environment.`;

export async function agent(_argv: string[]): Promise<number> {
  checkUnknown(knownSettings);
  const logger = createLogger({ name: "tailrace-agent", fd: 1 });
  const a = new Agent(loadAgentConfig(), logger);
  await a.start();
  await a.startSources();
  await untilSignal();
  logger.info("shutting down");
  const unsent = await a.stop();
  return unsent > 0 ? 1 : 0;
}
