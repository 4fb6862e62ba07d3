/**
 * Shared pieces of the metrics tests: a stack whose tenant endpoint and /metrics are what the doppler serves, a
 * publisher of gauge/counter/timer envelopes through the agent's real publisher, a real Prometheus, and promtool.
 *
 * Until the doppler's server wires `createTenantMetricsApi` and its /metrics serves its Telemetry, the tenant endpoint
 * and /metrics run on a small server of their own beside the doppler, built exactly as the wiring builds them (as the
 * drain tests do with the drains API). Once the doppler answers the route itself, the tests use the doppler.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { hs256Verifier } from "@tailrace/auth";
import { createTenantMetricsApi, TenantMetrics } from "@tailrace/doppler/internal";
import { type Envelope, nowNs } from "@tailrace/envelope";
import { createLogger, Telemetry } from "@tailrace/runtime";
import { TEST_JWT_SECRET, tempDir, waitFor } from "@tailrace/testkit";
import { agentPublisher, type Stack, startStack } from "./helpers.js";

const LOG_LEVEL = process.env.TEST_LOG_LEVEL ?? "silent";

export interface MetricsEndpoints {
  /** Base URL serving `/v1/tenants/{tenant}/metrics`. */
  tenantApi: string;
  /** Base URL serving the doppler's own `/metrics`. */
  selfApi: string;
  /** True when the doppler itself serves both (wired); false when a side server does. */
  wired: boolean;
  /** The side server's telemetry (unwired only). */
  telemetry?: Telemetry;
  stop(): Promise<void>;
}

