// Scenario: cost as the number of drains grows (issue 13). For 1, 10, 100, 1,000 and 5,000 apps, each with one TCP
// syslog drain (plus one app with 5 drains), each app logging 10 lines/s through an agent publisher: every line is
// counted at real rsyslog receivers (four of them, thousands of drain URLs pointing at them), with drainer RSS and CPU,
// nats-server RSS, the time to bind a new drain (binding → its first line at rsyslog), and the time a second drainer
// takes to deliver every drain again after the first is killed with SIGKILL. Each point runs on a fresh nats-server.
// BENCH_SCALE=small runs 1, 10 and 100 drains for a few seconds each.
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { DrainStore } from "@tailrace/drainer";
import { nowNs } from "@tailrace/envelope";
import { freePort, startRsyslog } from "@tailrace/testkit";
import { agentPublisher, CLI, cpuSeconds, fmt, rawNatsRate, rssKb, SMALL, startDoppler, startNatsServer } from "./lib.mjs";
import { lineChart } from "./svg.mjs";

// BENCH_DRAINS=1000,5000 runs only those points.
const POINTS = process.env.BENCH_DRAINS ? process.env.BENCH_DRAINS.split(",").map(Number) : SMALL ? [1, 10, 100] : [1, 10, 100, 1000, 5000];
const SECONDS = SMALL ? 6 : 20;
const RATE = 10;
/** Five, so that the five drains of one app each have a receiver of their own. */
const RECEIVERS = 5;
const TICK_MS = 1000 / RATE;

/**
 * Follows rsyslog's out.jsonl files: lines per receiver and app (`<receiver>:<app>`, one drain each), in order, with
 * duplicates, and each drain's first line after `mark()` (the kill of the first drainer).
 */
function follower(files) {
  // From where each file is now: the receivers outlive a point, and what an earlier point wrote is not this one's.
  const offsets = new Map(files.map((f) => [f, existsSync(f) ? statSync(f).size : 0]));
  const partial = new Map(files.map((f) => [f, ""]));
  const apps = new Map();
  let markedAt = 0;
  const poll = () => {
    for (const [fi, f] of files.entries()) {
      if (!existsSync(f)) continue;
      const size = statSync(f).size;
      const from = offsets.get(f);
      if (size <= from) continue;
      const fd = openSync(f, "r");
      const buf = Buffer.alloc(size - from);
      readSync(fd, buf, 0, buf.length, from);
      closeSync(fd);
      offsets.set(f, size);
      const text = partial.get(f) + buf.toString("utf8");
      const lines = text.split("\n");
      partial.set(f, lines.pop());
      const now = performance.now();
      for (const l of lines) {
        const m = /"appName":"([^"]+)".*"msg":"n (\d+) /.exec(l);
        if (!m) continue;
        const key = `${fi}:${m[1]}`;
        let a = apps.get(key);
        if (!a) {
          a = { seen: new Set(), count: 0, dups: 0, outOfOrder: 0, last: -1, first: now, lastAt: now };
          apps.set(key, a);
        }
        const n = Number(m[2]);
        if (a.seen.has(n)) a.dups++;
        else {
          a.seen.add(n);
          a.count++;
          if (n < a.last) a.outOfOrder++;
          a.last = Math.max(a.last, n);
        }
        a.lastAt = now;
        if (markedAt && now > markedAt && a.resumedAt === undefined) a.resumedAt = now - markedAt;
      }
    }
  };
  return { apps, poll, mark: () => (markedAt = performance.now()) };
}

async function startDrainer(natsUrl, id) {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, "drainer", "--port", String(port)], {
    env: {
      PATH: process.env.PATH,
      NATS_URL: natsUrl,
      TAILRACE_DRAINER_ID: id,
      TAILRACE_DRAIN_ALLOW_CIDRS: "127.0.0.0/8",
      TAILRACE_DRAINER_HOST: "127.0.0.1",
      TAILRACE_DRAIN_LEASE_TTL: "5s",
      TAILRACE_LOG_LEVEL: process.env.BENCH_DRAINER_LOG_LEVEL ?? "warn",
    },
    // Its log (warnings and errors only, unless BENCH_DRAINER_LOG_LEVEL says otherwise) to the bench's stderr.
    stdio: ["ignore", 2, "inherit"],
  });
  return { child, port };
}

