import { testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { formatTable, humanBytes, latestPerInstance, metrics } from "../packages/cli/src/commands/metrics.js";
import { cli, type Stack, startStack } from "./helpers.js";
import { containerGauge, type MetricsPublisher, metricsPublisher } from "./metrics_helpers.js";

/** Runs `tailrace metrics ARGS` with the real binary once the command is registered, else the command in-process. */
async function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string }> {
  const r = await cli(["metrics", ...args], env);
  if (!/unknown command "metrics"/.test(r.stderr)) return r;
  const saved = { TAILRACE_API: process.env.TAILRACE_API, TAILRACE_TOKEN: process.env.TAILRACE_TOKEN };
  Object.assign(process.env, { TAILRACE_API: env.TAILRACE_API, TAILRACE_TOKEN: env.TAILRACE_TOKEN });
  let stdout = "";
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  try {
    return { code: await metrics(args), stdout };
  } finally {
    spy.mockRestore();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe("tailrace metrics", () => {
  let stack: Stack;
  let pub: MetricsPublisher;

  beforeAll(async () => {
    stack = await startStack();
    pub = await metricsPublisher(stack.nats.url);
  }, 90_000);

  afterAll(async () => {
    await pub?.stop();
    await stack?.stop();
  });

  it("cli - metrics APP prints each instance's latest cpu, memory, disk and log rate, like cf app", async () => {
    const MiB = 1024 * 1024;
    const quotas = { memory_quota: 1024 * MiB, disk_quota: 2048 * MiB, log_rate_limit: -1 };
    await pub.write("acme", "shop", [
      containerGauge("acme", "shop", "0", { cpu: 80, memory: 10 * MiB, disk: 1, log_rate: 1, ...quotas }),
      containerGauge("acme", "shop", "1", { cpu: 2.25, memory: 300 * MiB, disk: 64 * MiB, log_rate: 2048, ...quotas }),
      containerGauge("acme", "shop", "0", { cpu: 12.5, memory: 236.4 * MiB, disk: 100 * MiB, log_rate: 512, ...quotas }),
    ]);
    const env = { ...stack.env, TAILRACE_TOKEN: await testToken({ tenant: "acme" }) };
    const r = await waitFor("two instances", async () => {
      const out = await run(["shop"], env);
      return out.stdout.split("\n").filter((l) => l.startsWith("#")).length === 2 && out;
    });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^\s+process\s+cpu\s+memory\s+disk\s+logging\s+reported$/);
    expect(lines[1]).toMatch(/^#0\s+web\s+12\.5%\s+236\.4M of 1G\s+100M of 2G\s+512B\/s of unlimited\s+\ds ago$/);
    expect(lines[2]).toMatch(/^#1\s+web\s+2\.3%\s+300M of 1G\s+64M of 2G\s+2K\/s of unlimited\s+\ds ago$/);
    const json = await run(["shop", "--json"], env);
    expect(JSON.parse(json.stdout.split("\n")[0] as string)).toMatchObject({ instance: "0", cpu: 12.5, memory: 236.4 * MiB });
  });

  it("cli - metrics formats bytes and rows without a server", () => {
    expect(humanBytes(0)).toBe("0B");
    expect(humanBytes(1536)).toBe("1.5K");
    expect(humanBytes(undefined)).toBe("-");
    expect(latestPerInstance([])).toEqual([]);
    expect(formatTable([{ instance: "0", process: "web", at: 0, cpu: 1 }], 5000)).toContain(
      "#0   web       1.0%   -        -      -/s       5s ago",
    );
  });
});
