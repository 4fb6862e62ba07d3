// Shared helpers for the benchmark scenarios: a real nats-server, a doppler child process, and the raw NATS floor.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { startNatsServer, TEST_JWT_SECRET, testToken } from "@tailrace/testkit";

export const CLI = fileURLToPath(new URL("../packages/cli/bin/tailrace.mjs", import.meta.url));

export { startNatsServer, TEST_JWT_SECRET, testToken };

/** Starts `tailrace doppler` as its own process, as it runs in production, and waits for /readyz. */
export async function startDoppler(natsUrl, extraEnv = {}) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  // BENCH_DOPPLER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the doppler of a run.
  const nodeArgs = (process.env.BENCH_DOPPLER_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, CLI, "doppler", "--port", String(port)], {
    env: {
      PATH: process.env.PATH,
      NATS_URL: natsUrl,
      TAILRACE_JWT_SECRET: TEST_JWT_SECRET,
      TAILRACE_DOPPLER_HOST: "127.0.0.1",
      TAILRACE_LOG_LEVEL: "warn",
      ...extraEnv,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const api = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${api}/readyz`)).ok) return { api, child, pid: child.pid, stop: () => stopChild(child) };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error("doppler did not become ready");
}

function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", resolve);
    child.kill("SIGTERM");
  });
}

/** Resident set size (kB) of a process now, or its peak with `peak`, from /proc. */
export function rssKb(pid, peak = false) {
  const m = (peak ? /VmHWM:\s+(\d+)/ : /VmRSS:\s+(\d+)/).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

/**
 * The raw NATS floor from the same run: one publisher and one subscriber in this process, core NATS, a message per
 * line of `size` bytes. Returns messages/s.
 */
export async function rawNatsRate(url, { size = 120, count = 500_000 } = {}) {
  const pub = await connect({ servers: url });
  const sub = await connect({ servers: url });
  const payload = new Uint8Array(size).fill(97);
  let got = 0;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  sub.subscribe("bench.raw", {
    callback: () => {
      if (++got === count) resolve();
    },
  });
  await sub.flush();
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    pub.publish("bench.raw", payload);
    if (i % 5000 === 0) await pub.flush();
  }
  await pub.flush();
  await Promise.race([done, new Promise((r) => setTimeout(r, 30_000))]);
  const secs = (performance.now() - start) / 1000;
  await pub.close();
  await sub.close();
  return { msgsPerSec: Math.round(got / secs), received: got, sent: count };
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const fmt = (n) => Math.round(n).toLocaleString("en-US");