async function waitReady(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("drainer not ready");
}

const step = (drains, what) => process.stderr.write(`[drains_width] ${drains} drains: ${what}\n`);

async function point(drains, rsyslogs) {
  const nats = await startNatsServer();
  const doppler = await startDoppler(nats.url);
  const nc = await connect({ servers: nats.url });
  const raw = await rawNatsRate(nats.url, { count: 200_000 });
  const store = await DrainStore.open(nc);
  const apps = Array.from({ length: drains }, (_, i) => `w${i}`);
  const port = (i) => rsyslogs[i % rsyslogs.length].port;
  const t0 = performance.now();
  for (const [i, app] of apps.entries()) await store.add("bench", app, `syslog://127.0.0.1:${port(i)}`, 5);
  // One app with five drains, each to a receiver of its own.
  for (let k = 0; k < 5; k++) await store.add("bench", "multi", `syslog://127.0.0.1:${port(k)}`, 5);
  const bindMs = performance.now() - t0;
  step(drains, `bound in ${Math.round(bindMs)} ms`);
  const a = await startDrainer(nats.url, "bench-a");
  await waitReady(a.port);
  step(drains, "drainer ready");
  // One publisher stands for the agents of 5,000 apps: with the agent's 64 publishes in flight, a publish round trip
  // above ~50 ms (a loaded machine) filled its buffer and it dropped lines, which then counted as drain loss.
  const { pub, nc: pubNc } = await agentPublisher(nats.url, { maxInFlight: 256 });
  step(drains, "publishing");
  const follow = follower(rsyslogs.map((r) => r.outFile));
  const senders = [...apps, "multi", "late"];
  const tags = (app) => ({ tenant: "bench", app_name: app, source_type: "APP/PROC/WEB", process_type: "web" });
  const channels = senders.map((app) => ({ app, ch: pub.channel("bench", app), tags: tags(app) }));
  let seq = 0;
  const cpuA0 = cpuSeconds(a.child.pid);
  const started = performance.now();
  let b;
  let lateBoundAt = 0;
  let lateAddMs = 0;
  let rssA = 0;
  let cpuA = 0;
  const ticks = SECONDS * RATE;
  for (let t = 0; t < ticks; t++) {
    const n = seq++;
    for (const c of channels) {
      c.ch.write({
        timestamp: nowNs(),
        sourceId: c.app,
        instanceId: "0",
        tags: c.tags,
        log: { payload: Buffer.from(`n ${n} ${c.app}`), type: "OUT" },
      });
    }
    const at = t / RATE;
    if (t === Math.floor(ticks * 0.25)) {
      const addAt = performance.now();
      await store.add("bench", "late", `syslog://127.0.0.1:${port(0)}`, 5);
      lateBoundAt = performance.now();
      lateAddMs = lateBoundAt - addAt;
    }
    if (t === Math.floor(ticks * 0.4)) {
      b = await startDrainer(nats.url, "bench-b");
      await waitReady(b.port);
    }
    if (t === Math.floor(ticks * 0.6)) {
      rssA = rssKb(a.child.pid);
      cpuA = cpuSeconds(a.child.pid) - cpuA0;
      a.child.kill("SIGKILL");
      follow.poll();
      follow.mark();
    }
    follow.poll();
    const next = started + (t + 1) * TICK_MS;
    await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    void at;
  }
  const sentPerApp = seq;
  const publishSecs = (performance.now() - started) / 1000;
  await pub.stop(30_000);
  step(drains, "published; waiting for every line");
  // Every drained app's lines: all of them for the bound apps, and those since its binding for "late".
  const want = [...apps.map((app, i) => `${i % RECEIVERS}:${app}`), ...Array.from({ length: 5 }, (_, k) => `${k}:multi`)];
  const deadline = Date.now() + (SMALL ? 60_000 : 180_000);
  const complete = () => want.every((key) => (follow.apps.get(key)?.count ?? 0) >= sentPerApp);
  while (!complete() && Date.now() < deadline) {
    follow.poll();
    await new Promise((r) => setTimeout(r, 200));
  }
  follow.poll();
  const late = follow.apps.get("0:late");
  // Takeover: the longest any drain went without a line after the kill, measured by its first line after it.
  let takeoverMs = 0;
  const firstAfter = [];
  for (const app of want) {
    const x = follow.apps.get(app);
    if (x) firstAfter.push(x);
  }
  takeoverMs = Math.max(0, ...firstAfter.map((x) => x.resumedAt ?? 0));
  // How the drains' first lines after the kill spread: a few stragglers, or all of them late.
  const resumed = firstAfter.map((x) => x.resumedAt ?? 0).sort((x, y) => x - y);
  const at = (q) => Math.round(resumed[Math.min(resumed.length - 1, Math.floor(q * resumed.length))] ?? 0);
  let delivered = 0;
  let dups = 0;
  let outOfOrder = 0;
  for (const app of want) {
    const x = follow.apps.get(app);
    delivered += x?.count ?? 0;
    dups += x?.dups ?? 0;
    outOfOrder += x?.outOfOrder ?? 0;
  }
  const expected = want.length * sentPerApp;
  const rssB = rssKb(b.child.pid);
  const cpuB = cpuSeconds(b.child.pid);
  const natsRss = rssKb(nats.pid);
  const result = {
    drains: drains + 5,
    apps: drains + 1,
    linesPerApp: sentPerApp,
    ingestLinesPerSec: Math.round((senders.length * sentPerApp) / publishSecs),
    expected,
    delivered,
    lost: expected - delivered,
    duplicates: dups,
    outOfOrder,
    bindAllMs: Math.round(bindMs),
    newDrainFirstLineMs: late ? Math.round(late.first - lateBoundAt) : null,
    // Of which the binding's own write (the bindings bucket, on a connection shared with the publisher).
    newDrainBindMs: Math.round(lateAddMs),
    takeoverFirstLinesMs: Math.round(takeoverMs),
    takeoverFirstLinesP50P90Ms: [at(0.5), at(0.9)],
    drainerRssMb: Math.round(Math.max(rssA, rssB) / 1024),
    // The first drainer, over the 60% of the run it lived (the second drainer shared the work for the last third).
    drainerCpuPercent: Math.round((cpuA / (SECONDS * 0.6)) * 100),
    secondDrainerCpuSeconds: Math.round(cpuB * 10) / 10,
    natsRssMb: Math.round(natsRss / 1024),
    rawNatsMsgsPerSec: raw.msgsPerSec,
  };
  const exited = new Promise((r) => b.child.once("exit", r));
  b.child.kill("SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  await pubNc.close();
  await nc.close();
  await doppler.stop();
  await nats.stop();
  return result;
}

export async function run() {
  const dir = await mkdtemp(join(tmpdir(), "bench-drains-"));
  const rsyslogs = [];
  for (let i = 0; i < RECEIVERS; i++) rsyslogs.push(await startRsyslog({ dir: join(dir, `rx${i}`), maxSessions: 4000 }));
  const points = [];
  try {
    for (const n of POINTS) {
      const p = await point(n, rsyslogs);
      process.stderr.write(`[drains_width] ${fmt(p.drains)} drains: ${JSON.stringify(p)}\n`);
      points.push(p);
    }
  } finally {
    for (const r of rsyslogs) await r.stop();
    await rm(dir, { recursive: true, force: true });
  }
  if (!SMALL && !process.env.BENCH_DRAINS) {
    lineChart(new URL("../docs/bench-drains.svg", import.meta.url), {
      title: "Drains on one drainer (10 lines/s per app)",
      x: { label: "drains", values: points.map((p) => p.drains), log: true },
      series: [
        { label: "drainer RSS (MB)", values: points.map((p) => p.drainerRssMb) },
        { label: "drainer CPU (%)", values: points.map((p) => p.drainerCpuPercent) },
        { label: "nats-server RSS (MB)", values: points.map((p) => p.natsRssMb) },
      ],
    });
  }
  return { points };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await run();
  console.log(JSON.stringify(r, null, 2));
}
