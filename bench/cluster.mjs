// Scenario (issue 12): the pipeline on a real 3-node nats-server cluster on loopback (zones az:a/b/c, unique_tag,
// R3 data stream), beside the same pipeline on a single nats-server (R1), in one run. Measures
//   (1) raw NATS pub/sub across the cluster (publisher on one node, subscriber on another);
//   (2) agent → NATS → doppler → one websocket tail, lines/s, on R3 and on R1, and their ratio;
//   (3) ingest→tail latency at a paced 50,000 lines/s on R3;
//   (4) the pause a SIGKILL of the data stream's leader node causes to a websocket tail and to `--recent`, and the
//       lines the tail lost, with traffic flowing; then the node is started again and must catch up.
// `BENCH_SCALE=small` makes a quick run. The doppler is its own process (lib's startDoppler), as in e2e_tail.

import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { DATA_STREAM, nowNs } from "@tailrace/envelope";
import { jetStreamLatency, latency, throughput } from "./e2e_tail.mjs";
import {
  agentPublisher,
  NATS_RECONNECT,
  percentile,
  rawNatsRate,
  SMALL,
  spawnTail,
  startDoppler,
  startNatsCluster,
  startNatsServer,
  testToken,
} from "./lib.mjs";

const SIZES = SMALL
  ? { raw: 100_000, total: 100_000, rate: 50_000, latSeconds: 3, killRate: 5000, beforeKillMs: 2000, afterKillMs: 10_000 }
  : { raw: 500_000, total: 500_000, rate: 50_000, latSeconds: 10, killRate: 5000, beforeKillMs: 5000, afterKillMs: 15_000 };

// Both dopplers alike. The tail queue is the drills' (test/cluster_helpers.ts): after the pause a reader delivers its
// backlog at once, and this measures NATS's pause, not the slow-reader policy (doppler_consumers tests that).
const DOPPLER_ENV = { TAILRACE_TAIL_QUEUE: "200000" };

const log = (m) => process.stderr.write(`[cluster] ${new Date().toISOString().slice(11, 23)} ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ratio = (a, b) => Math.round((a / b) * 100) / 100;

/** The URL list starting at node `i`: a client given it connects there first (agents) and fails over to the rest. */
function urlsFrom(cluster, i) {
  const n = cluster.nodes.map((x) => x.url);
  return [...n.slice(i % n.length), ...n.slice(0, i % n.length)].join(",");
}

/** Retries `fn` for up to `ms` (JetStream API calls fail while the node a client is on is down or a leader is elected). */
async function retry(fn, ms = 30_000) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > until) throw err;
      await sleep(200);
    }
  }
}

/** The node each named client connection is on, from the nodes' monitoring endpoint (`/connz`). */
async function nodeOf(cluster, connName) {
  for (const n of cluster.nodes.filter((x) => x.running)) {
    const connz = await fetch(`http://127.0.0.1:${n.httpPort}/connz`)
      .then((r) => r.json())
      .catch(() => ({}));
    if ((connz.connections ?? []).some((c) => c.name === connName)) return n.name;
  }
  return "";
}

