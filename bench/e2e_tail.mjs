// Scenario: agent publisher → NATS (JetStream) → doppler (own process) → one websocket tail.
// Measures (1) lines/s at full speed and (2) ingest→tail latency percentiles at a paced 50,000 lines/s.

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { NatsPublisher } from "@tailrace/agent";
import { AppClaims } from "@tailrace/agent/internal";
import { nowNs } from "@tailrace/envelope";
import pino from "pino";
import { percentile, rawNatsRate, startDoppler, startNatsServer, testToken } from "./lib.mjs";

const TAIL_CLIENT = fileURLToPath(new URL("./tail_client.mjs", import.meta.url));
const LINE = "GET /orders/12345 200 1.2ms user=alice trace=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7";

/** Starts tail_client.mjs and resolves once its socket is open. */
function spawnTail(api, app, token, expect, mode = "count") {
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

async function publisher(url) {
  const nc = await connect({ servers: url });
  const logger = pino({ level: "warn" });
  const pub = new NatsPublisher(jetstream(nc), new AppClaims(nc), {
    bufferSize: 200_000,
    maxBatch: 512,
    flushMs: 2,
    maxInFlight: 64,
    agentId: `bench-${Date.now()}`,
    logger,
  });
  return { nc, pub };
}

async function throughput(url, api, token, total) {
  const { nc, pub } = await publisher(url);
  const ch = pub.channel("bench", "tput");
  const tail = await spawnTail(api, "tput", token, total);
  const tags = { tenant: "bench", app_name: "tput", source_type: "APP/PROC/WEB", process_type: "web" };
  const payload = Buffer.from(LINE);
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    ch.write({ timestamp: nowNs(), sourceId: "tput", instanceId: "0", tags, log: { payload, type: "OUT" } });
    // Stay under the buffer bound: this measures throughput, not the drop policy.
    if (i % 2000 === 0) {
      await new Promise((r) => setImmediate(r));
      while (pub.buffer.size > 100_000) await new Promise((r) => setTimeout(r, 1));
    }
  }
  const timer = setTimeout(() => tail.child.kill("SIGTERM"), 60_000);
  const r = await tail.result();
  clearTimeout(timer);
  const secs = (r.last - (performance.timeOrigin + start)) / 1000;
  await pub.stop();
  await nc.close();
  return { linesPerSec: Math.round(r.got / secs), received: r.got, sent: total, agentDropped: pub.stats.dropped };
}

async function latency(url, api, token, rate, seconds) {
  const { nc, pub } = await publisher(url);
  const ch = pub.channel("bench", "lat");
  const tail = await spawnTail(api, "lat", token, Number.MAX_SAFE_INTEGER, "latency");
  const tags = { tenant: "bench", app_name: "lat", source_type: "APP/PROC/WEB", process_type: "web" };
  const payload = Buffer.from(LINE);
  const tickMs = 10;
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < seconds * 1000) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    for (; sent < due; sent++) ch.write({ timestamp: nowNs(), sourceId: "lat", instanceId: "0", tags, log: { payload, type: "OUT" } });
    await new Promise((r) => setTimeout(r, tickMs));
  }
  await pub.drain(5000);
  await new Promise((r) => setTimeout(r, 1000));
  tail.child.kill("SIGTERM");
  const lat = (await tail.result()).lat;
  await pub.stop();
  await nc.close();
  lat.sort((a, b) => a - b);
  const ms = (v) => Math.round(v * 100) / 100;
  return {
    rate,
    sent,
    received: lat.length,
    p50Ms: ms(percentile(lat, 50)),
    p99Ms: ms(percentile(lat, 99)),
    maxMs: ms(lat[lat.length - 1]),
  };
}

export async function run({ total = 500_000, rate = 50_000, seconds = 10 } = {}) {
  const nats = await startNatsServer();
  const doppler = await startDoppler(nats.url);
  try {
    const token = await testToken({ tenant: "bench" });
    const raw = await rawNatsRate(nats.url);
    const tput = await throughput(nats.url, doppler.api, token, total);
    const lat = await latency(nats.url, doppler.api, token, rate, seconds);
    return {
      rawNatsMsgsPerSec: raw.msgsPerSec,
      throughput: { ...tput, ratioToRawNats: Math.round((tput.linesPerSec / raw.msgsPerSec) * 100) / 100 },
      latencyAt50k: lat,
    };
  } finally {
    await doppler.stop();
    await nats.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await run();
  console.log(JSON.stringify(r, null, 2));
}
