// Scenarios on the doppler itself (its own process): `--recent` of 1,000 lines, 1,000 tails of one app at
// 1,000 lines/s, and memory with 10,000 idle tails. Each beside the raw NATS figure of the same run.
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { NatsPublisher } from "@tailrace/agent";
import { AppClaims } from "@tailrace/agent/internal";
import { nowNs } from "@tailrace/envelope";
import pino from "pino";
import { fmt, percentile, rawNatsRate, rssKb, spawnManyTails, startDoppler, startNatsServer, testToken } from "./lib.mjs";

const LINE = Buffer.from("GET /orders/12345 200 1.2ms user=alice trace=4bf92f3577b34da6a3ce929d0e0e4736");

async function publisher(url) {
  const nc = await connect({ servers: url });
  const pub = new NatsPublisher(jetstream(nc), new AppClaims(nc), {
    bufferSize: 200_000,
    maxBatch: 512,
    flushMs: 5,
    maxInFlight: 32,
    agentId: `b${Date.now()}`,
    logger: pino({ level: "warn" }),
  });
  return { nc, pub };
}

async function paced(pub, app, rate, seconds) {
  const ch = pub.channel("bench", app);
  const tags = { tenant: "bench", app_name: app, source_type: "APP/PROC/WEB", process_type: "web" };
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < seconds * 1000) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    for (; sent < due; sent++) ch.write({ timestamp: nowNs(), sourceId: app, instanceId: "0", tags, log: { payload: LINE, type: "OUT" } });
    await new Promise((r) => setTimeout(r, 10));
  }
  await pub.drain(10_000);
  return sent;
}

async function recent(url, api, token) {
  const { nc, pub } = await publisher(url);
  // 1,000 lines arriving ~10 at a time, as a steady app's would: 100 batches.
  const ch = pub.channel("bench", "recent");
  const tags = { tenant: "bench", app_name: "recent", source_type: "APP/PROC/WEB", process_type: "web" };
  for (let i = 0; i < 1000; i++) {
    ch.write({ timestamp: nowNs(), sourceId: "recent", instanceId: "0", tags, log: { payload: LINE, type: "OUT" } });
    if (i % 10 === 9) await pub.drain(5000);
  }
  await pub.stop();
  await nc.close();
  const times = [];
  let n = 0;
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    const res = await fetch(`${api}/api/v1/read/recent?limit=1000&descending=true&envelope_types=LOG`, {
      headers: { authorization: `Bearer ${token}` },
    });
    n = (await res.json()).envelopes.batch.length;
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const ms = (v) => Math.round(v * 10) / 10;
  return { envelopes: n, p50Ms: ms(percentile(times, 50)), p99Ms: ms(percentile(times, 99)), maxMs: ms(times[times.length - 1]) };
}

async function fanout(url, api, token, tails, rate, seconds, pid) {
  const { nc, pub } = await publisher(url);
  const many = spawnManyTails(api, token, tails, 1, rate * seconds);
  await many.next(60_000);
  const sent = await paced(pub, "fan0", rate, seconds);
  const timer = setTimeout(() => many.child.kill("SIGTERM"), 15_000);
  const r = await many.next(30_000);
  clearTimeout(timer);
  const rss = Math.round(rssKb(pid) / 1024);
  many.child.kill("SIGKILL");
  await pub.stop();
  await nc.close();
  return {
    tails,
    ratePerSec: rate,
    seconds,
    sentPerTail: sent,
    minReceivedPerTail: r.minReceived,
    everyLineToEveryTail: r.minReceived >= sent,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    dopplerRssMb: rss,
  };
}

async function idle(url, token, tails, apps, limits) {
  // A fresh doppler, so the figure is not the heap an earlier scenario left behind.
  const doppler = await startDoppler(url, limits);
  const { api, pid } = doppler;
  await new Promise((r) => setTimeout(r, 1000));
  const before = Math.round(rssKb(pid) / 1024);
  const many = spawnManyTails(api, token, tails, apps, Number.MAX_SAFE_INTEGER);
  await many.next(120_000);
  await new Promise((r) => setTimeout(r, 3000));
  const rss = Math.round(rssKb(pid) / 1024);
  many.child.kill("SIGKILL");
  await doppler.stop();
  return { tails, apps, dopplerRssMbBefore: before, dopplerRssMbWithTails: rss };
}

export async function run() {
  const nats = await startNatsServer();
  const limits = { TAILRACE_MAX_TAILS_PER_TENANT: "20000", TAILRACE_MAX_TAILS_PER_ADDRESS: "20000", TAILRACE_REQUEST_RATE: "10000" };
  const doppler = await startDoppler(nats.url, { TAILRACE_TAIL_HOPELESS: "10m", ...limits });
  try {
    const token = await testToken({ tenant: "bench" });
    const raw = await rawNatsRate(nats.url);
    const rec = await recent(nats.url, doppler.api, token);
    const fan = await fanout(nats.url, doppler.api, token, 1000, 1000, 10, doppler.pid);
    const idl = await idle(nats.url, token, 10_000, 100, limits);
    return { rawNatsMsgsPerSec: raw.msgsPerSec, recent1000: rec, fanout: fan, idleTails: idl };
  } finally {
    await doppler.stop();
    await nats.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await run(), null, 2), fmt(0));
