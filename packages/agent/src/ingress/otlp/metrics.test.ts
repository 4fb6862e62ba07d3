import { validateEnvelope } from "@tailrace/envelope";
import { describe, expect, it } from "vitest";
import { decodeMetrics } from "./decode.js";
import { metricsToEnvelopes, unitOf } from "./metrics.js";
import { limits, metricsJson, NOW, now, placement, str } from "./testing.js";

const labels = new Set(["service.name"]);

function map(metrics: object[], resource: object[] = []) {
  const req = decodeMetrics(Buffer.from(JSON.stringify(metricsJson(metrics, resource))), "json");
  const out = metricsToEnvelopes(req, placement, limits, labels, now);
  for (const e of out.envelopes) validateEnvelope(e);
  return out;
}

const sum = (name: string, monotonic: boolean, temporality: number, dataPoints: object[]) => ({
  name,
  sum: { aggregationTemporality: temporality, isMonotonic: monotonic, dataPoints },
});

describe("OTLP metrics mapping", () => {
  it("otlp metrics - a monotonic cumulative sum is a counter whose total is the value", () => {
    const out = map([
      sum("http.requests", true, 2, [{ asInt: "42", timeUnixNano: "5", attributes: [str("route", "/a")] }, { asDouble: 7.9 }]),
    ]);
    expect(out.rejected).toBe(0);
    expect(out.envelopes.map((e) => e.counter)).toEqual([
      { name: "http.requests", delta: 0n, total: 42n },
      { name: "http.requests", delta: 0n, total: 7n },
    ]);
    expect(out.envelopes.map((e) => e.timestamp)).toEqual([5n, NOW]);
    expect(out.envelopes[0]?.tags).toMatchObject({ ...placement.tags, route: "/a" });
  });

  it("otlp metrics - gauges and non-monotonic cumulative sums are gauges, with the unit in the doppler's spelling", () => {
    const out = map([
      { name: "heap", unit: "By", gauge: { dataPoints: [{ asInt: "2048" }] } },
      sum("queue.depth", false, 2, [{ asDouble: -3 }]),
      { name: "latency", unit: "ms", gauge: { dataPoints: [{ asDouble: 1.5 }] } },
    ]);
    expect(out.envelopes.map((e) => e.gauge?.metrics)).toEqual([
      { heap: { unit: "bytes", value: 2048 } },
      { "queue.depth": { unit: "", value: -3 } },
      { latency: { unit: "ms", value: 1.5 } },
    ]);
    expect([unitOf("1"), unitOf("{request}"), unitOf("KiBy"), unitOf("Cel"), unitOf(undefined)]).toEqual(["", "", "kib", "Cel", ""]);
  });

  it("otlp metrics - distributions, delta sums and points without a usable value are refused and counted", () => {
    const out = map([
      { name: "h", histogram: { aggregationTemporality: 2, dataPoints: [{ count: "1" }, { count: "2" }] } },
      { name: "eh", exponentialHistogram: { aggregationTemporality: 2, dataPoints: [{ count: "1" }] } },
      { name: "s", summary: { dataPoints: [{ count: "1" }] } },
      sum("d", true, 1, [{ asInt: "1" }]),
      sum("u", true, 0, [{ asInt: "1" }]),
      sum("neg", true, 2, [{ asInt: "-1" }]),
      { name: "novalue", gauge: { dataPoints: [{}, { asDouble: "NaN" }, { asDouble: "Infinity" }] } },
      { name: "", gauge: { dataPoints: [{ asDouble: 1 }] } },
      { name: "ok", gauge: { dataPoints: [{ asDouble: 1 }] } },
    ]);
    expect(out.rejected).toBe(2 + 1 + 1 + 1 + 1 + 1 + 3 + 1);
    expect(out.error).toMatch(/metrics\[0\]: histograms are not taken/);
    expect(out.envelopes.map((e) => Object.keys(e.gauge?.metrics ?? {}))).toEqual([["ok"]]);
  });

  it("otlp metrics - only the chosen resource attributes become labels; a data point's own always do", () => {
    const [e] = map(
      [{ name: "g", gauge: { dataPoints: [{ asDouble: 1, attributes: [str("pool", "a")] }] } }],
      [str("service.name", "shop"), str("process.pid", "123")],
    ).envelopes;
    expect(e?.tags["service.name"]).toBe("shop");
    expect(e?.tags.pool).toBe("a");
    expect(e?.tags["process.pid"]).toBeUndefined();
  });
});
