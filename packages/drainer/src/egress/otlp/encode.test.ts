import type { Envelope } from "@tailrace/envelope";
import { describe, expect, it } from "vitest";
import { encodeRequest, type OtlpItem, otlpItems } from "./encode.js";
import { decodeOtlpRequest, type KV, type ORequest } from "./receiver.js";

function decodeLogs(items: OtlpItem[]): ORequest {
  return decodeOtlpRequest("logs", encodeRequest("logs", items));
}
function decodeMetrics(items: OtlpItem[]): ORequest {
  return decodeOtlpRequest("metrics", encodeRequest("metrics", items));
}

const TAGS = { tenant: "acme", app_name: "web", source_type: "APP/PROC/WEB", process_type: "web" };
const attrs = (list: KV[] = []) => Object.fromEntries(list.map((a) => [a.key, a.value.stringValue ?? a.value]));

function log(payload: string | Buffer, o: Partial<Envelope> & { type?: "OUT" | "ERR" } = {}): Envelope {
  return {
    timestamp: 1_764_000_000_123_456_789n,
    sourceId: "web",
    instanceId: "0",
    tags: { ...TAGS },
    ...o,
    log: { payload: typeof payload === "string" ? Buffer.from(payload) : payload, type: o.type ?? "OUT" },
  };
}

const ALL = { drainData: "all" as const, disableMetadata: false };

