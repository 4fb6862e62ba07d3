/**
 * OTLP/HTTP into the agent, with the real OpenTelemetry JS SDK as the client (issue 14): logs and metrics exported
 * as JSON and as protobuf, gzipped or not, reach `tailrace logs`, the live tail and the tenant Prometheus endpoint;
 * bad bodies get the status the OTLP specification names and cost nothing else; a full buffer answers 429.
 */
import { gzipSync } from "node:zlib";
import { Kvm } from "@nats-io/kv";
import { connect } from "@nats-io/transport-node";
import { context, trace } from "@opentelemetry/api";
import { SeverityNumber } from "@opentelemetry/api-logs";
import { OTLPLogExporter as JsonLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPLogExporter as ProtoLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPMetricExporter as JsonMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as ProtoMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { APPS_BUCKET } from "@tailrace/envelope";
import { startNatsServer, TEST_JWT_SECRET, testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lines, logsOf, openTails, startAgent, type TestAgent } from "./agent_helpers.js";
import { cli, extraDoppler, type Stack, startStack, text } from "./helpers.js";
import { metricsEndpoints } from "./metrics_helpers.js";

type Compression = NonNullable<NonNullable<ConstructorParameters<typeof JsonLogExporter>[0]>["compression"]>;
const GZIP = "gzip" as Compression;

interface Answer {
  status: number;
  type: string | null;
  retryAfter: string | null;
  body: Buffer;
}

async function post(
  port: number,
  path: string,
  body: Buffer | string,
  headers: Record<string, string> = { "content-type": "application/json" },
  method = "POST",
): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers, ...(method === "GET" ? {} : { body }) });
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    retryAfter: res.headers.get("retry-after"),
    body: Buffer.from(await res.arrayBuffer()),
  };
}

/** An OTLP JSON logs request of `texts`, one record each. */
function jsonLogs(texts: string[], extra: Record<string, unknown> = {}): string {
  const logRecords = texts.map((t) => ({ timeUnixNano: String(BigInt(Date.now()) * 1_000_000n), body: { stringValue: t }, ...extra }));
  return JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords }] }] });
}

/** Protobuf varint and length-delimited field, to write bodies no SDK would send. */
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
const field = (no: number, payload: Buffer) => Buffer.concat([varint((no << 3) | 2), varint(payload.length), payload]);

/** ExportLogsServiceRequest with one record whose body is `depth` arrays inside each other. */
function nestedProtoLogs(depth: number): Buffer {
  let any = field(1, Buffer.from("x")); // AnyValue.string_value
  for (let i = 0; i < depth; i++) any = field(5, field(1, any)); // AnyValue.array_value { values }
  const record = field(5, any); // LogRecord.body
  return field(1, field(2, field(2, record))); // resource_logs { scope_logs { log_records } }
}

