import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { FeedItem, Tail } from "@tailrace/doppler/internal";
import type { Drainer } from "@tailrace/drainer";
import { nowNs } from "@tailrace/envelope";
import { Telemetry } from "@tailrace/runtime";
import { tempDir, testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DrainStack, startDrainStack } from "./drain_helpers.js";
import { openTail, testPublisher } from "./helpers.js";
import { containerGauge, type MetricsEndpoints, metricsEndpoints, metricsPublisher, sampleNames, scrape } from "./metrics_helpers.js";

const deploy = (p: string) => new URL(`../deploy/${p}`, import.meta.url);

interface Dashboard {
  panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
  templating: { list: Array<{ definition?: string }> };
}

const FUNCTIONS_AND_KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
]);

/** Metric names a PromQL expression reads: identifiers that are not functions, keywords, labels or variables. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings
    .replace(/\{[^}]*\}/g, "") // label matchers
    .replace(/\[[^\]]*\]/g, "") // ranges
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "") // grouping labels
    .replace(/\$[A-Za-z_]\w*/g, ""); // Grafana variables
  const out: string[] = [];
  for (const m of bare.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)\s*(\()?/g)) {
    const [, name, call] = m;
    if (call || FUNCTIONS_AND_KEYWORDS.has(name as string)) continue;
    out.push(name as string);
  }
  return out;
}

function dashboardNames(file: string): Map<string, string> {
  const d = JSON.parse(readFileSync(deploy(`grafana/${file}`), "utf8")) as Dashboard;
  const names = new Map<string, string>();
  for (const p of d.panels) for (const t of p.targets ?? []) for (const n of metricNames(t.expr)) names.set(n, p.title);
  for (const v of d.templating.list) {
    const m = /label_values\((.*),\s*\w+\)$/.exec(v.definition ?? "");
    if (m) for (const n of metricNames(m[1] as string)) names.set(n, "variables");
  }
  return names;
}

describe("deploy: Prometheus config and Grafana dashboards", () => {
  let ds: DrainStack;
  let ep: MetricsEndpoints;
  let drainer: Drainer;
  let receiver: Server;
  const exposed = new Set<string>();

  beforeAll(async () => {
    ds = await startDrainStack();
    ep = await metricsEndpoints(ds.stack);
    // Tenant data: container metrics, as an agent sends them.
    const pub = await metricsPublisher(ds.stack.nats.url);
    await pub.write("acme", "web", [
      containerGauge("acme", "web", "0", { cpu: 1, memory: 2, memory_quota: 3, disk: 4, disk_quota: 5, log_rate: 6, log_rate_limit: 7 }),
    ]);
    await pub.stop();
    const token = await testToken({ tenant: "acme" });
    const tenant = await waitFor("tenant metrics", async () => {
      const t = (await scrape(ep.tenantApi, "/v1/tenants/acme/metrics", token)).text;
      return t.includes("tailrace_app_log_rate_limit_bytes_per_second") && t;
    });
    for (const n of sampleNames(tenant)) exposed.add(n);

    // Doppler: a live tail and a firehose carrying lines (in the doppler when wired; else the same instruments driven
    // through a Tail on the side telemetry).
    if (ep.wired) {
      const tail = await openTail(ds.stack.api, "/v1/apps/web/stream", token);
      const fire = await openTail(ds.stack.api, "/v1/firehose/dash", await testToken({ scopes: ["logs.admin"] }));
      const p = await testPublisher(ds.stack.nats.url);
      await p.lines("acme", "web", 0, 20);
      await waitFor("the tail's lines", () => tail.envelopes.length >= 20);
      await p.stop();
      tail.close();
      fire.close();
    } else {
      const ws = { readyState: 1, OPEN: 1, bufferedAmount: 0, send: () => undefined, close: () => undefined, terminate: () => undefined };
      const tail = new Tail(
        ws as never,
        {},
        {
          maxQueue: 100,
          flushMs: 1,
          maxBuffered: 1 << 20,
          hopelessMs: 30_000,
          tenant: "acme",
          sourceId: "web",
          telemetry: ep.telemetry as Telemetry,
          kind: "tail",
        },
      );
      const env = {
        timestamp: nowNs(),
        sourceId: "web",
        instanceId: "0",
        tags: { tenant: "acme" },
        log: { payload: Buffer.from("x"), type: "OUT" as const },
      };
      tail.push([new FeedItem(1, 0, "log", env)]);
      await new Promise((r) => setTimeout(r, 20));
      tail.close();
    }
    for (const n of sampleNames((await scrape(ep.selfApi, "/metrics")).text)) exposed.add(n);

    // Drainer: one drain bound to a TCP receiver, delivering.
    receiver = createServer((s) => s.on("error", () => undefined).resume());
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    const port = (receiver.address() as { port: number }).port;
    const res = await fetch(`${ds.api}/v1/apps/web/drains`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${await testToken({ tenant: "acme", scopes: ["drains.write"] })}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ url: `syslog://127.0.0.1:${port}` }),
    });
    expect(res.status).toBe(201);
    drainer = await ds.startDrainer();
    await waitFor("the drain to be active", () => drainer.stats().some((s) => s.active));
    let drainerText = (await scrape(`http://127.0.0.1:${drainer.port}`, "/metrics")).text;
    if (!drainerText.includes("tailrace_envelopes_sent_total")) {
      // Not wired yet: the drainer's figures through the telemetry module, as the wiring exports them.
      const t = new Telemetry("drainer");
      t.observeDrains(() => drainer.stats());
      t.watchNats(ds.nc);
      drainerText = await t.text();
      await t.shutdown();
    }
    for (const n of sampleNames(drainerText)) exposed.add(n);
  }, 60_000);

  afterAll(async () => {
    await ep?.stop();
    await ds?.stop();
    receiver?.close();
  });

  it("dashboards - every metric name in both dashboards' PromQL is exposed by a running stack", () => {
    expect(exposed.size).toBeGreaterThan(25);
    for (const file of ["tailrace-pipeline.json", "tailrace-app.json"]) {
      const names = dashboardNames(file);
      expect(names.size, file).toBeGreaterThan(5);
      const missing = [...names].filter(([n]) => !exposed.has(n)).map(([n, panel]) => `${n} (${file}: ${panel})`);
      expect(missing, `exposed: ${[...exposed].sort().join(", ")}`).toEqual([]);
    }
  });

  it("dashboards - name extraction reads metrics and skips functions, labels, ranges and variables", () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, stage) (rate(a_bucket{x="y"}[$__rate_interval]))) / on (source_id) b_total{s=~"$app"} > 0',
      ),
    ).toEqual(["a_bucket", "b_total"]);
  });

  it("prometheus.yml - promtool check config passes (with the tenant token file beside it)", async () => {
    const dir = await tempDir("tailrace-promcfg-");
    try {
      copyFileSync(deploy("prometheus/prometheus.yml"), join(dir.path, "prometheus.yml"));
      writeFileSync(join(dir.path, "tenant-acme.token"), "token\n");
      const r = spawnSync("promtool", ["check", "config", join(dir.path, "prometheus.yml")], { encoding: "utf8" });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    } finally {
      await dir.remove();
    }
  });
});