/** Polls `--recent` (GET /api/v1/read/{app}) every ~100 ms and keeps the longest time without a good answer. */
function pollRecent(api, app, token) {
  let answers = 0;
  let failures = 0;
  let lastAnswer = Date.now();
  let longest = 0;
  let longestEnd = 0;
  let stopped = false;
  const statuses = {};
  const took = [];
  const loop = (async () => {
    while (!stopped) {
      const t0 = Date.now();
      try {
        const res = await fetch(`${api}/api/v1/read/${app}?limit=10&descending=true`, {
          headers: { authorization: `Bearer ${token}` },
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(String(res.status));
        const now = Date.now();
        took.push(now - t0);
        if (now - lastAnswer > longest) {
          longest = now - lastAnswer;
          longestEnd = now;
        }
        lastAnswer = now;
        answers++;
      } catch (err) {
        failures++;
        const k = /^\d+$/.test(err.message) ? err.message : err.name;
        statuses[k] = (statuses[k] ?? 0) + 1;
      }
      await sleep(100);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    const open = Date.now() - lastAnswer;
    if (open > longest) {
      longest = open;
      longestEnd = Date.now();
    }
    took.sort((x, y) => x - y);
    return {
      answers,
      failures,
      failuresBy: statuses,
      answerMs: { p50: percentile(took, 50), max: took[took.length - 1] },
      longestPauseMs: longest,
      longestPauseEnd: longestEnd,
    };
  };
}

/** The tail client's next report, or an error where it has died or hangs. */
function report(tail, ms = 15_000) {
  let timer;
  return Promise.race([
    tail.result(),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("the tail client did not report")), ms))),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The raw NATS floor for the pause: a JetStream publisher of its own, on a node that stays up, writing every ~10 ms
 * to an R3 stream led by the same node as the data stream (moved there by leader stepdowns). Its longest time
 * without an acknowledgement is what NATS itself costs a writer when that node dies.
 */
async function rawJetStreamProbe(url, jsm, nc, leader) {
  const name = "BENCH_RAW";
  await jsm.streams.add({ name, subjects: ["bench.rawjs"], num_replicas: 3, max_msgs: 100_000 });
  let aligned = false;
  for (let i = 0; i < 12 && !aligned; i++) {
    const c = (await retry(() => jsm.streams.info(name))).cluster;
    aligned = c?.leader === leader && (c.replicas ?? []).every((r) => r.current);
    if (!aligned && c?.leader) {
      if (c.leader !== leader) await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${name}`, "", { timeout: 5000 }).catch(() => undefined);
      await sleep(1000);
    }
  }
  const pc = await connect({ servers: url });
  const js = jetstream(pc, { timeout: 1000 });
  let stopped = false;
  let lastAck = Date.now();
  let longest = 0;
  let longestEnd = 0;
  let acks = 0;
  const errors = {};
  const loop = (async () => {
    while (!stopped) {
      try {
        await js.publish("bench.rawjs", "x");
        acks++;
        const now = Date.now();
        if (now - lastAck > longest) {
          longest = now - lastAck;
          longestEnd = now;
        }
        lastAck = now;
      } catch (err) {
        errors[err.message] = (errors[err.message] ?? 0) + 1;
      }
      await sleep(10);
    }
  })();
  return {
    aligned,
    async stop() {
      stopped = true;
      await loop;
      await pc.close();
      await jsm.streams.delete(name).catch(() => undefined);
      return { longest, longestEnd, acks, errors };
    },
  };
}

/** Numbered lines (`0`, `1`, ...) of one instance at `perSec`, written in 10 ms slices, until stopped. */
function numberedTraffic(pub, app, perSec) {
  const ch = pub.channel("bench", app);
  const tags = { tenant: "bench", app_name: app, source_type: "APP/PROC/WEB", process_type: "web" };
  let stopped = false;
  let written = 0;
  const start = Date.now();
  // The agent's own view: the longest time in which JetStream acknowledged none of its batches while it had lines.
  let sent = 0;
  let lastAck = start;
  const pause = { longestNoAckMs: 0, endedAt: 0 };
  const loop = (async () => {
    while (!stopped) {
      const now = Date.now();
      if (pub.stats.sent > sent) {
        if (now - lastAck > pause.longestNoAckMs) Object.assign(pause, { longestNoAckMs: now - lastAck, endedAt: now });
        sent = pub.stats.sent;
        lastAck = now;
      } else if (sent >= written) lastAck = now;
      const due = Math.floor(((Date.now() - start) / 1000) * perSec);
      for (; written < due; written++) {
        ch.write({ timestamp: nowNs(), sourceId: app, instanceId: "0", tags, log: { payload: Buffer.from(String(written)), type: "OUT" } });
      }
      await sleep(10);
    }
  })();
  const stop = async () => {
    stopped = true;
    await loop;
    return written;
  };
  return { stop, pause };
}

/**
 * Traffic at `perSec` through the R3 pipeline; SIGKILL of the node that leads the data stream; then how long the
 * tail and `--recent` went without an answer, what the tail lost, and how long the node took to come back.
 */
async function leaderKill(cluster, dopplerApi, token, { perSec, beforeMs, afterMs }) {
  const app = "kill";
  const nc = await connect({ servers: cluster.url.split(","), ...NATS_RECONNECT });
  const jsm = await jetstreamManager(nc);
  const tail = await spawnTail(dopplerApi, app, token, Number.MAX_SAFE_INTEGER, "seq");
  const stopRecent = pollRecent(dopplerApi, app, token);
  // The agent on the node about to die, the worst case for its lines: it must notice, reconnect elsewhere and resend
  // what was awaiting an ack there (a platform has agents on every node; the raw writer below is on one that stays up).
  const leaderAtStart = (await retry(() => jsm.streams.info(DATA_STREAM))).cluster?.leader;
  const agentNode = Math.max(
    0,
    cluster.nodes.findIndex((n) => n.name === leaderAtStart),
  );
  const agent = await agentPublisher(urlsFrom(cluster, agentNode), { bufferSize: 2_000_000, maxBatch: 256, maxInFlight: 16 });
  const traffic = numberedTraffic(agent.pub, app, perSec);
  const stopTraffic = traffic.stop;
  try {
    await sleep(beforeMs);
    const leader = (await jsm.streams.info(DATA_STREAM)).cluster?.leader ?? "";
    const node = cluster.nodes.find((n) => n.name === leader);
    if (!node) throw new Error(`no node leads ${DATA_STREAM} (${leader})`);
    const metaLeader = await cluster.metaLeader();
    const dopplerNode = await nodeOf(cluster, "tailrace-doppler");
    const other = cluster.nodes.find((n) => n !== node);
    const raw = await rawJetStreamProbe(other.url, jsm, nc, leader);
    log(`killing ${leader} (doppler on ${dopplerNode}, agent on ${cluster.nodes[agentNode].name}, meta leader ${metaLeader})`);
    const killedAt = Date.now();
    await node.kill("SIGKILL");
    await sleep(afterMs);
    const written = await stopTraffic();
    const trafficStopped = Date.now();
    const rawPause = await raw.stop();
    // The agent holds what it could not publish during the pause and sends it once JetStream answers.
    const unsent = await agent.pub.drain(60_000);
    // Then every line must reach the tail (bounded: a run stays short; what is missing then counts as lost).
    const until = Date.now() + 60_000;
    for (;;) {
      tail.child.kill("SIGUSR2");
      const progress = await report(tail);
      if ((progress.unique["0"] ?? 0) >= written || Date.now() > until) break;
      await sleep(500);
    }
    const recent = await stopRecent();
    tail.child.kill("SIGTERM");
    const t = await report(tail);
    // A tail that stalled for good shows as a gap open at the end of the traffic.
    const stalledAtEnd = t.last < trafficStopped ? trafficStopped - t.last : 0;
    const tailGap = Math.max(t.maxGapMs, stalledAtEnd);
    const newLeader = await retry(async () => (await jsm.streams.info(DATA_STREAM)).cluster?.leader ?? "");
    log(`restarting ${leader}`);
    // Brought back as a supervisor would: same ports and store. It must catch up with what it missed.
    const restartAt = Date.now();
    await node.start();
    await cluster.ready(60_000);
    const rejoinedMs = Date.now() - restartAt;
    let caughtUpMs = -1;
    await retry(async () => {
      const c = (await jsm.streams.info(DATA_STREAM)).cluster;
      const all = [c?.leader, ...(c?.replicas ?? []).map((r) => r.name)];
      if (!all.includes(node.name) || !(c?.replicas ?? []).every((r) => r.current)) throw new Error("catching up");
      caughtUpMs = Date.now() - restartAt;
    }, 60_000).catch(() => undefined);
    return {
      ratePerSec: perSec,
      written,
      killed: leader,
      metaLeader,
      dopplerOn: dopplerNode,
      agentOn: cluster.nodes[agentNode].name,
      newLeader,
      rawNats: {
        // A JetStream publisher of its own on a surviving node, to an R3 stream with the same leader (if aligned).
        sameLeader: raw.aligned,
        longestNoAckMs: rawPause.longest,
        acks: rawPause.acks,
        errors: rawPause.errors,
        pauseEndedMsAfterKill: rawPause.longestEnd - killedAt,
      },
      tail: {
        received: t.got,
        unique: t.unique["0"] ?? 0,
        lost: written - (t.unique["0"] ?? 0),
        duplicates: t.duplicates,
        notices: t.notices,
        longestGapMs: tailGap,
        gapEndedMsAfterKill: stalledAtEnd > t.maxGapMs ? trafficStopped - killedAt : t.maxGapEnd - killedAt,
        worstLatencyMs: Math.round(t.maxLatencyMs),
      },
      recent: {
        answers: recent.answers,
        failures: recent.failures,
        failuresBy: recent.failuresBy,
        answerMs: recent.answerMs,
        longestNoAnswerMs: recent.longestPauseMs,
        pauseEndedMsAfterKill: recent.longestPauseEnd - killedAt,
      },
      agent: {
        longestNoAckMs: traffic.pause.longestNoAckMs,
        pauseEndedMsAfterKill: traffic.pause.endedAt - killedAt,
        unsent,
        retries: agent.pub.stats.retries,
        dropped: agent.pub.stats.dropped,
      },
      restart: { rejoinedMs, caughtUpMs },
    };
  } finally {
    await stopTraffic();
    await stopRecent();
    tail.child.kill("SIGTERM");
    await agent.pub.stop(5000);
    await agent.nc.close();
    await nc.close();
  }
}

export async function run(o = {}) {
  const s = { ...SIZES, ...o };
  const token = await testToken({ tenant: "bench" });
  const cluster = await startNatsCluster();
  const single = await startNatsServer();
  let r1;
  let r3;
  try {
    const [a, b] = cluster.nodes;
    log("raw NATS");
    const rawCluster = await rawNatsRate(a.url, { subUrl: b.url, count: s.raw });
    const rawSingle = await rawNatsRate(single.url, { count: s.raw });

    // R1 first, then stopped, so that its processes take no CPU from the cluster's part.
    log("R1 throughput");
    r1 = await startDoppler(single.url, { ...DOPPLER_ENV, TAILRACE_STREAM_REPLICAS: "1" });
    const tputR1 = await throughput(single.url, r1.api, token, s.total);
    await r1.stop();
    r1 = undefined;
    await single.stop();

    // The doppler gets the whole list (it picks a node at random, as in production); the agent starts at node 1.
    r3 = await startDoppler(urlsFrom(cluster, 1), { ...DOPPLER_ENV, TAILRACE_STREAM_REPLICAS: "3" });
    const nc = await connect({ servers: cluster.url.split(",") });
    const info = await (await jetstreamManager(nc)).streams.info(DATA_STREAM);
    await nc.close();
    log("R3 throughput");
    const tputR3 = await throughput(urlsFrom(cluster, 0), r3.api, token, s.total);
    log(`R3 latency at ${s.rate}/s`);
    const lat = await latency(urlsFrom(cluster, 0), r3.api, token, s.rate, s.latSeconds);
    // NATS's own part at the same rate: the publisher into the R3 stream and a stream reader, no doppler, no websocket.
    log(`R3 latency through JetStream alone at ${s.rate}/s`);
    const latJs = await jetStreamLatency(urlsFrom(cluster, 0), s.rate, s.latSeconds);
    // Where R3 cannot carry 50,000 lines/s here, also a rate it can: half its throughput, in thousands.
    const sustainable = Math.floor(tputR3.linesPerSec / 2000) * 1000;
    let latLow;
    if (sustainable < s.rate && sustainable > 0) {
      log(`R3 latency at ${sustainable}/s`);
      latLow = await latency(urlsFrom(cluster, 0), r3.api, token, sustainable, s.latSeconds);
    }
    log(`leader kill at ${s.killRate}/s`);
    const kill = await leaderKill(cluster, r3.api, token, { perSec: s.killRate, beforeMs: s.beforeKillMs, afterMs: s.afterKillMs });

    return {
      scale: SMALL ? "small" : "full",
      nodes: cluster.nodes.map((n) => `${n.name} (az:${n.zone})`),
      dataStream: { replicas: info.config.num_replicas, leader: info.cluster?.leader },
      rawNatsMsgsPerSec: { cluster: rawCluster.msgsPerSec, single: rawSingle.msgsPerSec },
      throughput: {
        r3: { ...tputR3, ratioToRawNats: ratio(tputR3.linesPerSec, rawCluster.msgsPerSec) },
        r1: { ...tputR1, ratioToRawNats: ratio(tputR1.linesPerSec, rawSingle.msgsPerSec) },
        ratioR3toR1: ratio(tputR3.linesPerSec, tputR1.linesPerSec),
      },
      latencyAt50kR3: lat,
      latencyAt50kR3JetStreamAlone: latJs,
      ...(latLow ? { latencyR3AtHalfThroughput: latLow } : {}),
      leaderKill: kill,
      goals: {
        r3AtLeastHalfOfR1: tputR3.linesPerSec >= 0.5 * tputR1.linesPerSec,
        p99AtMost50ms: lat.p99Ms <= 50,
        tailPauseUnder5s: kill.tail.longestGapMs < 5000,
        recentPauseUnder5s: kill.recent.longestNoAnswerMs < 5000,
        noLineLost: kill.tail.lost === 0,
      },
    };
  } finally {
    await r1?.stop();
    await r3?.stop();
    await single.stop();
    await cluster.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await run();
  console.log(JSON.stringify(r, null, 2));
}
