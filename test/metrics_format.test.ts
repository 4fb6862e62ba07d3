import { Drainer, loadDrainerConfig } from "@tailrace/drainer";
import { createLogger, Telemetry } from "@tailrace/runtime";
import { testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTail, type Stack, testPublisher } from "./helpers.js";
import {
  containerGauge,
  counterEnvelope,
  type MetricsEndpoints,
  type MetricsPublisher,
  metricsPublisher,
  promtool,
  scrape,
  startMetricsStack,
  timerEnvelope,
} from "./metrics_helpers.js";

describe("metrics format", () => {
  let stack: Stack;
  let ep: MetricsEndpoints;
  let pub: MetricsPublisher;

  beforeAll(async () => {
    ({ stack, ep } = await startMetricsStack());
    pub = await metricsPublisher(stack.nats.url);
  }, 90_000);

  afterAll(async () => {
    await pub?.stop();
    await ep?.stop();
    await stack?.stop();
  });

  it("format - promtool passes the tenant endpoint with container gauges, odd names, units, tags and timers", async () => {
    const token = await testToken({ tenant: "acme" });
    const gauge = containerGauge("acme", "web", "0", {
      cpu: 3.5,
      memory: 1,
      memory_quota: 2,
      disk: 3,
      disk_quota: 4,
      log_rate: 5,
      log_rate_limit: -1,
    });
    const odd = {
      ...containerGauge("acme", "web", "0", {}),
      tags: { tenant: "acme", app_name: "web", process_type: "web", "http.Route": 'say "hi"\\\n', queueName: "q1" },
      gauge: {
        metrics: {
          "http.latency": { unit: "ms", value: 12 },
          queueDepth: { unit: "", value: 7 },
          "jobs.count": { unit: "", value: 2 },
          "heap-used": { unit: "MiB", value: 1.5 },
          "9lives": { unit: "", value: 9 },
        },
      },
    };
    const timers = [0.01, 0.02, 0.05, 0.2, 1.5].map((s) => timerEnvelope("acme", "web", "0", "db.queryTime", s, { table: "orders" }));
    await pub.write("acme", "web", [gauge, odd, counterEnvelope("acme", "web", "0", "http.requests", 12), ...timers]);
    const { text } = await waitFor("every family", async () => {
      const r = await scrape(ep.tenantApi, "/v1/tenants/acme/metrics", token);
      return r.text.includes("db_query_time_seconds_count") && r.text.includes("heap_used_bytes") && r;
    });
    for (const name of [
      "tailrace_app_cpu_percent",
      "tailrace_app_memory_bytes",
      "tailrace_app_memory_quota_bytes",
      "tailrace_app_disk_bytes",
      "tailrace_app_disk_quota_bytes",
      "tailrace_app_log_rate_bytes_per_second",
      "tailrace_app_log_rate_limit_bytes_per_second",
      "http_requests_total",
      "http_latency_seconds",
      "queue_depth",
      "jobs_count_value",
      "_9lives",
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toContain("# TYPE db_query_time_seconds summary");
    expect(text).toMatch(/db_query_time_seconds_count\{[^}]*table="orders"\} 5/);
    expect(text).toContain('http_route="say \\"hi\\"\\\\\\n"');
    expect(text).toMatch(/heap_used_bytes\{[^}]*\} 1572864/);
    expect(promtool(text)).toBe("");
  });

  it("format - promtool passes the doppler's own /metrics with tails and firehose open, and the side telemetry", async () => {
    const token = await testToken({ tenant: "acme" });
    const tail = await openTail(stack.api, "/v1/apps/web/stream", token);
    const fire = await openTail(stack.api, "/v1/firehose/fmt", await testToken({ scopes: ["logs.admin"] }));
    const p = await testPublisher(stack.nats.url);
    await p.lines("acme", "web", 0, 50);
    await waitFor("the tail's lines", () => tail.envelopes.length >= 50);
    for (const base of new Set([stack.api, ep.selfApi])) {
      const { text, type } = await scrape(base, "/metrics");
      expect(type).toContain("version=0.0.4");
      expect(promtool(text)).toBe("");
    }
    tail.close();
    fire.close();
    await p.stop();
  });

  it("format - promtool passes the drainer's /metrics, and its OpenTelemetry figures as the wiring exports them", async () => {
    const drainer = new Drainer(
      loadDrainerConfig({ NATS_URL: stack.nats.url, TAILRACE_DRAINER_HOST: "127.0.0.1", TAILRACE_DRAINER_PORT: "0" }),
      createLogger({ name: "test-drainer", level: "silent" }),
    );
    await drainer.start();
    const telemetry = new Telemetry("drainer");
    try {
      expect(promtool((await scrape(`http://127.0.0.1:${drainer.port}`, "/metrics")).text)).toBe("");
      telemetry.observeDrains(() => drainer.stats());
      const text = await telemetry.text();
      expect(text).toContain("tailrace_drainer_drains 0");
      expect(promtool(text)).toBe("");
    } finally {
      await telemetry.shutdown();
      await drainer.stop();
    }
  });
});
