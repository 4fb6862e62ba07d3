// Scenario: agent publisher → NATS (JetStream) → doppler (own process) → one websocket tail.
// Measures (1) lines/s at full speed and (2) ingest→tail latency percentiles at a paced 50,000 lines/s.

import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { DATA_STREAM, decodeBatch, nowNs } from "@tailrace/envelope";
import { createLogger, StreamReader } from "@tailrace/runtime";
import { agentPublisher, percentile, rawNatsRate, spawnTail, startDoppler, startNatsServer, testToken } from "./lib.mjs";

const LINE = "GET /orders/12345 200 1.2ms user=alice trace=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7";

/** Full speed: `total` lines as fast as the agent's buffer takes them, timed until the tail has them all. */
export async function throughput(url, api, token, total) {
  const { nc, pub } = await agentPublisher(url);
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

/**
 * JetStream alone: the agent's publisher into the data stream and the doppler's own stream reader on `app`'s subject,
 * both in this process, no doppler and no websocket. `onBatch` sees each batch the reader gets; `write()` queues a
 * line; `close()` stops both.
 */
async function jetStreamPair(url, app, onBatch) {
  const nc = await connect({ servers: url.split(",") });
  const reader = new StreamReader({
    nc,
    jsm: await jetstreamManager(nc),
    stream: DATA_STREAM,
    filter: `tr.data.bench.${app}.*`,
    start: "new",
    onMessage: (m) => onBatch(decodeBatch(m.data)),
    logger: createLogger({ name: "bench-reader", level: "warn" }),
    what: "bench reader",
  });
  await reader.start();
  const { nc: pubNc, pub } = await agentPublisher(url);
  const ch = pub.channel("bench", app);
  const tags = { tenant: "bench", app_name: app, source_type: "APP/PROC/WEB", process_type: "web" };
  const payload = Buffer.from(LINE);
  return {
    pub,
    write: () => ch.write({ timestamp: nowNs(), sourceId: app, instanceId: "0", tags, log: { payload, type: "OUT" } }),
    async close() {
      await reader.stop();
      await pub.stop();
      await pubNc.close();
      await nc.close();
    },
  };
}

/**
 * The same lines as {@link throughput} through JetStream alone ({@link jetStreamPair}): what storing and reading back
 * costs here, beside core NATS's figure: the part of the gap to it that is not Tailrace's.
 */
export async function jetStreamOnly(url, total) {
  let got = 0;
  let last = 0;
  let resolveAll;
  const all = new Promise((r) => (resolveAll = r));
  const js = await jetStreamPair(url, "jsonly", (batch) => {
    got += batch.length;
    last = performance.now();
    if (got >= total) resolveAll();
  });
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    js.write();
    if (i % 2000 === 0) {
      await new Promise((r) => setImmediate(r));
      while (js.pub.buffer.size > 100_000) await new Promise((r) => setTimeout(r, 1));
    }
  }
  const timer = setTimeout(resolveAll, 60_000);
  await all;
  clearTimeout(timer);
  await js.close();
  return { linesPerSec: Math.round(got / ((last - start) / 1000)), received: got, sent: total };
}

/** Writes `rate` lines a second for `seconds` (10 ms ticks); returns how many it wrote. */
async function paced(rate, seconds, write) {
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < seconds * 1000) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    for (; sent < due; sent++) write();
    await new Promise((r) => setTimeout(r, 10));
  }
  return sent;
}

/** p50, p99 and max of latency samples (ms), sorting them. */
function summary(lat) {
  lat.sort((a, b) => a - b);
  const ms = (v) => Math.round(v * 100) / 100;
  return { p50Ms: ms(percentile(lat, 50)), p99Ms: ms(percentile(lat, 99)), maxMs: ms(lat[lat.length - 1] ?? 0) };
}

/**
 * Paced as {@link latency}, through JetStream alone ({@link jetStreamPair}): each line's latency from its timestamp to
 * the reader. What NATS's part of {@link latency} costs at the same rate.
 */
export async function jetStreamLatency(url, rate, seconds) {
  const lat = [];
  const js = await jetStreamPair(url, "jslat", (batch) => {
    const now = BigInt(Date.now()) * 1_000_000n;
    for (const e of batch) lat.push(Number(now - e.timestamp) / 1e6);
  });
  const sent = await paced(rate, seconds, js.write);
  await js.pub.drain(5000);
  for (const until = Date.now() + 30_000; Date.now() < until && lat.length < sent; ) await new Promise((r) => setTimeout(r, 100));
  await js.close();
  return { rate, sent, received: lat.length, ...summary(lat) };
}

/** Paced: `rate` lines/s for `seconds`, each line's ingest→tail latency. */
export async function latency(url, api, token, rate, seconds) {
  const { nc, pub } = await agentPublisher(url);
  const ch = pub.channel("bench", "lat");
  const tail = await spawnTail(api, "lat", token, Number.MAX_SAFE_INTEGER, "latency");
  const tags = { tenant: "bench", app_name: "lat", source_type: "APP/PROC/WEB", process_type: "web" };
  const payload = Buffer.from(LINE);
  const sent = await paced(rate, seconds, () =>
    ch.write({ timestamp: nowNs(), sourceId: "lat", instanceId: "0", tags, log: { payload, type: "OUT" } }),
  );
  await pub.drain(5000);
  // Wait (bounded) until the tail has every line: where the pipeline fell behind, its backlog's latency counts too.
  for (const until = Date.now() + 30_000; Date.now() < until; ) {
    tail.child.kill("SIGUSR2");
    if ((await tail.result()).got >= sent) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 1000));
  tail.child.kill("SIGTERM");
  const r = await tail.result();
  const lat = r.lat;
  await pub.stop();
  await nc.close();
  const stats = summary(lat);
  return {
    rate,
    sent,
    received: lat.length,
    // The rate the tail kept up with: where the machine cannot carry `rate`, this is the rate reached (and the
    // latencies are those of a backlog).
    tailPerSec: Math.round(lat.length / Math.max(0.001, (r.last - r.first) / 1000)),
    ...stats,
  };
}

export async function run({ total = 500_000, rate = 50_000, seconds = 10 } = {}) {
  const nats = await startNatsServer();
  // The tail's queue as deep as the agent's buffer: on a shared 2-core machine the tail client is sometimes
  // descheduled for longer than the default 10,000 envelopes last at full speed, and a run that drops (as it should,
  // with a notice) measures the drop policy and the 60 s timeout, not throughput.
  const doppler = await startDoppler(nats.url, { TAILRACE_TAIL_QUEUE: "200000" });
  try {
    const token = await testToken({ tenant: "bench" });
    const raw = await rawNatsRate(nats.url);
    const js = await jetStreamOnly(nats.url, total);
    const tput = await throughput(nats.url, doppler.api, token, total);
    const lat = await latency(nats.url, doppler.api, token, rate, seconds);
    const ratio = (a, b) => Math.round((a / b) * 100) / 100;
    return {
      rawNatsMsgsPerSec: raw.msgsPerSec,
      rawJetStream: { ...js, ratioToRawNats: ratio(js.linesPerSec, raw.msgsPerSec) },
      throughput: {
        ...tput,
        ratioToRawNats: ratio(tput.linesPerSec, raw.msgsPerSec),
        ratioToRawJetStream: ratio(tput.linesPerSec, js.linesPerSec),
      },
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
