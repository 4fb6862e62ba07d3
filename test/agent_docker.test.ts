import { appendFileSync, existsSync, readdirSync } from "node:fs";
import { containerId, DockerContainer, type TempDir, tempDir, testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lines, logsOf, openTails, startAgent, type TestAgent } from "./agent_helpers.js";
import { type Stack, startStack } from "./helpers.js";

/** Lines with long ones mixed in: 40 KiB (three Docker entries) and 100 KiB (seven entries, two 64 KiB parts). */
function workload(tag: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let l = `${tag} line ${i} ünïcødé ✓`;
    if (i % 50 === 7) l += ` long ${"y".repeat(40 * 1024)} end`;
    if (i === 99) l += ` huge ${"z".repeat(100 * 1024)} end`;
    out.push(l);
  }
  return out;
}

describe("agent docker json-file", () => {
  let stack: Stack;
  let token: string;
  let docker: TempDir;
  let agent: TestAgent;
  beforeAll(async () => {
    stack = await startStack();
    token = await testToken({ tenant: "acme" });
    docker = await tempDir("tailrace-docker-");
    agent = await startAgent(stack, { TAILRACE_DOCKER_DIR: docker.path, TAILRACE_METRICS_INTERVAL: "1h" });
  });
  afterAll(async () => {
    await agent?.stop();
    await stack?.stop();
    await docker?.remove();
  });

  it("docker - 20 containers at once: every line exactly once, 16 KiB chunks re-joined, labels and timestamps kept", async () => {
    const apps = Array.from({ length: 20 }, (_, i) => `dock${i}`);
    const tails = await openTails(stack, apps, token);
    const containers = apps.map(
      (app, i) =>
        new DockerContainer(docker.path, containerId(i), {
          "tailrace.tenant": "acme",
          "tailrace.app": app,
          "tailrace.process": "worker",
          "tailrace.instance": "3",
        }),
    );
    const time = "2026-11-23T10:00:00.123456789Z";
    for (const [i, c] of containers.entries()) {
      c.write(workload(`c${i}`, 150));
      c.write([`c${i} to stderr`], "stderr");
    }
    // One line with a known timestamp, to check nanosecond precision end to end.
    for (const c of containers) appendFileSync(c.log, DockerContainer.entries("stamped", "stdout", time));
    for (const [i, app] of apps.entries()) {
      const tail = tails.get(app)!;
      await waitFor(`all lines of ${app}`, () => lines(tail.envelopes).length >= 151, 20_000);
      await new Promise((r) => setTimeout(r, 50));
      expect(lines(tail.envelopes)).toEqual([...workload(`c${i}`, 150), "stamped"]);
      expect(lines(tail.envelopes, "ERR")).toEqual([`c${i} to stderr`]);
      const first = logsOf(tail.envelopes)[0]!;
      expect(first.tags).toMatchObject({ tenant: "acme", app_name: app, process_type: "worker", source_type: "APP/PROC/WORKER" });
      expect(first.instanceId).toBe("3");
      const stamped = logsOf(tail.envelopes).find((e) => Buffer.from(e.log!.payload).toString() === "stamped");
      expect(stamped?.timestamp).toBe(1795428000123456789n);
      // 64 KiB is the most one envelope carries; the 100 KiB line came in marked parts.
      for (const e of logsOf(tail.envelopes)) expect(e.log!.payload.length).toBeLessThanOrEqual(64 * 1024);
      expect(logsOf(tail.envelopes).filter((e) => e.tags.partial === "true").length).toBe(1);
      tail.close();
    }
  });

  it("docker - rotation while the agent reads loses and repeats nothing", async () => {
    const [tail] = (await openTails(stack, ["rotating"], token)).values();
    const c = new DockerContainer(docker.path, containerId(100), { "tailrace.tenant": "acme", "tailrace.app": "rotating" });
    // Discovered first, so later rotations happen under an open reader; then fast rotations, several between polls.
    const want: string[] = ["start"];
    c.write(want);
    await waitFor("the first line", () => lines(tail!.envelopes).length === 1);
    for (let round = 0; round < 10; round++) {
      const batch = Array.from({ length: 500 }, (_, i) => `r${round}-${i}`);
      want.push(...batch);
      c.write(batch.slice(0, 250));
      await new Promise((r) => setTimeout(r, 10));
      c.write(batch.slice(250));
      if (round % 2 === 1) c.rotate();
    }
    await waitFor("every rotated line", () => lines(tail!.envelopes).length >= want.length, 20_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(lines(tail!.envelopes)).toEqual(want);
    expect(readdirSync(c.dir).filter((n) => n.includes("-json.log.")).length).toBeGreaterThan(1);
    tail!.close();
  });

  it("docker - a container removed while the agent reads: its lines arrive, then the source and checkpoint go", async () => {
    const [tail] = (await openTails(stack, ["removed"], token)).values();
    const c = new DockerContainer(docker.path, containerId(200), { "tailrace.tenant": "acme", "tailrace.app": "removed" });
    c.write(["first"]);
    await waitFor("the first line", () => lines(tail!.envelopes).length === 1);
    const filesBefore = agent.agent.stats().files.open;
    const more = Array.from({ length: 3000 }, (_, i) => `more ${i}`);
    c.write(more);
    c.remove();
    await waitFor("lines written before removal", () => lines(tail!.envelopes).length >= 3001, 20_000);
    expect(lines(tail!.envelopes)).toEqual(["first", ...more]);
    await waitFor("the source to finish", () => agent.agent.stats().files.open === filesBefore - 1, 30_000);
    expect(existsSync(`${agent.state.path}/docker-${c.id}.json`)).toBe(false);
    tail!.close();
  });

  it("docker - containers without a tenant label are skipped; a bad label refuses the container", async () => {
    const [tail] = (await openTails(stack, ["unlabeled", "bad"], token)).values();
    new DockerContainer(docker.path, containerId(300), { "tailrace.app": "unlabeled" }).write(["nobody"]);
    new DockerContainer(docker.path, containerId(301), { "tailrace.tenant": "acme", "tailrace.app": "b.a.d" }).write(["dots"]);
    const ok = new DockerContainer(docker.path, containerId(302), { "tailrace.tenant": "acme", "tailrace.app": "unlabeled" });
    ok.write(["labelled"]);
    await waitFor("the labelled line", () => lines(tail!.envelopes).length === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(lines(tail!.envelopes)).toEqual(["labelled"]);
    tail!.close();
  });

  it("docker - /metrics exposes ingress, egress and file lag", async () => {
    const res = await fetch(`http://127.0.0.1:${agent.agent.ports.http}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^tailrace_agent_ingress_envelopes_total\{source="docker"\} [1-9]\d*$/m);
    expect(text).toMatch(/^tailrace_agent_egress_envelopes_total [1-9]\d*$/m);
    expect(text).toMatch(/^tailrace_agent_file_lag_bytes 0$/m);
    expect(text).toMatch(/^tailrace_agent_dropped_total\{reason="buffer_full"\} 0$/m);
    expect((await fetch(`http://127.0.0.1:${agent.agent.ports.http}/readyz`)).status).toBe(200);
  });
});
