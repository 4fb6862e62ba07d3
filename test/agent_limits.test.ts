import { testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lines, openTails, startAgent, type TestAgent } from "./agent_helpers.js";
import { type Stack, startStack, text } from "./helpers.js";

// Writes 200-byte lines as fast as the pipe takes them, for `ms`.
const FLOOD = (ms: number) =>
  `const line=Buffer.from("x".repeat(199)+"\\n");const chunk=Buffer.concat(Array(300).fill(line));const end=Date.now()+${ms};` +
  "(function go(){while(Date.now()<end){if(!process.stdout.write(chunk))return process.stdout.once('drain',go)}process.exit(0)})()";
// `n` numbered lines, `perSec` a second.
const PACED = (n: number, perSec: number) =>
  `let i=0;const t=setInterval(()=>{console.log("quiet "+i++);if(i===${n}){clearInterval(t)}},${1000 / perSec})`;

describe("agent limits", () => {
  let stack: Stack;
  let agent: TestAgent;
  let token: string;
  beforeAll(async () => {
    // Tails that keep up with a flood, so what the test sees is the agent's doing, not the tail's.
    stack = await startStack({ TAILRACE_TAIL_QUEUE: "1000000" });
    token = await testToken({ tenant: "acme" });
    agent = await startAgent(stack, { TAILRACE_AGENT_BUFFER: "2000", TAILRACE_AGENT_IN_FLIGHT: "2", TAILRACE_METRICS_INTERVAL: "1h" });
  });
  afterAll(async () => {
    await agent?.stop();
    await stack?.stop();
  });

  it("fairness - a quiet app loses nothing while another floods; the flood's drops are counted and noticed", async () => {
    const tails = await openTails(stack, ["noisy", "quiet"], token);
    const sup = (app: string, script: string) =>
      agent.agent.supervise({
        command: process.execPath,
        args: ["-e", script],
        tenant: "acme",
        app,
        processType: "web",
        instanceId: "0",
        echo: false,
      });
    const noisy = sup("noisy", FLOOD(3000));
    const quiet = sup("quiet", PACED(25, 10));
    await Promise.all([noisy.exited, quiet.exited]);
    const q = tails.get("quiet")!;
    await waitFor("every quiet line", () => lines(q.envelopes).length >= 25, 30_000);
    expect(lines(q.envelopes)).toEqual(Array.from({ length: 25 }, (_, i) => `quiet ${i}`));
    expect(q.envelopes.filter((e) => e.tags.source_type === "LGR")).toEqual([]);
    const dropped = agent.agent.stats().dropped.buffer_full;
    expect(dropped).toBeGreaterThan(0);
    const n = tails.get("noisy")!;
    await waitFor("a drop notice in the noisy app's stream", () =>
      n.envelopes.some((e) => e.tags.source_type === "LGR" && /dropped \d+ envelopes for this app: buffer full/.test(text(e))),
    );
    const noticed = n.envelopes
      .filter((e) => e.tags.source_type === "LGR")
      .reduce((sum, e) => sum + Number(/dropped (\d+)/.exec(text(e))?.[1] ?? 0), 0);
    // Every drop is told, in notices that may still be on their way when the counter is read.
    await waitFor("notices for every drop", () => {
      const told = n.envelopes
        .filter((e) => e.tags.source_type === "LGR")
        .reduce((s, e) => s + Number(/dropped (\d+)/.exec(text(e))?.[1] ?? 0), 0);
      return told === agent.agent.stats().dropped.buffer_full;
    });
    expect(noticed).toBeGreaterThan(0);
    console.log(`fairness: noisy sent ${lines(n.envelopes).length} lines, dropped ${agent.agent.stats().dropped.buffer_full}`);
    for (const t of tails.values()) t.close();
  });

  it("rate limit - an instance over its bytes/s limit is cut, counted and told at most once a second", async () => {
    const [tail] = (await openTails(stack, ["limited"], token)).values();
    const before = agent.agent.stats().dropped.rate_limit;
    // 100-byte lines, 10,000 bytes/s for 2.5 s against a limit of 1,000 bytes/s.
    const script = `let i=0;const t=setInterval(()=>{for(let j=0;j<10;j++)console.log(String(i++).padStart(99,"0"));if(i>=250)clearInterval(t)},100)`;
    const started = Date.now();
    const h = agent.agent.supervise({
      command: process.execPath,
      args: ["-e", script],
      tenant: "acme",
      app: "limited",
      processType: "web",
      instanceId: "0",
      echo: false,
      logRateLimit: 1000,
    });
    await h.exited;
    const secs = (Date.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 300));
    const notices = tail!.envelopes.filter((e) => e.tags.source_type === "LGR");
    expect(notices.length).toBeGreaterThanOrEqual(2);
    expect(notices.length).toBeLessThanOrEqual(Math.ceil(secs) + 1);
    expect(text(notices[0]!)).toBe("app instance exceeded log rate limit (1000 bytes/sec)");
    const passed = lines(tail!.envelopes).length;
    // One second of burst plus 1,000 bytes/s after it.
    expect(passed * 99).toBeLessThanOrEqual(1000 * (secs + 1) + 100);
    expect(agent.agent.stats().dropped.rate_limit - before).toBe(250 - passed);
    tail!.close();
  });
});