describe("OTLP encoding", () => {
  it("otlp encode - a log envelope is a LogRecord under its app's resource, as the generated decoder reads it", () => {
    const e = log("hello wörld", {
      type: "ERR",
      tags: { ...TAGS, trace_id: "0af7651916cd43dd8448eb211c80319c", span_id: "b7ad6b7169203331", region: "eu", event_name: "login" },
    });
    const req = decodeLogs(otlpItems(e, ALL));
    expect(req.resourceLogs).toHaveLength(1);
    const rl = req.resourceLogs[0];
    expect(attrs(rl.resource.attributes)).toEqual({
      "service.name": "web",
      "service.instance.id": "0",
      tenant: "acme",
      app_name: "web",
      process_type: "web",
      source_type: "APP/PROC/WEB",
    });
    expect(rl.scopeLogs[0].scope.name).toBe("tailrace");
    const r = rl.scopeLogs[0].logRecords[0];
    expect(r.body).toEqual({ stringValue: "hello wörld" });
    expect([r.severityNumber, r.severityText]).toEqual([17, "ERROR"]);
    expect([r.timeUnixNano, r.observedTimeUnixNano]).toEqual(["1764000000123456789", "1764000000123456789"]);
    expect(Buffer.from(r.traceId, "base64").toString("hex")).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(Buffer.from(r.spanId, "base64").toString("hex")).toBe("b7ad6b7169203331");
    expect(r.eventName).toBe("login");
    expect(attrs(r.attributes)).toEqual({ region: "eu" });
  });

  it("otlp encode - severity: OUT is INFO (9), ERR is ERROR (17), a severity tag that agrees gives its level", () => {
    const sev = (e: Envelope) => {
      const r = decodeLogs(otlpItems(e, ALL)).resourceLogs[0].scopeLogs[0].logRecords[0];
      return [r.severityNumber, r.severityText];
    };
    expect(sev(log("x"))).toEqual([9, "INFO"]);
    expect(sev(log("x", { type: "ERR" }))).toEqual([17, "ERROR"]);
    expect(sev(log("x", { tags: { ...TAGS, severity: "WARN" } }))).toEqual([13, "WARN"]);
    expect(sev(log("x", { type: "ERR", tags: { ...TAGS, severity: "FATAL" } }))).toEqual([21, "FATAL"]);
    // A level that contradicts the type (an ERR line tagged debug) keeps the type's number.
    expect(sev(log("x", { type: "ERR", tags: { ...TAGS, severity: "debug" } }))).toEqual([17, "debug"]);
  });

  it("otlp encode - invalid UTF-8 goes as bytes, ids that are not hex stay attributes, disable-metadata drops the tags", () => {
    const bad = Buffer.from([0x66, 0xff, 0x6f]);
    const e = log(bad, { tags: { ...TAGS, trace_id: "not-hex", region: "eu" } });
    const r = decodeLogs(otlpItems(e, ALL)).resourceLogs[0].scopeLogs[0].logRecords[0];
    expect(Buffer.from(r.body.bytesValue, "base64")).toEqual(bad);
    expect(r.traceId).toBeUndefined();
    expect(attrs(r.attributes)).toEqual({ trace_id: "not-hex", region: "eu" });
    const plain = decodeLogs(otlpItems(e, { drainData: "logs", disableMetadata: true })).resourceLogs[0];
    expect(plain.scopeLogs[0].logRecords[0].attributes).toBeUndefined();
    expect(attrs(plain.resource.attributes).tenant).toBe("acme"); // the resource stays
  });

  it("otlp encode - records group by resource and scope, in order; LGR lines are a resource of their own", () => {
    const items = [
      log("a0", { instanceId: "0" }),
      log("b1", { instanceId: "1" }),
      log("a1", { instanceId: "0", tags: { ...TAGS, "otel.scope.name": "checkout" } }),
      log("a2", { instanceId: "0" }),
      log("notice", { instanceId: "", tags: { tenant: "acme", source_type: "LGR" } }),
    ].flatMap((e) => otlpItems(e, ALL));
    const req = decodeLogs(items);
    const shape = req.resourceLogs.map((rl) => [
      attrs(rl.resource.attributes)["service.instance.id"] ?? attrs(rl.resource.attributes).source_type,
      rl.scopeLogs.map((s) => [s.scope.name, s.logRecords.map((r) => r.body.stringValue)]),
    ]);
    expect(shape).toEqual([
      [
        "0",
        [
          ["tailrace", ["a0", "a2"]],
          ["checkout", ["a1"]],
        ],
      ],
      ["1", [["tailrace", ["b1"]]]],
      ["LGR", [["tailrace", ["notice"]]]],
    ]);
  });

  it("otlp encode - counters are cumulative monotonic Sums, gauges one Gauge per metric, timers a Gauge of seconds", () => {
    const base = { timestamp: 2_000_000_000_000_000_000n, sourceId: "web", instanceId: "0", tags: { ...TAGS, route: "/a" } };
    const items = [
      { ...base, counter: { name: "requests", delta: 3n, total: 12_345_678_901_234n } },
      { ...base, gauge: { metrics: { cpu: { unit: "percentage", value: 12.5 }, memory: { unit: "bytes", value: 1024 } } } },
      { ...base, timer: { name: "checkout", start: 1_000_000_000n, stop: 3_500_000_000n } },
      { ...base, event: { title: "t", body: "b" } },
    ].flatMap((e) => otlpItems(e as Envelope, ALL));
    expect(items.map((i) => i.signal)).toEqual(["metrics", "metrics", "metrics", "metrics"]);
    const metrics = decodeMetrics(items).resourceMetrics[0].scopeMetrics[0].metrics;
    const [counter, cpu, memory, timer] = metrics;
    expect(counter).toMatchObject({ name: "requests", sum: { aggregationTemporality: 2, isMonotonic: true } });
    expect(counter.sum.dataPoints).toEqual([
      { attributes: [{ key: "route", value: { stringValue: "/a" } }], timeUnixNano: "2000000000000000000", asInt: "12345678901234" },
    ]);
    expect([cpu.name, cpu.unit, cpu.gauge.dataPoints[0].asDouble]).toEqual(["cpu", "%", 12.5]);
    expect([memory.name, memory.unit, memory.gauge.dataPoints[0].asDouble]).toEqual(["memory", "By", 1024]);
    expect([timer.name, timer.unit, timer.gauge.dataPoints[0]]).toEqual([
      "checkout",
      "s",
      {
        attributes: [{ key: "route", value: { stringValue: "/a" } }],
        startTimeUnixNano: "1000000000",
        timeUnixNano: "3500000000",
        asDouble: 2.5,
      },
    ]);
  });

  it("otlp encode - drain-data picks what is sent", () => {
    const g = {
      timestamp: 1n,
      sourceId: "web",
      instanceId: "0",
      tags: TAGS,
      gauge: { metrics: { cpu: { unit: "percentage", value: 1 } } },
    };
    const count = (drainData: "logs" | "metrics" | "all") =>
      [log("x"), g].map((e) => otlpItems(e as Envelope, { drainData, disableMetadata: false }).length);
    expect(count("logs")).toEqual([1, 0]);
    expect(count("metrics")).toEqual([0, 1]);
    expect(count("all")).toEqual([1, 1]);
  });
});
