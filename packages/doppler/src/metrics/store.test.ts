import { spawnSync } from "node:child_process";
import type { Envelope } from "@tailrace/envelope";
import { describe, expect, it } from "vitest";
import { appMetricName, seriesLabels } from "./names.js";
import { renderTenant } from "./render.js";
import { MetricsStore, type Refusal } from "./store.js";
import { TimerWindow } from "./window.js";

const T0 = 1_800_000_000_000;
const ns = (ms: number) => BigInt(ms) * 1_000_000n;
const tags = { tenant: "acme", app_name: "web", source_type: "APP/PROC/WEB", process_type: "web" };

function gauge(ms: number, instance: string, metrics: Record<string, [number, string]>): Envelope {
  const m: Record<string, { value: number; unit: string }> = {};
  for (const [k, [value, unit]] of Object.entries(metrics)) m[k] = { value, unit };
  return { timestamp: ns(ms), sourceId: "web", instanceId: instance, tags, gauge: { metrics: m } };
}

function counter(ms: number, instance: string, name: string, total: number): Envelope {
  return { timestamp: ns(ms), sourceId: "web", instanceId: instance, tags, counter: { name, delta: 1n, total: BigInt(total) } };
}

function promtool(text: string): string {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  return `${r.status} ${r.stdout}${r.stderr}`.trim();
}

describe("tenant metrics store", () => {
  it("names - app metric names become lint-clean Prometheus names in base units", () => {
    expect(appMetricName("http.latency", "gauge")).toEqual({ name: "http_latency", factor: 1 });
    expect(appMetricName("http.latency", "gauge", "ms")).toEqual({ name: "http_latency_seconds", factor: 1e-3 });
    expect(appMetricName("latency_ms", "gauge")).toEqual({ name: "latency_seconds", factor: 1e-3 });
    expect(appMetricName("queueDepth", "gauge")?.name).toBe("queue_depth");
    expect(appMetricName("jobs.count", "gauge")?.name).toBe("jobs_count_value");
    expect(appMetricName("requests", "counter")?.name).toBe("requests_total");
    expect(appMetricName("requests_total", "counter")?.name).toBe("requests_total");
    expect(appMetricName("http.latency", "timer")?.name).toBe("http_latency_seconds");
    expect(appMetricName("tailrace_app_cpu_percent", "gauge")?.name).toBe("app_tailrace_app_cpu_percent");
    expect(appMetricName("...", "gauge")).toBeUndefined();
  });

  it("names - labels are the four fixed ones, then the envelope's own tags, sanitised and bounded", () => {
    expect(seriesLabels("web", "0", { ...tags, "http.route": "/a", instance: "x", quantile: "q" })).toEqual({
      source_id: "web",
      app_name: "web",
      instance_id: "0",
      process_type: "web",
      http_route: "/a",
    });
  });

  it("window - quantiles within 2% and counts over the window only", () => {
    const w = new TimerWindow(1000);
    for (let i = 1; i <= 100; i++) w.observe(T0, i / 100);
    const f = w.figures(T0, [0.5, 0.9, 0.99]);
    expect(f.count).toBe(100);
    expect(f.sum).toBeCloseTo(50.5);
    for (const [q, v] of f.quantiles) expect(Math.abs(v - q) / q).toBeLessThan(0.025);
    expect(w.figures(T0 + 5000, [0.5]).count).toBe(0);
    expect(w.empty(T0 + 5000)).toBe(true);
  });

  it("store - gauges map to container names, stale series disappear, counters ignore older envelopes", async () => {
    let now = T0;
    const store = new MetricsStore({ staleMs: 45_000, maxSeriesPerTenant: 100, now: () => now });
    store.ingest("acme", gauge(T0, "0", { cpu: [12.5, "percentage"], memory: [1024, "bytes"], "http.latency": [20, "ms"] }));
    store.ingest("acme", gauge(T0, "1", { cpu: [1, "percentage"] }));
    store.ingest("acme", counter(T0, "0", "requests", 10));
    store.ingest("acme", counter(T0 - 1000, "0", "requests", 5));
    let text = await renderTenant(store.snapshot("acme"), now);
    expect(text).toContain('tailrace_app_cpu_percent{source_id="web",app_name="web",instance_id="0",process_type="web"} 12.5');
    expect(text).toContain('tailrace_app_memory_bytes{source_id="web",app_name="web",instance_id="0",process_type="web"} 1024');
    expect(text).toContain('http_latency_seconds{source_id="web",app_name="web",instance_id="0",process_type="web"} 0.02');
    expect(text).toContain('requests_total{source_id="web",app_name="web",instance_id="0",process_type="web"} 10');
    expect(promtool(text)).toBe("0");

    now = T0 + 40_000;
    store.ingest("acme", gauge(now, "0", { cpu: [50, "percentage"] }));
    now = T0 + 46_000;
    text = await renderTenant(store.snapshot("acme"), now);
    expect(text).toContain('instance_id="0",process_type="web"} 50');
    expect(text).not.toContain('instance_id="1"');
    expect(store.sweep()).toBe(4); // memory, http_latency, instance 1's cpu, requests
    expect(store.seriesCount("acme")).toBe(1);
  });

  it("store - past the bound new series are refused and counted, known ones keep updating", () => {
    const refusals: Refusal[] = [];
    const store = new MetricsStore({ staleMs: 45_000, maxSeriesPerTenant: 2, now: () => T0, onRefuse: (r) => refusals.push(r) });
    store.ingest("acme", gauge(T0, "0", { cpu: [1, "percentage"], memory: [1, "bytes"], disk: [1, "bytes"] }));
    store.ingest("other", gauge(T0, "0", { cpu: [1, "percentage"] }));
    expect(store.seriesCount("acme")).toBe(2);
    expect(store.seriesCount("other")).toBe(1);
    expect(refusals).toEqual([expect.objectContaining({ tenant: "acme", family: "tailrace_app_disk_bytes", reason: "cardinality" })]);
    store.ingest("acme", gauge(T0 + 1, "0", { cpu: [2, "percentage"] }));
    expect(store.snapshot("acme")[0]?.series.values().next().value?.value).toBe(2);
  });

  it("render - timers are summaries over the window, and every output passes promtool", async () => {
    const store = new MetricsStore({ staleMs: 45_000, maxSeriesPerTenant: 100, now: () => T0 });
    for (let i = 1; i <= 10; i++) {
      store.ingest("acme", {
        timestamp: ns(T0),
        sourceId: "web",
        instanceId: "0",
        tags: { ...tags, route: "/orders" },
        timer: { name: "http.latency", start: ns(T0) - BigInt(i) * 10_000_000n, stop: ns(T0) },
      });
    }
    const text = await renderTenant(store.snapshot("acme"), T0);
    expect(text).toContain("# TYPE http_latency_seconds summary");
    expect(text).toMatch(/http_latency_seconds\{[^}]*route="\/orders",quantile="0.5"\} 0.0[45]/);
    expect(text).toMatch(/http_latency_seconds_count\{[^}]*\} 10/);
    expect(text).toMatch(/http_latency_seconds_sum\{[^}]*\} 0.55/);
    expect(promtool(text)).toBe("0");
  });
});
