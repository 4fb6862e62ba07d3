import { Agent, loadAgentConfig } from "@tailrace/agent";
import type { Envelope } from "@tailrace/envelope";
import { createLogger } from "@tailrace/runtime";
import { type TempDir, tempDir } from "@tailrace/testkit";
import { openTail, rejoin, type Stack, type TailClient } from "./helpers.js";

export interface TestAgent {
  agent: Agent;
  state: TempDir;
  stop(): Promise<void>;
}

/** An in-process agent against `stack`, with fast polling, every listener on port 0 and nothing else on. */
export async function startAgent(stack: Stack, env: Record<string, string> = {}, state?: TempDir): Promise<TestAgent> {
  const dir = state ?? (await tempDir("tailrace-agent-state-"));
  const config = loadAgentConfig({
    NATS_URL: stack.nats.url,
    TAILRACE_STATE_DIR: dir.path,
    TAILRACE_DOCKER_DIR: "/nonexistent/docker",
    TAILRACE_CRI_DIR: "/nonexistent/pods",
    TAILRACE_AGENT_HTTP_ADDR: "127.0.0.1:0",
    TAILRACE_INGRESS_ADDR: "off",
    TAILRACE_SCAN_INTERVAL: "100ms",
    TAILRACE_FILE_POLL: "20ms",
    TAILRACE_CHECKPOINT_FSYNC: "false",
    ...env,
  });
  const agent = new Agent(config, createLogger({ name: "test-agent", level: process.env.TEST_LOG_LEVEL ?? "silent" }));
  await agent.start();
  await agent.startSources();
  return {
    agent,
    state: dir,
    async stop() {
      await agent.stop(5000);
      if (!state) await dir.remove();
    },
  };
}

/** One tail per app, opened before anything is written. */
export async function openTails(stack: Stack, apps: string[], token: string): Promise<Map<string, TailClient>> {
  const tails = new Map<string, TailClient>();
  for (const app of apps) tails.set(app, await openTail(stack.api, `/v1/apps/${app}/stream`, token));
  return tails;
}

export const logsOf = (envs: Envelope[]) => envs.filter((e) => e.log && e.tags.source_type !== "LGR");

/** Re-joined lines of one stream type. */
export function lines(envs: Envelope[], type: "OUT" | "ERR" = "OUT"): string[] {
  return rejoin(logsOf(envs))
    .filter((l) => l.type === type)
    .map((l) => l.text);
}
