// Scenario: cost as the number of apps grows (issue 13). For 1, 100, 1,000, 10,000 and 50,000 apps of one tenant,
// each logging 10 lines/s through one agent publisher (NatsPublisher, in this process) into a real nats-server with a
// doppler beside it (its own process): the lines/s stored, doppler and nats-server RSS and CPU, JetStream storage of
// TAILRACE_DATA, the time to claim every app's source id in KV (and until the doppler knows them all), and
// `tailrace logs a0 --recent` (the newest 1,000 lines of one app) p50/p99, read from a process of its own while the
// apps log and again once they stop. Where one publisher on this machine cannot write 10 lines/s for every app
// (50,000 apps is 500,000 lines/s), each app writes its lines round-robin at the pace the publisher keeps up with,
// and the rate reached is what is reported. Each point runs on a fresh nats-server and doppler. Also, as its own
// figure: one app at the full rate, as fast as the publisher goes. BENCH_SCALE=small runs 1, 100 and 1,000 apps.
import { jetstreamManager } from "@nats-io/jetstream";
import { APPS_BUCKET, DATA_STREAM, nowNs } from "@tailrace/envelope";
import {
  agentPublisher,
  claimApps,
  cpuSeconds,
  fmt,
  machineBusy,
  pacedApps,
  rawNatsRate,
  readBytes,
  recentReads,
  rssKb,
  SMALL,
  startDoppler,
  startNatsServer,
  testToken,
} from "./lib.mjs";
import { lineChart } from "./svg.mjs";

// BENCH_APPS=50000 runs only those points.
const POINTS = process.env.BENCH_APPS
  ? process.env.BENCH_APPS.split(",").map(Number)
  : SMALL
    ? [1, 100, 1000]
    : [1, 100, 1000, 10_000, 50_000];
const SECONDS = SMALL ? 5 : 15;
const RATE = 10;
const READS = SMALL ? 50 : 200;
const LINE = Buffer.from("GET /orders/12345 200 1.2ms user=alice trace=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7");
const DOPPLER_ENV = { TAILRACE_REQUEST_RATE: "100000" };

const mb = (kb) => Math.round(kb / 1024);
const pct = (cpu, secs) => Math.round((cpu / secs) * 100);

/** 1,000 lines of `app` as a steady app's would arrive, ~10 a batch, so that `--recent` has a full answer. */
async function history(pub, app) {
  const ch = pub.channel("bench", app);
  const tags = { tenant: "bench", app_name: app, source_type: "APP/PROC/WEB", process_type: "web" };
  for (let i = 0; i < 1000; i++) {
    ch.write({ timestamp: nowNs(), sourceId: app, instanceId: "0", tags, log: { payload: LINE, type: "OUT" } });
    if (i % 10 === 9) await pub.drain(5000);
  }
}

