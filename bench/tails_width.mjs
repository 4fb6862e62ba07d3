// Scenario: cost as the number of live tails grows (issue 13). 1, 100, 1,000 and 10,000 websocket tails spread over
// 1,000 apps of one tenant (tail i follows app i mod 1,000: one feed per app that has a tail, on a consumer of its own or the shared one),
// while all 1,000 apps log RATE lines/s each through one agent publisher (in this process) into a real nats-server and
// a doppler (its own process). The tails run in client processes of their own (many_tails.mjs, up to 2,500 sockets
// each), which count every envelope and sample the ingest→tail latency (envelope timestamp, set when the line is
// written, to its arrival) on every 50th tail. Reports every line delivered to every tail (delivered / expected,
// lost), doppler RSS before the tails, with them idle, and with the lines flowing, doppler CPU, and p50/p99 latency.
// Each point runs on a fresh nats-server and doppler. BENCH_SCALE=small runs 1, 100 and 1,000 tails over 100 apps.
import {
  agentPublisher,
  claimApps,
  cpuSeconds,
  fmt,
  machineBusy,
  pacedApps,
  percentile,
  rawFanout,
  rawNatsRate,
  rssKb,
  SMALL,
  spawnManyTails,
  startDoppler,
  startNatsServer,
  testToken,
} from "./lib.mjs";
import { lineChart } from "./svg.mjs";

// BENCH_TAILS=1000,10000 runs only those points (the chart is written only for the full set).
const PICKED = process.env.BENCH_TAILS?.split(",").map(Number);
const POINTS = PICKED ?? (SMALL ? [1, 100, 1000] : [1, 100, 1000, 10_000]);
const APPS = SMALL ? 100 : 1000;
const RATE = 10;
const SECONDS = SMALL ? 5 : 15;
const PER_PROCESS = 2500;
const LINE = Buffer.from("GET /orders/12345 200 1.2ms user=alice trace=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7");
const LIMITS = {
  ...(process.env.TAILRACE_TAIL_CONSUMERS ? { TAILRACE_TAIL_CONSUMERS: process.env.TAILRACE_TAIL_CONSUMERS } : {}),
  TAILRACE_MAX_TAILS_PER_TENANT: "20000",
  TAILRACE_MAX_TAILS_PER_ADDRESS: "20000",
  TAILRACE_REQUEST_RATE: "100000",
};

const mb = (kb) => Math.round(kb / 1024);

/** The sum of a counter's samples in Prometheus text whose labels contain every one of `labels`. */
function counterSum(text, name, labels = []) {
  let n = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels.every((l) => line.includes(l))) n += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return n;
}

