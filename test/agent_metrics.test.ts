import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, rmdirSync, writeFileSync } from "node:fs";
import { totalmem } from "node:os";
import { join } from "node:path";
import { readProcessTree } from "@tailrace/agent/internal";
import type { Envelope } from "@tailrace/envelope";
import { containerId, DockerContainer, type TempDir, tempDir, testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTails, startAgent, type TestAgent } from "./agent_helpers.js";
import { type Stack, startStack } from "./helpers.js";

const gauges = (envs: Envelope[]) => envs.filter((e) => e.gauge);
const NAMES = ["cpu", "memory", "memory_quota", "disk", "disk_quota", "log_rate", "log_rate_limit"];

/** This machine's cgroup v2 mount, if the test may create cgroups in it (root on a host with v2). */
function realCgroupRoot(): string | undefined {
  for (const root of ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]) {
    try {
      const probe = join(root, `tailrace-probe-${process.pid}`);
      mkdirSync(probe);
      rmdirSync(probe);
      return root;
    } catch {}
  }
  return undefined;
}

describe("agent metrics", () => {
  let stack: Stack;
  let docker: TempDir;
  let cg: TempDir;
  let agent: TestAgent;
  let token: string;
  beforeAll(async () => {
    stack = await startStack();
    token = await testToken({ tenant: "acme" });
    docker = await tempDir("tailrace-docker-");
    cg = await tempDir("tailrace-cgroup-");
    agent = await startAgent(stack, {
      TAILRACE_DOCKER_DIR: docker.path,
      TAILRACE_CGROUP_ROOT: cg.path,
      TAILRACE_METRICS_INTERVAL: "200ms",
    });
  });
  afterAll(async () => {
    await agent?.stop();
    await stack?.stop();
    await docker?.remove();
    await cg?.remove();
  });

  it("metrics - a gauge per instance every interval from a fixture cgroup tree (systemd and cgroupfs layouts)", async () => {
    const tails = await openTails(stack, ["metered", "capped"], token);
    const a = containerId(500);
    const b = containerId(501);
    const scope = join(cg.path, "system.slice", `docker-${a}.scope`);
    const plain = join(cg.path, "docker", b);
    mkdirSync(scope, { recursive: true });
    mkdirSync(plain, { recursive: true });
    // Half a core: usage grows 0.5 µs of CPU per µs of wall time, derived from the clock at every write, so a timer
    // that fires late on a busy machine makes the file a little stale but never changes the rate it describes.
    const t0 = Date.now();
    let usage = 1_000_000;
    const writeCg = () => {
      usage = 1_000_000 + Math.round((Date.now() - t0) * 500);
      writeFileSync(join(scope, "cpu.stat"), `usage_usec ${usage}\nuser_usec ${usage}\nsystem_usec 0\n`);
      writeFileSync(join(scope, "memory.current"), "123456789\n");
      writeFileSync(join(scope, "memory.max"), "max\n");
      writeFileSync(join(plain, "cpu.stat"), "usage_usec 5\n");
      writeFileSync(join(plain, "memory.current"), "1000\n");
      writeFileSync(join(plain, "memory.max"), "536870912\n");
    };
    writeCg();
    const burn = setInterval(writeCg, 20);
    try {
      const ca = new DockerContainer(docker.path, a, { "tailrace.tenant": "acme", "tailrace.app": "metered", "tailrace.instance": "0" });
      new DockerContainer(docker.path, b, { "tailrace.tenant": "acme", "tailrace.app": "capped", "tailrace.log_rate_limit": "4096" }).write(
        ["x"],
      );
      const logger = setInterval(() => ca.write(["y".repeat(1000)]), 50);
      const metered = tails.get("metered")!;
      const started = Date.now();
      await waitFor("five gauges", () => gauges(metered.envelopes).length >= 5, 30_000);
      clearInterval(logger);
      const n = gauges(metered.envelopes).length;
      // One per 200 ms interval, give or take scheduling.
      expect(n).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 200) + 1);
      const last = gauges(metered.envelopes).at(-1)!;
      expect(Object.keys(last.gauge!.metrics).sort()).toEqual([...NAMES].sort());
      const m = last.gauge!.metrics;
      expect(m.memory).toEqual({ unit: "bytes", value: 123456789 });
      expect(m.memory_quota).toEqual({ unit: "bytes", value: totalmem() });
      expect(m.cpu?.unit).toBe("percentage");
      // The median of the gauges, as one read may meet a file a timer tick stale: about 50 (half a core).
      const cpus = gauges(metered.envelopes)
        .map((g) => g.gauge!.metrics.cpu?.value as number)
        .sort((x, y) => x - y);
      const cpu = cpus[cpus.length >> 1] as number;
      expect(cpu).toBeGreaterThan(25);
      expect(cpu).toBeLessThan(75);
      expect(m.log_rate?.unit).toBe("B/s");
      // The container logs about 20 kB/s; how much depends on a timer on a shared machine, so only "it logs".
      expect(m.log_rate?.value).toBeGreaterThan(0);
      expect(m.log_rate_limit?.value).toBe(-1);
      expect(m.disk?.value).toBeGreaterThan(1000);
      expect(last.instanceId).toBe("0");
      expect(last.tags).toMatchObject({ tenant: "acme", app_name: "metered" });
      const capped = tails.get("capped")!;
      await waitFor("the cgroupfs container's gauge", () => gauges(capped.envelopes).length >= 1);
      const cm = gauges(capped.envelopes)[0]!.gauge!.metrics;
      expect(cm.memory_quota?.value).toBe(536870912);
      expect(cm.memory?.value).toBe(1000);
      expect(cm.log_rate_limit?.value).toBe(4096);
    } finally {
      clearInterval(burn);
      for (const t of tails.values()) t.close();
    }
  });

  it("metrics - a supervised process's real memory, read from /proc and its cgroup, rises as it allocates", async () => {
    const [tail] = (await openTails(stack, ["hungry"], token)).values();
    // Allocates and touches 8 MiB every 100 ms, up to 120 MiB, then waits to be killed.
    const script =
      "const k=[];const t=setInterval(()=>{k.push(Buffer.alloc(8<<20,1));if(k.length>=15)clearInterval(t)},100);setInterval(()=>{},1000)";
    const h = agent.agent.supervise({
      command: process.execPath,
      args: ["-e", script],
      tenant: "acme",
      app: "hungry",
      processType: "web",
      instanceId: "0",
      echo: false,
    });
    try {
      await waitFor(
        "memory to rise by 60 MiB",
        () => {
          const g = gauges(tail!.envelopes);
          if (g.length < 2) return false;
          return g.at(-1)!.gauge!.metrics.memory!.value - g[0]!.gauge!.metrics.memory!.value > 60 * 2 ** 20;
        },
        10_000,
      );
      const first = gauges(tail!.envelopes)[0]!;
      expect(first.tags).toMatchObject({ tenant: "acme", app_name: "hungry", source_type: "APP/PROC/WEB" });
      expect(first.gauge!.metrics.memory_quota!.value).toBeGreaterThan(0);
    } finally {
      h.kill("SIGKILL");
      await h.exited;
      tail!.close();
    }
  });

  const real = realCgroupRoot();
  it.skipIf(!real)("metrics - CPU from this machine's real cgroup v2, for a busy process in docker/<id>/", async () => {
    const root = real as string;
    const id = containerId(600);
    const dir = join(root, "docker", id);
    mkdirSync(dir, { recursive: true });
    let busy: ChildProcess | undefined;
    const own = await tempDir("tailrace-docker-");
    const local = await startAgent(stack, {
      TAILRACE_DOCKER_DIR: own.path,
      TAILRACE_CGROUP_ROOT: root,
      TAILRACE_METRICS_INTERVAL: "300ms",
    });
    const [tail] = (await openTails(stack, ["realcg"], token)).values();
    try {
      busy = spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" });
      writeFileSync(join(dir, "cgroup.procs"), String(busy.pid));
      new DockerContainer(own.path, id, { "tailrace.tenant": "acme", "tailrace.app": "realcg" }).write(["hi"]);
      await waitFor("a busy gauge", () => gauges(tail!.envelopes).some((g) => g.gauge!.metrics.cpu!.value > 30), 30_000);
      // A cross-check against the process tree reader on the same process.
      expect((await readProcessTree(busy.pid as number, undefined))?.cpuUsec).toBeGreaterThan(0);
    } finally {
      busy?.kill("SIGKILL");
      await new Promise((r) => setTimeout(r, 100));
      tail!.close();
      await local.stop();
      await own.remove();
      try {
        rmdirSync(dir);
        rmdirSync(join(root, "docker"));
      } catch {}
    }
  });
});
