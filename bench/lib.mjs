// Shared helpers for the benchmark scenarios: a real nats-server, a doppler child process, and the raw NATS floor.
import { spawn } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, createInbox } from "@nats-io/transport-node";
import { NatsPublisher } from "@tailrace/agent";
import { AppClaims } from "@tailrace/agent/internal";
import { nowNs } from "@tailrace/envelope";
import { startNatsCluster, startNatsServer, TEST_JWT_SECRET, testToken } from "@tailrace/testkit";
import pino from "pino";

export const CLI = fileURLToPath(new URL("../packages/cli/bin/tailrace.mjs", import.meta.url));
const TAIL_CLIENT = fileURLToPath(new URL("./tail_client.mjs", import.meta.url));
const MANY_TAILS = fileURLToPath(new URL("./many_tails.mjs", import.meta.url));
const RECENT_CLIENT = fileURLToPath(new URL("./recent_client.mjs", import.meta.url));

export { startNatsCluster, startNatsServer, TEST_JWT_SECRET, testToken };

/** `BENCH_SCALE=small` makes every scenario that reads it a quick run (a smoke test of the bench, not a figure). */
export const SMALL = process.env.BENCH_SCALE === "small";

/** How the agent connects (runtime's NATS_CLIENT_DEFAULTS): reconnect forever, quickly, to any URL of the list. */
export const NATS_RECONNECT = { maxReconnectAttempts: -1, reconnectTimeWait: 250, reconnectJitter: 250, pingInterval: 5000, maxPingOut: 2 };

/** A port free on 127.0.0.1 a moment ago (the kernel's pick). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts `tailrace doppler` as its own process, as it runs in production, and waits for /readyz. A port taken between
 * picking it and the doppler's listen (a full run once lost its apps_width scenario so) is picked again.
 */
export async function startDoppler(natsUrl, extraEnv = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDopplerOnce(natsUrl, extraEnv, await freePort());
    } catch (err) {
      if (attempt >= 3 || !err.exitedEarly) throw err;
      process.stderr.write(`[bench] doppler did not start (${err.message}); again on another port\n`);
    }
  }
}

