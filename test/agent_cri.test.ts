import { CriContainer, type TempDir, tempDir, testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lines, logsOf, openTails, startAgent, type TestAgent } from "./agent_helpers.js";
import { type Stack, startStack } from "./helpers.js";

describe("agent CRI logs", () => {
  let stack: Stack;
  let pods: TempDir;
  let agent: TestAgent;
  beforeAll(async () => {
    stack = await startStack();
    pods = await tempDir("tailrace-pods-");
    agent = await startAgent(stack, { TAILRACE_CRI_DIR: pods.path, TAILRACE_METRICS_INTERVAL: "1h" });
  });
  afterAll(async () => {
    await agent?.stop();
    await stack?.stop();
    await pods?.remove();
  });

  it("cri - namespace → tenant, container → app: P chunks merged into F, rotation followed, every line once", async () => {
    const token = await testToken({ tenant: "team-a" });
    const apps = ["api", "worker", "cron"];
    const tails = await openTails(stack, apps, token);
    const logs = apps.map((app, i) => new CriContainer(pods.path, "team-a", `${app}-7d9f-x${i}`, `0b1c2d3e-000${i}`, app));
    const want = new Map<string, string[]>(apps.map((a) => [a, []]));
    for (let round = 0; round < 6; round++) {
      for (const [i, log] of logs.entries()) {
        const app = apps[i] as string;
        const batch = Array.from({ length: 300 }, (_, j) => {
          let l = `${app} r${round} ${j}`;
          if (j === 17) l += ` ${"q".repeat(50 * 1024)} end`;
          if (round === 2 && j === 99) l += ` ${"w".repeat(80 * 1024)} end`;
          return l;
        });
        want.get(app)?.push(...batch);
        log.write(batch);
        if (round % 2 === 1) log.rotate();
      }
      await new Promise((r) => setTimeout(r, 15));
    }
    logs[0]?.write(["to stderr"], "stderr");
    for (const app of apps) {
      const tail = tails.get(app)!;
      await waitFor(`every line of ${app}`, () => lines(tail.envelopes).length >= 1800, 20_000);
      await new Promise((r) => setTimeout(r, 100));
      expect(lines(tail.envelopes)).toEqual(want.get(app));
      const e = logsOf(tail.envelopes)[0]!;
      expect(e.tags).toMatchObject({ tenant: "team-a", app_name: app, source_type: "APP/PROC/WEB" });
      expect(e.instanceId).toMatch(new RegExp(`^${app}-7d9f-x\\d$`));
      for (const x of logsOf(tail.envelopes)) expect(x.log!.payload.length).toBeLessThanOrEqual(64 * 1024);
    }
    await waitFor("the stderr line", () => lines(tails.get("api")!.envelopes, "ERR").length === 1);
    expect(lines(tails.get("api")!.envelopes, "ERR")).toEqual(["to stderr"]);
    for (const t of tails.values()) t.close();
  });
});
