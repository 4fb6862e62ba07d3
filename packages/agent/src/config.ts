import { type ConfigOf, duration, int, loadConfig, str, url } from "@tailrace/runtime";

/** Every setting of the agent, in one place. docs/CONFIGURATION.md is generated from this. */
export const agentSpec = {
  NATS_URL: url("NATS server URL(s), comma-separated", ["nats:", "tls:"], "nats://127.0.0.1:4222"),
  TAILRACE_AGENT_BUFFER: int("envelopes the agent holds in memory before dropping the oldest of the busiest app", 100_000, 100, 10_000_000),
  TAILRACE_AGENT_BATCH: int("most envelopes in one NATS message", 512, 1, 10_000),
  TAILRACE_AGENT_FLUSH: duration("longest a partial batch waits before it is published", 5),
  TAILRACE_AGENT_IN_FLIGHT: int("NATS publishes awaiting their JetStream ack at once", 32, 1, 1024),
  TAILRACE_AGENT_ID: str("names this agent in NATS and in message ids; defaults to host name and pid", ""),
};

export type AgentConfig = ConfigOf<typeof agentSpec>;

export function loadAgentConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  return loadConfig(agentSpec, env);
}
