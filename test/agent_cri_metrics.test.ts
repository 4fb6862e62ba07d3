/**
 * Container metrics of CRI logs, end to end: the agent finds each container's cgroup from the pod uid in the log
 * path and the container id in the kubelet's /var/log/containers symlinks (a fixture tree: the files a kubelet and
 * cgroup v2 would have), and its gauges reach the app's tail.
 */
import { mkdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Envelope } from "@tailrace/envelope";
import { CriContainer, type TempDir, tempDir, testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTails, startAgent, type TestAgent } from "./agent_helpers.js";
import { type Stack, startStack } from "./helpers.js";

const gauges = (envs: Envelope[]) => envs.filter((e) => e.gauge);
const UID = "0b1c2d3e-4f50-4a6b-8c7d-8e9fa0b1c2d3";
const id = (n: number) => String(n).repeat(64);

describe("agent CRI metrics", () => {
  let stack: Stack;
  let tmp: TempDir;
  let agent: TestAgent;
  beforeAll(async () => {
    stack = await startStack();
    tmp = await tempDir("tailrace-cri-metrics-");
    for (const d of ["log/pods", "log/containers", "cgroup"]) mkdirSync(join(tmp.path, d), { recursive: true });
    agent = await startAgent(stack, {
      TAILRACE_CRI_DIR: join(tmp.path, "log", "pods"),
      TAILRACE_CGROUP_ROOT: join(tmp.path, "cgroup"),
      TAILRACE_METRICS_INTERVAL: "200ms",
    });
  });
  afterAll(async () => {
    await agent?.stop();
    await stack?.stop();
    await tmp?.remove();
  });

  it("cri metrics - the live container's cgroup (systemd driver, Burstable) every interval; its previous run's log sends none", async () => {
    const tails = await openTails(stack, ["api"], await testToken({ tenant: "team-a" }));
    const pods = join(tmp.path, "log", "pods");
    const previous = new CriContainer(pods, "team-a", "api-7d9f-x0", UID, "api", 0);
    const live = new CriContainer(pods, "team-a", "api-7d9f-x0", UID, "api", 1);
    previous.write(["before the restart"]);
    live.write(["after the restart"]);
    // The kubelet's links: host paths, one per run, each with its container id.
    for (const [run, n] of [
      [0, 1],
      [1, 2],
    ]) {
      symlinkSync(
        `/var/log/pods/team-a_api-7d9f-x0_${UID}/api/${run}.log`,
        join(tmp.path, "log", "containers", `api-7d9f-x0_team-a_api-${id(n as number)}.log`),
      );
    }
    const scope = join(
      tmp.path,
      "cgroup",
      "kubepods.slice",
      "kubepods-burstable.slice",
      `kubepods-burstable-pod${UID.replaceAll("-", "_")}.slice`,
      `cri-containerd-${id(2)}.scope`,
    );
    mkdirSync(scope, { recursive: true });
    writeFileSync(join(scope, "cpu.stat"), "usage_usec 1000\n");
    writeFileSync(join(scope, "memory.current"), "7340032\n");
    writeFileSync(join(scope, "memory.max"), "268435456\n");

    const tail = tails.get("api")!;
    const started = Date.now();
    await waitFor("three gauges", () => gauges(tail.envelopes).length >= 3, 20_000);
    // One reading per interval: the previous run, without a cgroup, adds none.
    expect(gauges(tail.envelopes).length).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 200) + 1);
    const g = gauges(tail.envelopes).at(-1)!;
    expect(g.instanceId).toBe("api-7d9f-x0");
    expect(g.tags).toMatchObject({ tenant: "team-a", app_name: "api" });
    expect(g.gauge!.metrics.memory).toEqual({ unit: "bytes", value: 7340032 });
    expect(g.gauge!.metrics.memory_quota).toEqual({ unit: "bytes", value: 268435456 });
    // The live run's log file, not the previous one's.
    expect(g.gauge!.metrics.disk?.value).toBe(statSync(live.log).size);
    tail.close();
  });
});
