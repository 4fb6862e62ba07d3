import { fromProtoJson } from "@tailrace/envelope";
import { testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extraDoppler, type Stack, text } from "./helpers.js";
import {
  containerGauge,
  counterEnvelope,
  type MetricsEndpoints,
  type MetricsPublisher,
  metricsEndpoints,
  metricsPublisher,
  scrape,
  startMetricsStack,
} from "./metrics_helpers.js";

const STALE_MS = 3000;

/** The value of the first sample whose line contains every one of `parts`. */
function sample(exposition: string, ...parts: string[]): number | undefined {
  const line = exposition.split("\n").find((l) => !l.startsWith("#") && parts.every((p) => l.includes(p)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("metrics lifecycle", () => {
  let stack: Stack;
  let ep: MetricsEndpoints;
  let token: string;

  beforeAll(async () => {
    ({ stack, ep } = await startMetricsStack({ staleMs: STALE_MS }));
    token = await testToken({ tenant: "acme" });
  }, 90_000);

  afterAll(async () => {
    await ep?.stop();
    await stack?.stop();
  });

  const read = async () => (await scrape(ep.tenantApi, "/v1/tenants/acme/metrics", token)).text;

  it("staleness - a stopped instance's series disappear after the staleness window, a live one's stay", async () => {
    const pub = await metricsPublisher(stack.nats.url);
    let both = true;
    const emit = () =>
      pub.write("acme", "stale", [
        containerGauge("acme", "stale", "0", { memory: 100 }),
        ...(both ? [containerGauge("acme", "stale", "1", { memory: 200 })] : []),
      ]);
    await emit();
    const timer = setInterval(() => void emit(), 300);
    try {
      await waitFor("both instances", async () => (await read()).includes('source_id="stale",app_name="stale",instance_id="1"'));
      both = false;
      const stoppedAt = Date.now();
      await waitFor(
        "instance 1 to go stale",
        async () => !(await read()).includes('source_id="stale",app_name="stale",instance_id="1"'),
        // Liveness only: it goes about STALE_MS after its last report; 30 s more leaves room for a busy machine.
        STALE_MS + 30_000,
        100,
      );
      // Not before its window: the last report may have gone out up to one emit interval (300 ms) after `both`
      // turned false, and a second of slack covers timer granularity. Late is allowed (the bound above).
      const gone = Date.now() - stoppedAt;
      expect(gone).toBeGreaterThan(STALE_MS - 1000);
      expect(sample(await read(), "tailrace_app_memory_bytes{", 'source_id="stale"', 'instance_id="0"')).toBe(100);
    } finally {
      clearInterval(timer);
      await pub.stop();
    }
  }, 60_000);

  it("counters - a counter stays monotonic across an agent restart, and a late envelope of the old agent cannot lower it", async () => {
    const seen: number[] = [];
    const watch = async () => {
      const v = sample(await read(), "jobs_done_total{", 'source_id="worker"');
      if (v !== undefined) seen.push(v);
      return v;
    };
    const first = await metricsPublisher(stack.nats.url);
    const late = counterEnvelope("acme", "worker", "0", "jobs.done", 15);
    for (const total of [10, 20, 30]) {
      await first.write("acme", "worker", [counterEnvelope("acme", "worker", "0", "jobs.done", total)]);
      await waitFor(`total ${total}`, async () => (await watch()) === total);
    }
    await first.stop();
    // The agent restarts; the app keeps its own total, and a batch stamped before the restart arrives late.
    const second = await metricsPublisher(stack.nats.url);
    for (const total of [40, 50]) {
      await second.write("acme", "worker", [counterEnvelope("acme", "worker", "0", "jobs.done", total)]);
      await waitFor(`total ${total}`, async () => (await watch()) === total);
    }
    await second.write("acme", "worker", [late]);
    await new Promise((r) => setTimeout(r, 300));
    await watch();
    await second.stop();
    expect(seen.at(-1)).toBe(50);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1] as number);
  }, 90_000);

  it("rebuild - a doppler started later answers with the tenant's full set, read back from the stream", async () => {
    const pub = await metricsPublisher(stack.nats.url);
    await pub.write("acme", "rebuilt", [
      containerGauge("acme", "rebuilt", "0", { cpu: 5, memory: 500 }),
      containerGauge("acme", "rebuilt", "1", { cpu: 6, memory: 600 }),
      counterEnvelope("acme", "rebuilt", "0", "orders", 77),
    ]);
    await pub.stop();
    await waitFor("the first doppler", async () => (await read()).includes('orders_total{source_id="rebuilt"'));
    const second = await extraDoppler(stack.nats.url, { TAILRACE_METRICS_STALENESS: `${STALE_MS}ms` });
    const ep2 = await metricsEndpoints(stack, { staleMs: STALE_MS, doppler: second.api });
    try {
      const lines = (t: string) =>
        t
          .split("\n")
          .filter((l) => l.includes('source_id="rebuilt"'))
          .sort();
      const mine = lines(await read());
      const theirs = lines((await scrape(ep2.tenantApi, "/v1/tenants/acme/metrics", token)).text);
      expect(mine.length).toBe(5);
      expect(theirs).toEqual(mine);
    } finally {
      await ep2.stop();
      await second.doppler.stop();
    }
  }, 90_000);
});

describe("metrics cardinality", () => {
  let stack: Stack;
  let ep: MetricsEndpoints;
  let pub: MetricsPublisher;

  beforeAll(async () => {
    ({ stack, ep } = await startMetricsStack({ maxSeries: 3 }));
    pub = await metricsPublisher(stack.nats.url);
  }, 90_000);

  afterAll(async () => {
    await pub?.stop();
    await ep?.stop();
    await stack?.stop();
  });

  it("cardinality - past the bound the doppler serves what it has, counts refusals, and tells the tenant's stream", async () => {
    const token = await testToken({ tenant: "acme" });
    await pub.write("acme", "busy", [
      containerGauge("acme", "busy", "0", { cpu: 1, memory: 2, disk: 3 }),
      containerGauge("acme", "busy", "1", { cpu: 4, memory: 5, disk: 6 }),
    ]);
    const exposition = await waitFor("three series", async () => {
      const t = (await scrape(ep.tenantApi, "/v1/tenants/acme/metrics", token)).text;
      return t.split("\n").filter((l) => l.startsWith("tailrace_app_")).length === 3 && t;
    });
    expect(exposition).toContain('tailrace_app_cpu_percent{source_id="busy",app_name="busy",instance_id="0",process_type="web"} 1');
    const self = (await scrape(ep.selfApi, "/metrics")).text;
    expect(sample(self, "tailrace_tenant_metrics_refused_total{", 'reason="cardinality"')).toBe(3);
    const notice = await waitFor(
      "an LGR notice in the app's stream",
      async () => {
        const body = (await (
          await fetch(`${stack.api}/api/v1/read/busy?envelope_types=LOG`, { headers: { authorization: `Bearer ${token}` } })
        ).json()) as { envelopes: { batch: unknown[] } };
        return body.envelopes.batch.map((v) => fromProtoJson(v)).find((e) => e.tags.source_type === "LGR");
      },
      15_000,
      200,
    );
    expect(text(notice)).toMatch(/refused 3 metric samples of new series: .*3 series, the most allowed \(TAILRACE_METRICS_MAX_SERIES\)/);
  }, 90_000);
});
