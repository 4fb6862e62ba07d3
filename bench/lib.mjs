// Shared helpers for the benchmark scenarios: a real nats-server, a doppler child process, and the raw NATS floor.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { NatsPublisher } from "@tailrace/agent";
import { AppClaims } from "@tailrace/agent/internal";
import { startNatsCluster, startNatsServer, TEST_JWT_SECRET, testToken } from "@tailrace/testkit";
import pino from "pino";

export const CLI = fileURLToPath(new URL("../packages/cli/bin/tailrace.mjs", import.meta.url));
const TAIL_CLIENT = fileURLToPath(new URL("./tail_client.mjs", import.meta.url));

export { startNatsCluster, startNatsServer, TEST_JWT_SECRET, testToken };

/** `BENCH_SCALE=small` makes every scenario that reads it a quick run (a smoke test of the bench, not a figure). */
export const SMALL = process.env.BENCH_SCALE === "small";

/** How the agent connects (runtime's NATS_CLIENT_DEFAULTS): reconnect forever, quickly, to any URL of the list. */
export const NATS_RECONNECT = { maxReconnectAttempts: -1, reconnectTimeWait: 250, reconnectJitter: 250, pingInterval: 5000, maxPingOut: 2 };

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
 * line of `size` bytes. Returns messages/s. With `subUrl` the subscriber connects there (another node of a cluster:
 * every message crosses a route).
 */
export async function rawNatsRate(url, { size = 120, count = 500_000, subUrl = url } = {}) {
  const pub = await connect({ servers: url });
  const sub = await connect({ servers: subUrl });
  const payload = new Uint8Array(size).fill(97);
  let got = 0;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  sub.subscribe("bench.raw", {
    callback: () => {
      if (++got === count) resolve();
    },
  });
  let probed = false;
  sub.subscribe("bench.probe", { callback: () => (probed = true) });
  await sub.flush();
  // Across a route the interest reaches the publisher's node a moment later: start timing once a probe gets through.
  for (let i = 0; !probed && i < 100; i++) {
    pub.publish("bench.probe");
    await pub.flush();
    await new Promise((r) => setTimeout(r, 20));
  }
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

/**
 * The agent's publisher (NatsPublisher, as `tailrace agent` runs it) in this process, connected to the first URL of
 * `url` (a comma-separated list fails over to the rest).
 */
export async function agentPublisher(url, o = {}) {
  const nc = await connect({ servers: url.split(","), noRandomize: true, ...NATS_RECONNECT });
  const pub = new NatsPublisher(jetstream(nc), new AppClaims(nc), {
    bufferSize: 200_000,
    maxBatch: 512,
    flushMs: 2,
    maxInFlight: 64,
    agentId: `bench-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    // To stderr: stdout carries a scenario's figures.
    logger: pino({ level: "warn" }, pino.destination(2)),
    ...o,
  });
  return { nc, pub };
}

/**
 * Starts tail_client.mjs on `app`'s websocket stream and resolves once its socket is open. `result()` resolves with
 * the next JSON line the client prints (its report); `child` takes SIGTERM (final report) and, in `seq` mode,
 * SIGUSR2 (a progress report).
 */
export function spawnTail(api, app, token, expect, mode = "count") {
  const child = spawn(process.execPath, [TAIL_CLIENT, `${api.replace("http", "ws")}/v1/apps/${app}/stream`, token, String(expect), mode], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  const lines = [];
  let onLine;
  child.stdout.on("data", (d) => {
    out += d.toString();
    let i;
    while ((i = out.indexOf("\n")) >= 0) {
      lines.push(JSON.parse(out.slice(0, i)));
      out = out.slice(i + 1);
      onLine?.();
    }
  });
  const next = () =>
    new Promise((r) => {
      if (lines.length) r(lines.shift());
      else
        onLine = () => {
          onLine = undefined;
          r(lines.shift());
        };
    });
  return next().then(() => ({ child, result: next }));
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const fmt = (n) => Math.round(n).toLocaleString("en-US");
