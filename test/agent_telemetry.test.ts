import { Agent, loadAgentConfig } from "@tailrace/agent";
import { createLogger } from "@tailrace/runtime";
import { startNatsServer, tempDir } from "@tailrace/testkit";
import { describe, expect, it } from "vitest";
import { promtool } from "./metrics_helpers.js";

describe("agent self-telemetry", () => {
  it("telemetry - the agent's /metrics has its own families and the standard instruments, and promtool passes it", async () => {
    const nats = await startNatsServer();
    const state = await tempDir();
    const agent = new Agent(
      loadAgentConfig({
        NATS_URL: nats.url,
        TAILRACE_STATE_DIR: state.path,
        TAILRACE_AGENT_HTTP_ADDR: "127.0.0.1:0",
        TAILRACE_INGRESS_ADDR: "",
      }),
      createLogger({ name: "test-agent", level: "silent" }),
    );
    await agent.start();
    await agent.startSources();
    const text = await (await fetch(`http://127.0.0.1:${agent.ports.http}/metrics`)).text();
    await agent.stop();
    await nats.stop();
    await state.remove();
    expect(promtool(text)).toBe("");
    expect(text).toMatch(/^tailrace_agent_egress_envelopes_total \d+$/m);
    expect(text).toMatch(/^tailrace_envelopes_received_total\{component="agent",direction="ingress",source="process"\} 0$/m);
    expect(text).toMatch(/^tailrace_envelopes_sent_total\{component="agent",direction="egress"\} 0$/m);
    expect(text).toMatch(/^tailrace_nats_reconnects_total\{component="agent"\} 0$/m);
  });
});
