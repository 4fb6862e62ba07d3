import { testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stack } from "./helpers.js";
import {
  containerGauge,
  counterEnvelope,
  type MetricsEndpoints,
  type MetricsPublisher,
  metricsPublisher,
  type Prometheus,
  startMetricsStack,
  startPrometheus,
} from "./metrics_helpers.js";

const MEMORY = 268_435_456;
/** The app's counter grows by this much at every report (every 250 ms). */
const STEP = 10;

describe("metrics with a real Prometheus", () => {
  let stack: Stack;
  let ep: MetricsEndpoints;
  let pub: MetricsPublisher;
  let prom: Prometheus;
  let emitting: NodeJS.Timeout;
  /** Every total the app reported, so a value read back from Prometheus can be checked against them. */
  const totals = new Set<number>();

  beforeAll(async () => {
    ({ stack, ep } = await startMetricsStack());
    pub = await metricsPublisher(stack.nats.url);
    // An app instance as the agent reports it: container gauges, and its own counter growing by STEP a report.
    let total = 0;
    const emit = () => {
      total += STEP;
      totals.add(total);
      return pub.write("acme", "web", [
        containerGauge("acme", "web", "0", { cpu: 12.5, memory: MEMORY, memory_quota: 2 * MEMORY, disk: 1000, log_rate: 300 }),
        counterEnvelope("acme", "web", "0", "http.requests", total),
      ]);
    };
    await emit();
    emitting = setInterval(() => void emit(), 250);
    const host = (u: string) => new URL(u).host;
    prom = await startPrometheus([
      { name: "tenant-acme", target: host(ep.tenantApi), path: "/v1/tenants/acme/metrics", token: await testToken({ tenant: "acme" }) },
      { name: "doppler", target: host(ep.selfApi), path: "/metrics" },
    ]);
  }, 90_000);

  afterAll(async () => {
    clearInterval(emitting);
    await prom?.stop();
    await pub?.stop();
    await ep?.stop();
    await stack?.stop();
  });

  it("prometheus - scrapes the tenant endpoint with a bearer token and reads back the memory gauge", async () => {
    const q = 'tailrace_app_memory_bytes{job="tenant-acme",source_id="web",app_name="web",instance_id="0",process_type="web"}';
    expect(await waitFor("the memory gauge in Prometheus", () => prom.value(q), 20_000, 250)).toBe(MEMORY);
    expect(await prom.value('up{job="tenant-acme"}')).toBe(1);
    expect(await prom.value('tailrace_app_cpu_percent{job="tenant-acme",instance_id="0"}')).toBe(12.5);
  }, 90_000);

  it("prometheus - the app counter is a Prometheus counter: the app's own totals, never reset, with a rate", async () => {
    const series = 'http_requests_total{job="tenant-acme",source_id="web",instance_id="0"}';
    // A range the series fills: at least four scrapes in it (Prometheus scrapes every second here).
    await waitFor("four scrapes of the counter", async () => ((await prom.value(`count_over_time(${series}[5s])`)) ?? 0) >= 4, 60_000, 250);
    // Exact values rather than a rate band: how many reports fall between two scrapes depends on how busy the
    // machine is, but every value scraped must be a total the app reported, and the series must only grow.
    expect(totals.has((await prom.value(series)) as number)).toBe(true);
    expect(await prom.value(`resets(${series}[5s])`)).toBe(0);
    expect(await prom.value(`rate(${series}[5s])`)).toBeGreaterThan(0);
  }, 90_000);

  it("prometheus - scrapes the doppler's own /metrics (OpenTelemetry) with envelopes received by the tenant metrics consumer", async () => {
    const q = 'tailrace_envelopes_received_total{job="doppler",component="doppler",direction="ingress",consumer="tenant_metrics"}';
    const v = await waitFor(
      "the doppler's received counter in Prometheus",
      async () => ((await prom.value(q)) ?? 0) > 0 && prom.value(q),
      20_000,
      250,
    );
    expect(v).toBeGreaterThan(0);
    expect(await prom.value('up{job="doppler"}')).toBe(1);
    expect(await prom.value('tailrace_consumer_lag_messages{job="doppler",consumer="tenant_metrics"}')).toBeDefined();
  }, 90_000);
});
