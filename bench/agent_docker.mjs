// Scenario: `tailrace agent` (its own process, pinned to one core) reading Docker json-file logs → JetStream.
// Pre-written files in Docker's real format, so the figure is the agent's read → parse → publish → ack rate.
// Reports lines/s and the agent's peak RSS beside the raw NATS floor of the same run.
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, freePort, rawNatsRate, rssKb, startDoppler, startNatsServer } from "./lib.mjs";

const CONTAINERS = Number(process.env.BENCH_AGENT_CONTAINERS ?? 4);
const LINES = Number(process.env.BENCH_AGENT_LINES ?? 1_000_000);
const LINE = "GET /orders/12345 200 1.2ms user=alice trace=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7";

function writeContainers(root) {
  const per = Math.ceil(LINES / CONTAINERS);
  const t0 = BigInt(Date.now()) * 1_000_000n;
  for (let c = 0; c < CONTAINERS; c++) {
    const id = `${String(c).padStart(4, "0")}${"b".repeat(60)}`;
    const dir = join(root, id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "config.v2.json"),
      JSON.stringify({ Name: `/bench${c}`, Config: { Labels: { "tailrace.tenant": "bench", "tailrace.app": `agent${c}` } } }),
    );
    const file = join(dir, `${id}-json.log`);
    for (let i = 0; i < per; i += 10_000) {
      let out = "";
      for (let j = i; j < Math.min(per, i + 10_000); j++) {
        const ns = t0 + BigInt(j) * 1000n;
        const time = `${new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, "0")}Z`;
        out += `{"log":"${LINE} ${j}\\n","stream":"stdout","time":"${time}"}\n`;
      }
      appendFileSync(file, out);
    }
  }
  return per * CONTAINERS;
}

async function scrape(port) {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return Number(/^tailrace_agent_egress_envelopes_total (\d+)$/m.exec(text)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

export async function run() {
  const nats = await startNatsServer();
  const doppler = await startDoppler(nats.url, { TAILRACE_RECENT_PER_APP: "100000", TAILRACE_STREAM_MAX_BYTES: String(4 * 1024 ** 3) });
  const root = mkdtempSync(join(tmpdir(), "tailrace-bench-docker-"));
  try {
    const raw = await rawNatsRate(nats.url);
    const total = writeContainers(join(root, "containers"));
    const httpPort = await freePort();
    const pin = spawnSync("taskset", ["--version"]).status === 0 ? ["taskset", "-c", "0"] : [];
    const [cmd, ...args] = [...pin, process.execPath, CLI, "agent"];
    const started = performance.now();
    const agent = spawn(cmd, args, {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NATS_URL: nats.url,
        TAILRACE_DOCKER_DIR: join(root, "containers"),
        TAILRACE_CRI_DIR: join(root, "none"),
        TAILRACE_STATE_DIR: join(root, "state"),
        TAILRACE_AGENT_HTTP_ADDR: `127.0.0.1:${httpPort}`,
        TAILRACE_INGRESS_ADDR: "off",
        TAILRACE_LOG_LEVEL: "warn",
        ...(process.env.BENCH_AGENT_CHUNK ? { TAILRACE_READ_CHUNK: process.env.BENCH_AGENT_CHUNK } : {}),
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    // taskset execs node, so the child's pid is the agent's.
    const pid = agent.pid;
    let first = 0;
    let sent = 0;
    let peakKb = 0;
    const deadline = Date.now() + 120_000;
    while (sent < total && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      sent = await scrape(httpPort);
      if (sent > 0 && first === 0) first = performance.now();
      try {
        peakKb = Math.max(peakKb, rssKb(pid, true));
      } catch {}
    }
    const done = performance.now();
    agent.kill("SIGTERM");
    await new Promise((r) => agent.once("exit", r));
    return {
      lines: total,
      stored: sent,
      linesPerSec: Math.round(sent / ((done - first) / 1000)),
      wallSeconds: Math.round((done - started) / 100) / 10,
      peakRssMB: Math.round(peakKb / 1024),
      pinnedToOneCore: pin.length > 0,
      rawNatsMsgsPerSec: raw.msgsPerSec,
    };
  } finally {
    await doppler.stop();
    await nats.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