export async function point(n) {
  const nats = await startNatsServer();
  const doppler = await startDoppler(nats.url, DOPPLER_ENV);
  const { nc, pub, close } = await agentPublisher(nats.url);
  try {
    const jsm = await jetstreamManager(nc);
    const token = await testToken({ tenant: "bench" });
    const raw = await rawNatsRate(nats.url, { count: 200_000 });
    const apps = Array.from({ length: n }, (_, i) => `a${i}`);
    // The agent claims each source id in KV before its first publish: timed here on its own, for every app.
    const claims = await claimApps(pub, apps, { api: doppler.api, token });
    await history(pub, "a0");
    const cpu0 = { nats: cpuSeconds(nats.pid), doppler: cpuSeconds(doppler.pid), bench: process.cpuUsage(), machine: machineBusy() };
    const sent0 = pub.stats.sent;
    const dropped0 = pub.stats.dropped;
    // Reads while the apps log, from 2 s in, at most 20 a second.
    const underLoad = new Promise((r) => setTimeout(r, 2000)).then(() => recentReads(doppler.api, "a0", token, READS, 50));
    const l0 = performance.now();
    const load = await pacedApps(pub, apps, { rate: RATE, seconds: SECONDS, payload: LINE });
    const rssAtEnd = { doppler: rssKb(doppler.pid), nats: rssKb(nats.pid) };
    await pub.drain(60_000);
    // Until the last line written is stored: what the publisher could not send in time counts against its rate.
    const secs = (performance.now() - l0) / 1000;
    const agent = process.cpuUsage(cpu0.bench);
    const cpu = {
      nats: pct(cpuSeconds(nats.pid) - cpu0.nats, secs),
      doppler: pct(cpuSeconds(doppler.pid) - cpu0.doppler, secs),
      // This process: the agent's publisher and the apps writing into it.
      agentPublisher: pct((agent.user + agent.system) / 1e6, secs),
      machine: machineBusy(cpu0.machine),
    };
    const readsUnderLoad = await underLoad;
    const info = await jsm.streams.info(DATA_STREAM);
    const kv = await jsm.streams.info(`KV_${APPS_BUCKET}`);
    const readsAfter = await recentReads(doppler.api, "a0", token, READS);
    // One read after 6 s without any: nats-server 2.9 drops a file block's cache 5 s after its last use, and the
    // next read of an app loads again every block that holds any of its messages. nats-server's bytes read say so.
    await new Promise((r) => setTimeout(r, 6000));
    const read0 = readBytes(nats.pid);
    const c0 = performance.now();
    const cold = await fetch(`${doppler.api}/api/v1/read/a0?limit=1000&descending=true&envelope_types=LOG`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await cold.arrayBuffer();
    const recentColdMs = Math.round(performance.now() - c0);
    const coldNatsReadMb = Math.round((readBytes(nats.pid) - read0) / 1e5) / 10;
    const stored = pub.stats.sent - sent0;
    return {
      apps: n,
      perAppLinesPerSec: Math.round((load.ticks / load.secs) * 10) / 10,
      ingestLinesPerSec: Math.round(stored / secs),
      linesWritten: load.lines,
      linesStored: stored,
      agentDropped: pub.stats.dropped - dropped0,
      claimAllMs: claims.claimAllMs,
      claimsPerSec: Math.round(n / (Math.max(1, claims.claimAllMs) / 1000)),
      dopplerKnowsAllMs: claims.dopplerKnowsAllMs,
      dopplerRssMb: mb(rssAtEnd.doppler),
      natsRssMb: mb(rssAtEnd.nats),
      cpuPercent: cpu,
      jetstream: {
        dataBytes: info.state.bytes,
        dataMessages: info.state.messages,
        subjects: info.state.num_subjects,
        bytesPerLine: Math.round(info.state.bytes / Math.max(1, stored + 1000)),
        // The agent batches per app: at width each app has only a line or two waiting when its turn comes.
        linesPerMessage: Math.round(((stored + 1000) / Math.max(1, info.state.messages)) * 10) / 10,
        claimsKvBytes: kv.state.bytes,
      },
      recentUnderLoad: readsUnderLoad,
      recentAfter: readsAfter,
      recentAfter6sIdle: { ms: recentColdMs, natsReadMb: coldNatsReadMb },
      rawNatsMsgsPerSec: raw.msgsPerSec,
    };
  } finally {
    await close();
    await doppler.stop();
    await nats.stop();
  }
}

/** One app as fast as the publisher goes: `total` lines written as the buffer takes them, timed until all are stored. */
export async function fullRate(total) {
  const nats = await startNatsServer();
  const doppler = await startDoppler(nats.url, DOPPLER_ENV);
  const { pub, close } = await agentPublisher(nats.url);
  try {
    const raw = await rawNatsRate(nats.url);
    await pub.claim("bench", "full");
    const ch = pub.channel("bench", "full");
    const tags = { tenant: "bench", app_name: "full", source_type: "APP/PROC/WEB", process_type: "web" };
    const start = performance.now();
    for (let i = 0; i < total; i++) {
      ch.write({ timestamp: nowNs(), sourceId: "full", instanceId: "0", tags, log: { payload: LINE, type: "OUT" } });
      if (i % 2000 === 0) {
        await new Promise((r) => setImmediate(r));
        while (pub.buffer.size > 100_000) await new Promise((r) => setTimeout(r, 1));
      }
    }
    await pub.drain(60_000);
    const secs = (performance.now() - start) / 1000;
    const linesPerSec = Math.round(pub.stats.sent / secs);
    return {
      lines: total,
      stored: pub.stats.sent,
      linesPerSec,
      ratioToRawNats: Math.round((linesPerSec / raw.msgsPerSec) * 100) / 100,
      natsRssMb: mb(rssKb(nats.pid)),
      rawNatsMsgsPerSec: raw.msgsPerSec,
    };
  } finally {
    await close();
    await doppler.stop();
    await nats.stop();
  }
}

export async function run() {
  const oneAppFullRate = await fullRate(SMALL ? 100_000 : 500_000);
  process.stderr.write(`[apps_width] one app at the full rate: ${JSON.stringify(oneAppFullRate)}\n`);
  const points = [];
  for (const n of POINTS) {
    const p = await point(n);
    process.stderr.write(`[apps_width] ${fmt(n)} apps: ${JSON.stringify(p)}\n`);
    points.push(p);
  }
  if (!SMALL && !process.env.BENCH_APPS) {
    lineChart(new URL("../docs/bench-apps.svg", import.meta.url), {
      title: `Apps on one doppler and one nats-server (${RATE} lines/s per app asked)`,
      x: { label: "apps", values: points.map((p) => p.apps), log: true },
      series: [
        { label: "stored lines/s (thousands)", values: points.map((p) => p.ingestLinesPerSec / 1000) },
        { label: "nats-server RSS (MB)", values: points.map((p) => p.natsRssMb) },
        { label: "doppler RSS (MB)", values: points.map((p) => p.dopplerRssMb) },
        { label: "--recent p99 under load (ms)", values: points.map((p) => p.recentUnderLoad.p99Ms) },
        { label: "--recent after 6 s idle (ms)", values: points.map((p) => p.recentAfter6sIdle.ms) },
      ],
    });
  }
  return { oneAppFullRate, points };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await run();
  console.log(JSON.stringify(r, null, 2));
}