export async function point(tails, rate = RATE) {
  const nats = await startNatsServer();
  const doppler = await startDoppler(nats.url, LIMITS);
  const { pub, close } = await agentPublisher(nats.url);
  const clients = [];
  try {
    const token = await testToken({ tenant: "bench" });
    const raw = await rawNatsRate(nats.url, { count: 200_000 });
    // What NATS alone costs for the doppler's side of this point: one filtered consumer per app that has a tail.
    const rawJs = await rawFanout(nats.url, { consumers: Math.min(tails, APPS), apps: APPS, rate });
    // And what it costs for the shared consumer the doppler uses past TAILRACE_TAIL_CONSUMERS apps: one, on everything.
    const rawJsWide = await rawFanout(nats.url, { consumers: 1, apps: APPS, rate, wide: true });
    const apps = Array.from({ length: APPS }, (_, i) => `t${i}`);
    await claimApps(pub, apps, { api: doppler.api, token });
    const rssBefore = rssKb(doppler.pid);
    const ticks = rate * SECONDS;
    for (let first = 0; first < tails; first += PER_PROCESS) {
      clients.push(spawnManyTails(doppler.api, token, Math.min(PER_PROCESS, tails - first), APPS, ticks, { prefix: "t", first }));
    }
    const o0 = performance.now();
    const opened = await Promise.all(clients.map((c) => c.next(180_000)));
    const openAllMs = Math.round(performance.now() - o0);
    // Let the last feeds' consumers settle before measuring the idle cost.
    await new Promise((r) => setTimeout(r, 1000));
    const rssIdle = rssKb(doppler.pid);
    const open = await (await fetch(`${doppler.api}/metrics`)).text();
    const reports = clients.map((c) => c.next(SECONDS * 1000 + 180_000));
    // CPU of every process of the run over the load: on two cores, the tail clients compete with the doppler.
    const procs = { doppler: [doppler.pid], nats: [nats.pid], tailClients: clients.map((c) => c.child.pid) };
    const cpuOf = () => Object.fromEntries(Object.entries(procs).map(([k, pids]) => [k, pids.reduce((n, pid) => n + cpuSeconds(pid), 0)]));
    const cpu0 = cpuOf();
    const bench0 = process.cpuUsage();
    const busy0 = machineBusy();
    // Where a backlog sits, sampled once a second: in the agent's buffer (lines not yet published), or in the
    // doppler's tail feeds (messages stored and not yet read).
    const backlog = { agentBufferMax: 0, dopplerFeedLagMax: 0 };
    const sample = async (t) => {
      if (t % rate !== 0) return;
      backlog.agentBufferMax = Math.max(backlog.agentBufferMax, pub.buffer.size);
      const m = await (await fetch(`${doppler.api}/metrics`)).text().catch(() => "");
      backlog.dopplerFeedLagMax = Math.max(
        backlog.dopplerFeedLagMax,
        counterSum(m, "tailrace_consumer_lag_messages", ['consumer="tails"']),
      );
    };
    const load = await pacedApps(pub, apps, { rate, ticks, seconds: SECONDS * 4, payload: LINE, onTick: sample });
    const cpu1 = cpuOf();
    const b = process.cpuUsage(bench0);
    const cpuPercent = Object.fromEntries(Object.keys(procs).map((k) => [k, Math.round(((cpu1[k] - cpu0[k]) / load.secs) * 100)]));
    cpuPercent.agentPublisher = Math.round(((b.user + b.system) / 1e6 / load.secs) * 100);
    cpuPercent.machine = machineBusy(busy0);
    const rssLoaded = rssKb(doppler.pid);
    await pub.drain(30_000);
    // Every tail reports once it has all its app's lines; those still short after 20 s report on SIGTERM.
    const cut = setTimeout(() => {
      for (const c of clients) c.child.kill("SIGTERM");
    }, 20_000);
    const got = await Promise.all(reports);
    clearTimeout(cut);
    const metrics = await (await fetch(`${doppler.api}/metrics`)).text();
    const lat = got.flatMap((r) => r.lat).sort((a, b) => a - b);
    const delivered = got.reduce((n, r) => n + r.total, 0);
    const expected = tails * load.ticks;
    return {
      tails,
      apps: APPS,
      appsTailed: Math.min(tails, APPS),
      perAppLinesPerSec: Math.round((load.ticks / load.secs) * 10) / 10,
      ingestLinesPerSec: Math.round(load.lines / load.secs),
      deliveredPerSec: Math.round(expected / load.secs),
      expected,
      delivered,
      lost: Math.max(0, expected - delivered),
      tailsShort: got.reduce((n, r) => n + r.short, 0),
      tailsFailedToOpen: opened.reduce((n, r) => n + r.failed, 0),
      connectRetries: opened.reduce((n, r) => n + r.retried, 0),
      tailsClosed: got.reduce((n, r) => n + r.closed, 0),
      backlog,
      dopplerDropped: counterSum(metrics, "tailrace_envelopes_dropped_total", ['direction="egress"']),
      // Apps whose tails read a consumer of their own, and apps routed on the one shared consumer (wide feed).
      tailFeeds: {
        app: counterSum(open, "tailrace_doppler_tail_feeds", ['feed="app"']),
        wide: counterSum(open, "tailrace_doppler_tail_feeds", ['feed="wide"']),
      },
      openAllMs,
      dopplerRssMbBefore: mb(rssBefore),
      dopplerRssMbIdleTails: mb(rssIdle),
      dopplerRssMbLoaded: mb(rssLoaded),
      dopplerRssMbPeak: mb(rssKb(doppler.pid, true)),
      cpuPercent,
      natsRssMb: mb(rssKb(nats.pid)),
      latencySamples: lat.length,
      p50Ms: percentile(lat, 50),
      p99Ms: percentile(lat, 99),
      maxMs: lat[lat.length - 1] ?? null,
      rawNatsMsgsPerSec: raw.msgsPerSec,
      rawJetStreamFanout: rawJs,
      rawJetStreamWide: rawJsWide,
    };
  } finally {
    for (const c of clients) c.child.kill("SIGKILL");
    await close();
    await doppler.stop();
    await nats.stop();
  }
}

export async function run() {
  const points = [];
  for (const n of POINTS) {
    const p = await point(n);
    process.stderr.write(`[tails_width] ${fmt(n)} tails: ${JSON.stringify(p)}\n`);
    points.push(p);
  }
  if (!SMALL && !PICKED) {
    lineChart(new URL("../docs/bench-tails.svg", import.meta.url), {
      title: `Live tails over ${fmt(APPS)} apps on one doppler (${RATE} lines/s per app)`,
      x: { label: "tails", values: points.map((p) => p.tails), log: true },
      series: [
        { label: "doppler RSS with lines flowing (MB)", values: points.map((p) => p.dopplerRssMbLoaded) },
        { label: "doppler CPU (%)", values: points.map((p) => p.cpuPercent.doppler) },
        { label: "nats-server CPU (%)", values: points.map((p) => p.cpuPercent.nats) },
        { label: "p99 ingest→tail (ms)", values: points.map((p) => p.p99Ms) },
        { label: "lines lost", values: points.map((p) => p.lost) },
      ],
    });
  }
  return { points };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await run();
  console.log(JSON.stringify(r, null, 2));
}