async function startDopplerOnce(natsUrl, extraEnv, port) {
  // BENCH_DOPPLER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the doppler of a run.
  const nodeArgs = (process.env.BENCH_DOPPLER_NODE_ARGS ?? "").split(" ").filter(Boolean);
  // BENCH_DOPPLER_LOG=/tmp/doppler.log keeps its log (at info), appended.
  const log = process.env.BENCH_DOPPLER_LOG ? openSync(process.env.BENCH_DOPPLER_LOG, "a") : "ignore";
  const child = spawn(process.execPath, [...nodeArgs, CLI, "doppler", "--port", String(port)], {
    env: {
      PATH: process.env.PATH,
      NATS_URL: natsUrl,
      TAILRACE_JWT_SECRET: TEST_JWT_SECRET,
      TAILRACE_DOPPLER_HOST: "127.0.0.1",
      TAILRACE_LOG_LEVEL: log === "ignore" ? "warn" : "info",
      ...extraEnv,
    },
    stdio: ["ignore", log, "inherit"],
  });
  const api = `http://127.0.0.1:${port}`;
  let stopping = false;
  // A doppler that dies mid-scenario shows up as refused connections: say how it ended (a signal: killed from outside).
  child.once("exit", (code, signal) => {
    if (!stopping) process.stderr.write(`[bench] doppler ${child.pid} exited unexpectedly: code ${code}, signal ${signal}\n`);
  });
  const stop = () => {
    stopping = true;
    return stopChild(child);
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) {
      stopping = true;
      throw Object.assign(new Error(`doppler exited with code ${child.exitCode} before it was ready`), { exitedEarly: true });
    }
    try {
      if ((await fetch(`${api}/readyz`)).ok) return { api, child, pid: child.pid, stop };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  stopping = true;
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

/** CPU seconds a process has used (user + system), from /proc/<pid>/stat (utime and stime, fields 14 and 15). */
export function cpuSeconds(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Bytes a process has read through read(2) and its kin (page cache included), from /proc/<pid>/io. */
export function readBytes(pid) {
  const m = /rchar: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, "utf8"));
  return m ? Number(m[1]) : 0;
}

/**
 * The whole machine's CPU, from /proc/stat: with no argument, a reading; with an earlier reading, the percent of all
 * cores busy since then (other work on the machine included: figures from a busy machine say so).
 */
export function machineBusy(since) {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4];
  const total = f.reduce((a, b) => a + b, 0);
  if (!since) return { idle, total };
  return Math.round((1 - (idle - since.idle) / Math.max(1, total - since.total)) * 100);
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
 * The raw JetStream floor of a fan-out: `consumers` push consumers straight on NATS (no doppler), consumer i filtered
 * to app `i mod apps` of a file stream of its own, while every app gets `rate` messages/s of `size` bytes (core
 * publishes, so the publisher is not what is measured) for `seconds`. Every 50th consumer samples the latency
 * (publish → delivery). With `wide`, every consumer is on the whole stream instead (the doppler's shared tail
 * consumer). The stream is deleted afterwards. Returns { consumers, msgsPerSec, expected, delivered, p50Ms, p99Ms }.
 */
export async function rawFanout(url, { consumers, apps, rate = 10, seconds = 5, size = 200, wide = false }) {
  const nc = await connect({ servers: url });
  const sub = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  const stream = "BENCH_RAW_FANOUT";
  await jsm.streams.add({ name: stream, subjects: ["bench.fanout.>"], max_msgs_per_subject: 1000 });
  const lat = [];
  let delivered = 0;
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  for (let i = 0; i < consumers; i++) {
    const sample = i % 50 === 0;
    const inbox = createInbox();
    sub.subscribe(inbox, {
      callback: (_e, m) => {
        if (m.data.length === 0) return;
        delivered++;
        if (sample) lat.push(Date.now() - Number(dec.decode(m.data.subarray(0, 13))));
      },
    });
    await jsm.consumers.add(stream, {
      filter_subject: wide ? "bench.fanout.>" : `bench.fanout.a${i % apps}`,
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.New,
      deliver_subject: inbox,
      mem_storage: true,
    });
  }
  await sub.flush();
  const pad = "x".repeat(size - 13);
  const start = performance.now();
  const ticks = Math.round(rate * seconds);
  for (let t = 0; t < ticks; t++) {
    for (let a = 0; a < apps; a++) nc.publish(`bench.fanout.a${a}`, enc.encode(`${Date.now()}${pad}`));
    await nc.flush();
    await sleep(Math.max(0, start + ((t + 1) * 1000) / rate - performance.now()));
  }
  const expected = ticks * (wide ? apps * consumers : consumers);
  for (const until = Date.now() + 10_000; delivered < expected && Date.now() < until; ) await sleep(50);
  await jsm.streams.delete(stream);
  await sub.close();
  await nc.close();
  lat.sort((a, b) => a - b);
  return {
    consumers,
    msgsPerSec: Math.round((ticks * apps) / seconds),
    ...(wide ? { filter: "bench.fanout.>" } : {}),
    expected,
    delivered,
    p50Ms: percentile(lat, 50),
    p99Ms: percentile(lat, 99),
  };
}

/**
 * The agent's publisher (NatsPublisher, as `tailrace agent` runs it) in this process, connected to the first URL of
 * `url` (a comma-separated list fails over to the rest).
 */
export async function agentPublisher(url, o = {}) {
  // As `tailrace agent` connects: without nats.js's async stack trace per request (5% of a publisher's CPU, issue 13).
  const nc = await connect({ servers: url.split(","), noRandomize: true, ...NATS_RECONNECT, noAsyncTraces: true });
  const pub = new NatsPublisher(jetstream(nc), new AppClaims(nc), {
    bufferSize: 200_000,
    maxBatch: 512,
    flushMs: 2,
    maxInFlight: 64,
    agentId: `bench-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    // To stderr: stdout carries a scenario's figures.
    logger: pino({ level: "warn" }, pino.destination(2)),
    maxPayload: () => nc.info?.max_payload,
    connection: nc,
    ...o,
  });
  const close = async () => {
    await pub.stop();
    await nc.close();
  };
  return { nc, pub, close };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Claims every app's source id for `tenant` the way the agent does on an app's first publish, `window` at once (the
 * publisher's in-flight window), then waits until the doppler at `api` knows the last one (its registry mirrors the
 * claims: a read answers 404 before, 200 after). Returns { claimAllMs, dopplerKnowsAllMs } (the latter null if the
 * doppler did not learn it in `timeoutMs`), both from the first claim.
 */
export async function claimApps(pub, apps, { api, token, tenant = "bench", window = 64, timeoutMs = 120_000 }) {
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < apps.length) await pub.claim(tenant, apps[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(window, apps.length) }, worker));
  const claimAllMs = Math.round(performance.now() - t0);
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const res = await fetch(`${api}/api/v1/read/${apps[apps.length - 1]}?limit=1`, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    if (res.ok) return { claimAllMs, dopplerKnowsAllMs: Math.round(performance.now() - t0) };
    await sleep(20);
  }
  return { claimAllMs, dopplerKnowsAllMs: null };
}

/**
 * Many apps logging at once through one publisher: each tick writes one line for every app, `rate` ticks a second,
 * until `ticks` ticks or `seconds` have passed. Where the publisher cannot keep up (its buffer past `highWater`), the
 * writer waits for it rather than let the buffer drop lines: the ticks stretch, and `ticks / secs` is the per-app
 * rate reached. `onTick(t)` runs after each tick. Returns { ticks, lines, secs }.
 */
export async function pacedApps(
  pub,
  apps,
  { rate = 10, ticks = Infinity, seconds = Infinity, payload, tenant = "bench", highWater = 100_000, onTick } = {},
) {
  const channels = apps.map((app) => ({
    app,
    ch: pub.channel(tenant, app),
    tags: { tenant, app_name: app, source_type: "APP/PROC/WEB", process_type: "web" },
  }));
  const start = performance.now();
  const end = start + seconds * 1000;
  let t = 0;
  let lines = 0;
  const room = async () => {
    await new Promise((r) => setImmediate(r));
    while (pub.buffer.size > highWater) await sleep(1);
  };
  while (t < ticks && performance.now() < end) {
    for (let i = 0; i < channels.length; i++) {
      const c = channels[i];
      c.ch.write({ timestamp: nowNs(), sourceId: c.app, instanceId: "0", tags: c.tags, log: { payload, type: "OUT" } });
      if (i % 2000 === 1999) await room();
    }
    lines += channels.length;
    t++;
    await onTick?.(t);
    await sleep(Math.max(0, start + (t * 1000) / rate - performance.now()));
    await room();
  }
  return { ticks: t, lines, secs: (performance.now() - start) / 1000 };
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

/**
 * Starts many_tails.mjs: `count` websocket tails in one process, tail `first + j` on app `<prefix><(first + j) % apps>`,
 * each done at `expect` envelopes. `next(timeoutMs)` resolves with the next JSON line it prints (`{"allOpen":true}`,
 * then its report, also on SIGTERM).
 */
export function spawnManyTails(api, token, count, apps, expect, { prefix = "fan", first = 0 } = {}) {
  const child = spawn(
    process.execPath,
    [
      "--max-old-space-size=4096",
      MANY_TAILS,
      api.replace("http", "ws"),
      token,
      String(count),
      String(apps),
      String(expect),
      prefix,
      String(first),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = [];
  let buf = "";
  let wake;
  child.stdout.on("data", (d) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
      wake?.();
    }
  });
  const next = (timeoutMs) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("many_tails timed out")), timeoutMs);
      const take = () => {
        if (!lines.length) return void (wake = take);
        clearTimeout(t);
        resolve(lines.shift());
      };
      take();
    });
  return { child, next };
}

/**
 * `count` reads of `tailrace logs <app> --recent` (the CLI's query: the newest 1,000 log lines) from recent_client.mjs,
 * a process of its own, at least `gapMs` apart. Resolves with its report: { requests, statuses, envelopes, p50Ms,
 * p99Ms, maxMs }.
 */
export function recentReads(api, app, token, count, gapMs = 0) {
  const url = `${api}/api/v1/read/${app}?limit=1000&descending=true&envelope_types=LOG`;
  const child = spawn(process.execPath, [RECENT_CLIENT, url, token, String(count), String(gapMs)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`recent_client exited with ${code}`))));
  });
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const fmt = (n) => Math.round(n).toLocaleString("en-US");