/** The doppler's tenant endpoint and /metrics, or a side server on the same NATS built as the doppler would build them. */
export async function metricsEndpoints(
  stack: Stack,
  opts: { staleMs?: number; maxSeries?: number; doppler?: string } = {},
): Promise<MetricsEndpoints> {
  const api = opts.doppler ?? stack.api;
  const probe = await fetch(`${api}/v1/tenants/probe/metrics`);
  if (probe.status === 401) return { tenantApi: api, selfApi: api, wired: true, stop: async () => undefined };
  const nc = await connect({ servers: stack.nats.url });
  const logger = createLogger({ name: "test-metrics", level: LOG_LEVEL });
  const telemetry = new Telemetry("doppler");
  telemetry.watchNats(nc);
  const metrics = new TenantMetrics({
    js: jetstream(nc),
    nc,
    jsm: await jetstreamManager(nc),
    logger,
    staleMs: opts.staleMs ?? 45_000,
    maxSeriesPerTenant: opts.maxSeries ?? 20_000,
    noticeIntervalMs: 1000,
    telemetry,
  });
  await metrics.start();
  const handler = createTenantMetricsApi({ verifier: hs256Verifier({ secret: TEST_JWT_SECRET }), metrics, logger, telemetry });
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://side");
    void handler.handle(req, res, url).then(async (handled) => {
      if (handled) return;
      if (url.pathname === "/metrics") {
        const body = await telemetry.text();
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(body);
      } else res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = server.address();
  const base = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
  return {
    tenantApi: base,
    selfApi: base,
    wired: false,
    telemetry,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await metrics.stop();
      await telemetry.shutdown();
      await nc.close();
    },
  };
}

/** Starts a stack with the metrics settings the tests use (staleness, bound), and its endpoints. */
export async function startMetricsStack(
  opts: { staleMs?: number; maxSeries?: number } = {},
): Promise<{ stack: Stack; ep: MetricsEndpoints }> {
  const env: Record<string, string> = {};
  if (opts.staleMs) env.TAILRACE_METRICS_STALENESS = `${opts.staleMs}ms`;
  if (opts.maxSeries) env.TAILRACE_METRICS_MAX_SERIES = String(opts.maxSeries);
  const stack = await startStack(env);
  const ep = await metricsEndpoints(stack, opts);
  return { stack, ep };
}

export interface MetricsPublisher {
  /** Publishes envelopes through the agent's publisher and waits until JetStream stored them. */
  write(tenant: string, app: string, envs: Envelope[]): Promise<void>;
  stop(): Promise<void>;
}

/** The agent's real publisher (a fresh agent id each time: a new one is an agent restart). */
export async function metricsPublisher(natsUrl: string): Promise<MetricsPublisher> {
  const { pub, close } = await agentPublisher(natsUrl);
  return {
    async write(tenant, app, envs) {
      const ch = pub.channel(tenant, app);
      for (const e of envs) ch.write(e);
      await pub.drain(10_000);
    },
    stop: close,
  };
}

export function appTags(tenant: string, app: string, extra: Record<string, string> = {}): Record<string, string> {
  return { tenant, app_name: app, source_type: "APP/PROC/WEB", process_type: "web", ...extra };
}

/** A container-metrics gauge envelope as the agent's collector sends it. */
export function containerGauge(
  tenant: string,
  app: string,
  instanceId: string,
  v: Partial<Record<"cpu" | "memory" | "memory_quota" | "disk" | "disk_quota" | "log_rate" | "log_rate_limit", number>>,
): Envelope {
  const units: Record<string, string> = {
    cpu: "percentage",
    memory: "bytes",
    memory_quota: "bytes",
    disk: "bytes",
    disk_quota: "bytes",
    log_rate: "B/s",
    log_rate_limit: "B/s",
  };
  const metrics: Record<string, { unit: string; value: number }> = {};
  for (const [k, value] of Object.entries(v)) metrics[k] = { unit: units[k] as string, value };
  return { timestamp: nowNs(), sourceId: app, instanceId, tags: appTags(tenant, app), gauge: { metrics } };
}

export function counterEnvelope(tenant: string, app: string, instanceId: string, name: string, total: number, delta = 1): Envelope {
  return {
    timestamp: nowNs(),
    sourceId: app,
    instanceId,
    tags: appTags(tenant, app),
    counter: { name, delta: BigInt(delta), total: BigInt(total) },
  };
}

export function timerEnvelope(tenant: string, app: string, instanceId: string, name: string, seconds: number, extra = {}): Envelope {
  const stop = nowNs();
  return {
    timestamp: stop,
    sourceId: app,
    instanceId,
    tags: appTags(tenant, app, extra),
    timer: { name, start: stop - BigInt(Math.round(seconds * 1e9)), stop },
  };
}

export async function scrape(base: string, path: string, token?: string): Promise<{ status: number; text: string; type: string }> {
  const res = await fetch(`${base}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, text: await res.text(), type: res.headers.get("content-type") ?? "" };
}

/** `promtool check metrics` on `text`: "" when it passes, else what it says with its exit code. */
export function promtool(text: string): string {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  return r.status === 0 ? `${r.stdout}${r.stderr}`.trim() : `exit ${r.status}: ${r.stdout}${r.stderr}`;
}

/** Every sample's metric name in an exposition. */
export function sampleNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (m) out.add(m[1] as string);
  }
  return out;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createTcpServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface PrometheusJob {
  name: string;
  /** host:port */
  target: string;
  path: string;
  token?: string;
}

export interface Prometheus {
  url: string;
  /** The value of an instant query's first result, or undefined when it has none. */
  value(query: string): Promise<number | undefined>;
  stop(): Promise<void>;
}

/** Debian's prometheus on a free loopback port, scraping `jobs` every second, with its TSDB in a temporary directory. */
export async function startPrometheus(jobs: PrometheusJob[]): Promise<Prometheus> {
  const dir = await tempDir("tailrace-prom-");
  const lines = ["global:", "  scrape_interval: 1s", "  scrape_timeout: 1s", "scrape_configs:"];
  for (const j of jobs) {
    lines.push(`  - job_name: ${JSON.stringify(j.name)}`, `    metrics_path: ${JSON.stringify(j.path)}`);
    if (j.token) lines.push("    authorization:", "      type: Bearer", `      credentials: ${JSON.stringify(j.token)}`);
    lines.push("    static_configs:", `      - targets: [${JSON.stringify(j.target)}]`);
  }
  const config = join(dir.path, "prometheus.yml");
  writeFileSync(config, `${lines.join("\n")}\n`);
  const port = await freePort();
  const child: ChildProcess = spawn(
    "prometheus",
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir.path, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  child.stderr?.on("data", (d: Buffer) => (log += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`prometheus to be ready\n${log}`, async () => child.exitCode === null && (await fetch(`${url}/-/ready`)).ok, 20_000, 100);
  return {
    url,
    async value(query) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
      const body = (await res.json()) as { status: string; data?: { result?: Array<{ value: [number, string] }> } };
      const v = body.data?.result?.[0]?.value?.[1];
      return v === undefined ? undefined : Number(v);
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      await dir.remove();
    },
  };
}
