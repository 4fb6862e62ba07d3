// Scraping one tenant with 1,000 instances × 10 metrics (the 7 container gauges and 3 of the app's own), beside the
// raw NATS figure of the same run. Target: a scrape in ≤ 100 ms. Memory is the doppler's resident set before and after
// it holds the tenant's series.
//
// The doppler runs as its own process when it serves /v1/tenants/{tenant}/metrics; until that route is wired, the
// same TenantMetrics and handler run in this process and memory is this process's growth.
import { createServer } from "node:http";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { NatsPublisher } from "@tailrace/agent";
import { AppClaims } from "@tailrace/agent/internal";
import { hs256Verifier } from "@tailrace/auth";
import { createTenantMetricsApi, dopplerSpec, TenantMetrics } from "@tailrace/doppler/internal";
import { nowNs } from "@tailrace/envelope";
import pino from "pino";
import { fmt, percentile, rawNatsRate, rssKb, startDoppler, startNatsServer, TEST_JWT_SECRET, testToken } from "./lib.mjs";

const INSTANCES = 1000;
const APPS = 20;
const SCRAPES = 30;

async function publishAll(url) {
  const nc = await connect({ servers: url });
  const pub = new NatsPublisher(jetstream(nc), new AppClaims(nc), {
    bufferSize: 200_000,
    maxBatch: 256,
    flushMs: 5,
    maxInFlight: 32,
    agentId: `bench-metrics-${Date.now()}`,
    logger: pino({ level: "warn" }),
  });
  for (let i = 0; i < INSTANCES; i++) {
    const app = `app-${i % APPS}`;
    const tags = { tenant: "bench", app_name: app, source_type: "APP/PROC/WEB", process_type: "web" };
    pub.channel("bench", app).write({
      timestamp: nowNs(),
      sourceId: app,
      instanceId: String(Math.floor(i / APPS)),
      tags,
      gauge: {
        metrics: {
          cpu: { unit: "percentage", value: (i % 100) + 0.5 },
          memory: { unit: "bytes", value: 200e6 + i },
          memory_quota: { unit: "bytes", value: 1024 ** 3 },
          disk: { unit: "bytes", value: 50e6 + i },
          disk_quota: { unit: "bytes", value: 2 * 1024 ** 3 },
          log_rate: { unit: "B/s", value: i },
          log_rate_limit: { unit: "B/s", value: -1 },
          "http.inflight": { unit: "", value: i % 7 },
          "queue.depth": { unit: "", value: i % 13 },
          "heap.used": { unit: "bytes", value: 1e6 + i },
        },
      },
    });
  }
  await pub.drain(30_000);
  await pub.stop();
  await nc.close();
}

async function inProcess(url) {
  const nc = await connect({ servers: url });
  const logger = pino({ level: "warn" });
  global.gc?.();
  const before = process.memoryUsage();
  const metrics = new TenantMetrics({
    js: jetstream(nc),
    nc,
    jsm: await jetstreamManager(nc),
    logger,
    staleMs: 10 * 60_000,
    maxSeriesPerTenant: 100_000,
  });
  await metrics.start();
  const api = createTenantMetricsApi({ verifier: hs256Verifier({ secret: TEST_JWT_SECRET }), metrics, logger });
  const server = createServer((req, res) => {
    void api.handle(req, res, new URL(req.url ?? "/", "http://bench")).then((ok) => ok || res.writeHead(404).end());
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    base: `http://127.0.0.1:${server.address().port}`,
    memory: () => {
      global.gc?.();
      const now = process.memoryUsage();
      return { heapMiB: (now.heapUsed - before.heapUsed) / 2 ** 20, rssMiB: (now.rss - before.rss) / 2 ** 20 };
    },
    series: () => metrics.store.seriesCount("bench"),
    async stop() {
      server.closeAllConnections();
      server.close();
      await metrics.stop();
      await nc.close();
    },
  };
}

export async function run() {
  const nats = await startNatsServer();
  try {
    const raw = await rawNatsRate(nats.url);
    // The metrics settings only once the doppler knows them (it refuses unknown TAILRACE_* variables).
    const settings = { TAILRACE_METRICS_STALENESS: "10m", TAILRACE_METRICS_MAX_SERIES: "100000" };
    const doppler = await startDoppler(nats.url, Object.fromEntries(Object.entries(settings).filter(([k]) => k in dopplerSpec)));
    const rssIdleKb = rssKb(doppler.pid);
    await publishAll(nats.url);
    const token = await testToken({ tenant: "bench" });
    const wired = (await fetch(`${doppler.api}/v1/tenants/bench/metrics`)).status === 401;
    const side = wired ? undefined : await inProcess(nats.url);
    const base = wired ? doppler.api : side.base;
    const headers = { authorization: `Bearer ${token}` };
    // Wait until the whole set is there.
    let body = "";
    for (let i = 0; i < 200; i++) {
      const res = await fetch(`${base}/v1/tenants/bench/metrics`, { headers });
      body = await res.text();
      if (res.ok && (body.match(/^queue_depth\{/gm) ?? []).length === INSTANCES) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const samples = (body.match(/^[a-z_]+\{/gm) ?? []).length;
    const times = [];
    for (let i = 0; i < SCRAPES; i++) {
      const t0 = performance.now();
      const res = await fetch(`${base}/v1/tenants/bench/metrics`, { headers });
      await res.text();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const memory = wired
      ? { dopplerRssMiB: Math.round(rssKb(doppler.pid) / 1024), dopplerRssIdleMiB: Math.round(rssIdleKb / 1024) }
      : Object.fromEntries(
          Object.entries(side.memory()).map(([k, v]) => [`inProcess${k[0].toUpperCase()}${k.slice(1)}`, Math.round(v * 10) / 10]),
        );
    await side?.stop();
    await doppler.stop();
    return {
      servedBy: wired ? "doppler process" : "in-process TenantMetrics (route not wired in the doppler yet)",
      instances: INSTANCES,
      metricsPerInstance: 10,
      samples,
      bodyKiB: Math.round(Buffer.byteLength(body) / 1024),
      scrapeMs: {
        p50: Math.round(percentile(times, 50) * 10) / 10,
        p99: Math.round(percentile(times, 99) * 10) / 10,
        max: Math.round(times.at(-1) * 10) / 10,
      },
      targetMs: 100,
      ...memory,
      rawNatsMsgsPerSec: fmt(raw.msgsPerSec),
    };
  } finally {
    await nats.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await run(), null, 2));