describe("agent OTLP ingress", () => {
  let stack: Stack;
  let agent: TestAgent;
  let fixed: TestAgent;
  let token: string;
  let port: number;
  const auth = () => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    stack = await startStack();
    token = await testToken({ tenant: "acme" });
    agent = await startAgent(stack, {
      TAILRACE_INGRESS_ADDR: "127.0.0.1:0",
      TAILRACE_JWT_SECRET: TEST_JWT_SECRET,
      TAILRACE_INGRESS_MAX_BYTES: "65536",
      TAILRACE_OTLP_MAX_DECODED_BYTES: "262144",
    });
    port = agent.agent.ports.ingress;
    fixed = await startAgent(stack, {
      TAILRACE_INGRESS_ADDR: "127.0.0.1:0",
      TAILRACE_INGRESS_TENANT: "acme",
      TAILRACE_INGRESS_APP: "otlpfixed",
      TAILRACE_LOG_RATE_LIMIT: "1000",
    });
  });
  afterAll(async () => {
    await agent?.stop();
    await fixed?.stop();
    await stack?.stop();
  });

  it("otlp - an app logging with the OpenTelemetry SDK (JSON gzipped, and protobuf) shows its lines in tailrace logs", async () => {
    const [tail] = (await openTails(stack, ["otlpshop"], token)).values();
    const url = `http://127.0.0.1:${port}/v1/logs?app=otlpshop`;
    const resource = resourceFromAttributes({ "service.name": "shop", "deployment.environment.name": "test" });
    const json = new LoggerProvider({
      resource,
      processors: [new SimpleLogRecordProcessor({ exporter: new JsonLogExporter({ url, headers: auth(), compression: GZIP }) })],
    });
    const proto = new LoggerProvider({
      resource,
      processors: [new SimpleLogRecordProcessor({ exporter: new ProtoLogExporter({ url, headers: auth() }) })],
    });
    json
      .getLogger("checkout")
      .emit({ severityNumber: SeverityNumber.INFO, severityText: "INFO", body: "order 42 placed", attributes: { user: "u1" } });
    const span = trace.setSpanContext(context.active(), {
      traceId: "5b8efff798038103d269b633813fc60c",
      spanId: "eee19b7ec3c1b174",
      traceFlags: 1,
    });
    proto.getLogger("checkout").emit({
      severityNumber: SeverityNumber.ERROR,
      body: { error: "card declined", code: 402 },
      attributes: { tenant: "globex", "http.route": "/pay" },
      context: span,
    });
    await Promise.all([json.forceFlush(), proto.forceFlush()]);
    await waitFor("two OTLP lines in the tail", () => logsOf(tail!.envelopes).length >= 2);
    const info = logsOf(tail!.envelopes).find((e) => e.log?.type === "OUT");
    const error = logsOf(tail!.envelopes).find((e) => e.log?.type === "ERR");
    expect(text(info!)).toBe("order 42 placed");
    expect(info!.log?.type).toBe("OUT");
    expect(info!.tags).toMatchObject({ tenant: "acme", app_name: "otlpshop", source_type: "APP/PROC/OTLP", severity: "INFO", user: "u1" });
    expect(info!.tags["service.name"]).toBe("shop");
    expect(info!.tags["otel.scope.name"]).toBe("checkout");
    expect(JSON.parse(text(error!))).toEqual({ error: "card declined", code: 402 });
    expect(error!.log?.type).toBe("ERR");
    // The body cannot move the line to another tenant: its `tenant` attribute is dropped and counted.
    expect(error!.tags).toMatchObject({
      tenant: "acme",
      trace_id: "5b8efff798038103d269b633813fc60c",
      span_id: "eee19b7ec3c1b174",
      "http.route": "/pay",
      "otel.dropped_attributes_count": "1",
    });
    expect(error!.sourceId).toBe("otlpshop");
    tail!.close();
    const recent = await cli(["logs", "otlpshop", "--recent"], { ...stack.env, TAILRACE_TOKEN: token });
    expect(recent.code, recent.stderr).toBe(0);
    expect(recent.stdout).toMatch(/\[APP\/PROC\/OTLP\/0\] OUT order 42 placed/);
    expect(recent.stdout).toMatch(/\[APP\/PROC\/OTLP\/0\] ERR \{"error":"card declined","code":402\}/);
    expect(agent.agent.stats().ingress.envelopes.otlp).toBeGreaterThanOrEqual(2);
    await Promise.all([json.shutdown(), proto.shutdown()]);
  });

  it("otlp - SDK metrics (JSON gzipped, and protobuf) show on the tenant Prometheus endpoint; histograms are refused in partial_success", async () => {
    const ep = await metricsEndpoints(stack);
    try {
      const resource = resourceFromAttributes({ "service.name": "shop" });
      const url = `http://127.0.0.1:${port}/v1/metrics?app=otlpmetrics&instance=2`;
      const jsonReader = new PeriodicExportingMetricReader({
        exporter: new JsonMetricExporter({ url, headers: auth(), compression: GZIP }),
        exportIntervalMillis: 3_600_000,
      });
      const protoReader = new PeriodicExportingMetricReader({
        exporter: new ProtoMetricExporter({ url, headers: auth() }),
        exportIntervalMillis: 3_600_000,
      });
      const jsonMeters = new MeterProvider({ resource, readers: [jsonReader] });
      const protoMeters = new MeterProvider({ resource, readers: [protoReader] });
      const m = jsonMeters.getMeter("shop");
      m.createCounter("orders.placed").add(3, { region: "eu" });
      m.createUpDownCounter("queue.depth").add(5);
      m.createGauge("heap.used", { unit: "By" }).record(2048);
      m.createHistogram("checkout.duration", { unit: "ms" }).record(12);
      protoMeters.getMeter("shop").createCounter("jobs.done").add(7);
      await jsonReader.forceFlush();
      await protoReader.forceFlush();
      let body = "";
      await waitFor("the OTLP metrics on the tenant endpoint", async () => {
        body = await (await fetch(`${ep.tenantApi}/v1/tenants/acme/metrics`, { headers: auth() })).text();
        return body.includes("jobs_done_total") && body.includes("heap_used_bytes") && body.includes("orders_placed_total");
      });
      expect(body).toMatch(/^orders_placed_total\{[^}]*instance_id="2"[^}]*\} 3$/m);
      expect(body).toMatch(/^orders_placed_total\{[^}]*region="eu"[^}]*\} 3$/m);
      expect(body).toMatch(/^orders_placed_total\{[^}]*service_name="shop"[^}]*\} 3$/m);
      expect(body).toMatch(/^queue_depth\{[^}]*source_id="otlpmetrics"[^}]*\} 5$/m);
      expect(body).toMatch(/^heap_used_bytes\{[^}]*\} 2048$/m);
      expect(body).toMatch(/^jobs_done_total\{[^}]*\} 7$/m);
      expect(body).not.toMatch(/checkout_duration/);
      expect(agent.agent.stats().dropped.refused).toBeGreaterThanOrEqual(1);
      await Promise.all([jsonMeters.shutdown(), protoMeters.shutdown()]);
    } finally {
      await ep.stop();
    }
    // The refusal the SDK got, as an OTLP client reads it: 200 with partial_success, in JSON and in protobuf.
    const metric = (name: string, data: Record<string, unknown>) => ({
      resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name, ...data }] }] }],
    });
    const histogram = metric("latency", {
      histogram: {
        aggregationTemporality: 2,
        dataPoints: [
          { count: "1", sum: 3 },
          { count: "2", sum: 4 },
        ],
      },
    });
    const r = await post(port, "/v1/metrics?app=otlpmetrics", JSON.stringify(histogram), { "content-type": "application/json", ...auth() });
    expect(r.status).toBe(200);
    expect(r.type).toBe("application/json");
    expect(JSON.parse(r.body.toString())).toEqual({
      partialSuccess: { rejectedDataPoints: "2", errorMessage: expect.stringMatching(/histograms are not taken/) },
    });
    const delta = metric("hits", { sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ asInt: "4" }] } });
    const d = await post(port, "/v1/metrics?app=otlpmetrics", JSON.stringify(delta), { "content-type": "application/json", ...auth() });
    expect(JSON.parse(d.body.toString()).partialSuccess.errorMessage).toMatch(/cumulative/);
  });

  it("otlp - bad bodies get the OTLP status and a clear message, and lose nothing else", async () => {
    const [tail] = (await openTails(stack, ["otlpbad"], token)).values();
    const path = "/v1/logs?app=otlpbad";
    const js = { "content-type": "application/json", ...auth() };
    const pb = { "content-type": "application/x-protobuf", ...auth() };
    const deepJson = (() => {
      let v: unknown = { stringValue: "x" };
      for (let i = 0; i < 200; i++) v = { kvlistValue: { values: [{ key: "k", value: v }] } };
      return JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: v }] }] }] });
    })();
    const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(65536);
    const good = Array.from({ length: 50 }, (_, i) => `kept ${i}`);
    // The good request goes in among the bad ones, at the same time.
    const [goodAnswer, ...answers] = await Promise.all([
      post(port, path, gzipSync(jsonLogs(good)), { ...js, "content-encoding": "gzip" }),
      post(port, path, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), pb),
      post(port, path, nestedProtoLogs(500), pb),
      post(port, path, deepJson, js),
      post(port, path, "{nope", js),
      post(port, path, "[1,2]", js),
      post(port, path, JSON.stringify({ resourceLogs: "many" }), js),
      post(port, path, jsonLogs(["x"], { traceId: "not-hex" }), js),
      post(port, path, jsonLogs(["x"]), { ...js, "content-type": "text/plain" }),
      post(port, path, gzipSync(jsonLogs(["x"])), { ...js, "content-encoding": "br" }),
      post(port, path, jsonLogs(["x"]), { ...js, "content-encoding": "gzip" }),
      post(port, path, bomb, { ...pb, "content-encoding": "gzip" }),
      post(port, path, jsonLogs(["y".repeat(70_000)]), js),
      post(port, "/v1/logs", jsonLogs(["x"]), js),
      post(port, path, jsonLogs(["x"]), { "content-type": "application/json" }),
      post(port, path, "", js, "GET"),
    ]);
    expect(goodAnswer!.status).toBe(200);
    expect(JSON.parse(goodAnswer!.body.toString())).toEqual({});
    const expected: Array<[number, RegExp]> = [
      [400, /not a valid protobuf request/],
      [400, /nested deeper than 16 levels/],
      [400, /nested deeper than 16 levels/],
      [400, /not valid JSON/],
      [400, /must be a JSON object/],
      [400, /resourceLogs: array expected/],
      [400, /logRecords\[0\]\.traceId: must be 32 hex digits/],
      [415, /application\/x-protobuf or application\/json/],
      [415, /Content-Encoding must be gzip/],
      [400, /not valid gzip/],
      [413, /larger than 262144 bytes once inflated/],
      [413, /larger than 65536 bytes/],
      [400, /\?app=NAME/],
      [401, /missing bearer token/],
      [405, /use POST/],
    ];
    for (const [i, [status, message]] of expected.entries()) {
      const a = answers[i]!;
      expect(a.status, message.source).toBe(status);
      // A google.rpc.Status in the request's encoding: JSON {code, message}, or protobuf whose message field is text.
      if (a.type === "application/json") expect((JSON.parse(a.body.toString()) as { message: string }).message).toMatch(message);
      else {
        expect(a.type, message.source).toBe("application/x-protobuf");
        expect(a.body.toString("latin1")).toMatch(message);
      }
    }
    await waitFor("the 50 good lines", () => lines(tail!.envelopes).length >= 50);
    await new Promise((r) => setTimeout(r, 300));
    expect(lines(tail!.envelopes)).toEqual(good);
    tail!.close();
    expect(agent.agent.stats().dropped.malformed).toBeGreaterThanOrEqual(12);
    // An app another tenant owns stays refused.
    const globex = await testToken({ tenant: "globex" });
    const foreign = await post(port, path, jsonLogs(["x"]), { "content-type": "application/json", authorization: `Bearer ${globex}` });
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body.toString())).toEqual({ code: 7, message: "app otlpbad belongs to another tenant" });
  });

  it("otlp - a port configured for one tenant and app takes exports without a token, writes only that app, and keeps its log rate limit", async () => {
    const [tail] = (await openTails(stack, ["otlpfixed"], token)).values();
    const fport = fixed.agent.ports.ingress;
    const first = await post(fport, "/v1/logs", jsonLogs(["from the fixed port"]));
    expect([first.status, first.body.toString()]).toEqual([200, "{}"]);
    const other = await post(fport, "/v1/logs?app=someother", jsonLogs(["nope"]));
    expect(other.status).toBe(403);
    expect(JSON.parse(other.body.toString()).message).toMatch(/writes only otlpfixed/);
    // 1,000 bytes/s: the first 600-byte record fits what is left of the second, the next two do not.
    const big = ["a", "b", "c"].map((c) => c.repeat(600));
    const limited = await post(fport, "/v1/logs", jsonLogs(big));
    expect(limited.status).toBe(200);
    expect(JSON.parse(limited.body.toString())).toEqual({
      partialSuccess: { rejectedLogRecords: "2", errorMessage: "2 log records over the instance's log rate limit (1000 bytes/sec)" },
    });
    await waitFor("the lines and the rate limit notice", () => tail!.envelopes.length >= 3);
    expect(logsOf(tail!.envelopes).map((e) => [e.sourceId, e.tags.tenant, text(e)])).toEqual([
      ["otlpfixed", "acme", "from the fixed port"],
      ["otlpfixed", "acme", big[0]],
    ]);
    const notice = tail!.envelopes.find((e) => e.tags.source_type === "LGR");
    expect(text(notice!)).toBe("app instance exceeded log rate limit (1000 bytes/sec)");
    expect(fixed.agent.stats().dropped.rate_limit).toBe(2);
    tail!.close();
  });

  it("otlp - a full agent buffer answers 429 with Retry-After, and takes the export once there is room", async () => {
    // A NATS with the apps bucket but no data stream yet: the agent can check owners, but nothing it publishes is
    // stored, so its buffer fills. A doppler started later creates the stream and the buffer drains.
    const nats = await startNatsServer();
    const nc = await connect({ servers: nats.url });
    await new Kvm(nc).create(APPS_BUCKET, { history: 1 });
    const lone: Stack = { nats, doppler: stack.doppler, api: stack.api, env: stack.env, stop: async () => undefined };
    const full = await startAgent(lone, {
      TAILRACE_INGRESS_ADDR: "127.0.0.1:0",
      TAILRACE_JWT_SECRET: TEST_JWT_SECRET,
      TAILRACE_AGENT_BUFFER: "100",
    });
    let doppler: Awaited<ReturnType<typeof extraDoppler>> | undefined;
    try {
      const fp = full.agent.ports.ingress;
      const path = "/v1/logs?app=otlpfull";
      const first = Array.from({ length: 80 }, (_, i) => `first ${i}`);
      const queued = Array.from({ length: 80 }, (_, i) => `queued ${i}`);
      const second = Array.from({ length: 30 }, (_, i) => `second ${i}`);
      const js = { "content-type": "application/json", ...auth() };
      // The first batch goes out and fails (no stream): publishing backs off, and the next 80 wait in the buffer.
      expect((await post(fp, path, jsonLogs(first), js)).status).toBe(200);
      await waitFor("a failed publish", () => full.agent.stats().egress.retries >= 1);
      expect((await post(fp, path, jsonLogs(queued), js)).status).toBe(200);
      expect(full.agent.stats().buffered).toBe(80);
      const refused = await post(fp, path, jsonLogs(second), js);
      expect(refused.status).toBe(429);
      expect(refused.retryAfter).toBe("1");
      expect(JSON.parse(refused.body.toString())).toEqual({ code: 8, message: "the agent's buffer is full; retry after 1 s" });
      const tooMany = await post(fp, path, jsonLogs(Array.from({ length: 101 }, () => "x")), js);
      expect(tooMany.status).toBe(413);
      expect(full.agent.stats().dropped.buffer_full).toBe(0);
      doppler = await extraDoppler(nats.url);
      await waitFor("the retried export is taken", async () => (await post(fp, path, jsonLogs(second), js)).status === 200, 15_000, 200);
      const d = doppler;
      let got: string[] = [];
      await waitFor("all 190 lines stored", async () => {
        const res = await fetch(`${d.api}/api/v1/read/otlpfull?limit=1000`, { headers: auth() });
        const batch = ((await res.json()) as { envelopes: { batch: Array<{ log?: { payload: string } }> } }).envelopes.batch;
        got = batch.map((e) => Buffer.from(e.log?.payload ?? "", "base64").toString());
        return got.length >= 190;
      });
      expect(got).toEqual([...first, ...queued, ...second]);
    } finally {
      await full.agent.stop(1000);
      await full.state.remove();
      await doppler?.doppler.stop();
      await nc.close();
      await nats.stop();
    }
  });
});
