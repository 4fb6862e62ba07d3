import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodeLogs, decodeMetrics, encodingOf, inflate } from "./decode.js";
import { OtlpMalformedError, OtlpTooLargeError, OtlpUnsupportedMediaError } from "./errors.js";
import { toBigInt } from "./proto.js";
import { logsJson, logsProto, metricsJson, metricsProto } from "./testing.js";

const json = (o: unknown) => Buffer.from(JSON.stringify(o));

describe("OTLP decode", () => {
  it("otlp decode - the content type picks the encoding; anything else is 415", () => {
    expect(encodingOf("application/x-protobuf")).toBe("protobuf");
    expect(encodingOf("application/json; charset=utf-8")).toBe("json");
    expect(encodingOf("Application/JSON")).toBe("json");
    for (const t of [undefined, "", "text/plain", "application/protobuf", "application/jsonx"]) {
      expect(() => encodingOf(t)).toThrow(OtlpUnsupportedMediaError);
    }
  });

  it("otlp decode - gzip is inflated up to the limit, a bomb stops there, and a bad stream is 400", async () => {
    const body = Buffer.from("x".repeat(1000));
    expect(await inflate(gzipSync(body), "gzip", 1000)).toEqual(body);
    expect(await inflate(body, undefined, 1000)).toEqual(body);
    expect(await inflate(body, "identity", 1000)).toEqual(body);
    await expect(inflate(gzipSync(Buffer.alloc(50 * 1024 * 1024)), "gzip", 1024 * 1024)).rejects.toThrow(OtlpTooLargeError);
    await expect(inflate(body, undefined, 999)).rejects.toThrow(OtlpTooLargeError);
    await expect(inflate(body, "gzip", 1000)).rejects.toThrow(OtlpMalformedError);
    await expect(inflate(gzipSync(body).subarray(0, 20), "gzip", 1000)).rejects.toThrow(OtlpMalformedError);
    await expect(inflate(body, "deflate", 1000)).rejects.toThrow(OtlpUnsupportedMediaError);
  });

  it("otlp decode - JSON takes hex ids, int64 as strings or numbers, and enums as integers, as protobuf does", () => {
    const record = {
      timeUnixNano: "1700000000000000001",
      observedTimeUnixNano: 1700000000000000000,
      severityNumber: 17,
      traceId: "5B8EFFF798038103D269B633813FC60C",
      spanId: "eee19b7ec3c1b174",
      body: { intValue: 42 },
    };
    const fromJson = decodeLogs(json(logsJson([record])), "json").resourceLogs?.[0]?.scopeLogs?.[0]?.logRecords?.[0];
    const asProto = { ...record, traceId: Buffer.from(record.traceId, "hex"), spanId: Buffer.from(record.spanId, "hex") };
    const fromProto = decodeLogs(logsProto(logsJson([asProto])), "protobuf").resourceLogs?.[0]?.scopeLogs?.[0]?.logRecords?.[0];
    for (const r of [fromJson, fromProto]) {
      expect(toBigInt(r?.timeUnixNano)).toBe(1700000000000000001n);
      expect(r?.severityNumber).toBe(17);
      expect(Buffer.from(r?.traceId ?? []).toString("hex")).toBe("5b8efff798038103d269b633813fc60c");
      expect(Buffer.from(r?.spanId ?? []).toString("hex")).toBe("eee19b7ec3c1b174");
      expect(toBigInt(r?.body?.intValue)).toBe(42n);
    }
    const m = decodeMetrics(
      json(
        metricsJson([{ name: "c", sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ asInt: "9007199254740993" }] } }]),
      ),
      "json",
    );
    const sum = m.resourceMetrics?.[0]?.scopeMetrics?.[0]?.metrics?.[0]?.sum;
    expect(sum?.aggregationTemporality).toBe(2);
    expect(toBigInt(sum?.dataPoints?.[0]?.asInt)).toBe(9007199254740993n);
    expect(decodeMetrics(metricsProto(metricsJson([{ name: "g", gauge: { dataPoints: [{ asDouble: 1.5 }] } }])), "protobuf")).toBeTruthy();
  });

  it("otlp decode - malformed bodies are 400 with a message naming what is wrong", () => {
    const cases: Array<[Buffer | Uint8Array, "json" | "protobuf", RegExp]> = [
      [Buffer.from("{"), "json", /not valid JSON/],
      [Buffer.from("null"), "json", /JSON object/],
      [Buffer.from('"x"'), "json", /JSON object/],
      [json({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ traceId: "abc" }] }] }] }), "json", /logRecords\[0\]\.traceId: must be 32 hex/],
      [json({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ spanId: 5 }] }] }] }), "json", /spanId: must be 16 hex/],
      [json({ resourceLogs: [{ scopeLogs: "x" }] }), "json", /scopeLogs: array expected/],
      [json({ resourceLogs: [{ resource: 3 }] }), "json", /resource: object expected/],
      [json(logsJson([{ timeUnixNano: "12abc" }])), "json", /timeUnixNano: must be an integer/],
      [json(logsJson([{ body: { arrayValue: { values: [{ intValue: "abc" }] } } }])), "json", /intValue: must be an integer/],
      [json(logsJson([{ observedTimeUnixNano: 1.5 }])), "json", /observedTimeUnixNano: must be an integer/],
      [Buffer.from([0x0a, 0x10, 0x01]), "protobuf", /not a valid protobuf request/],
      [Buffer.from([0x0f]), "protobuf", /not a valid protobuf request/],
      // Unknown groups inside groups, 200,000 deep.
      [Buffer.alloc(200_000, 0x1b), "protobuf", /not a valid protobuf request: fields nested too deep/],
    ];
    for (const [body, enc, message] of cases) {
      expect(() => decodeLogs(body, enc), message.source).toThrow(OtlpMalformedError);
      expect(() => decodeLogs(body, enc), message.source).toThrow(message);
    }
    const exemplar = metricsJson([{ name: "g", gauge: { dataPoints: [{ asDouble: 1, exemplars: [{ traceId: "zz" }] }] } }]);
    expect(() => decodeMetrics(json(exemplar), "json")).toThrow(/dataPoints\[0\]\.exemplars\[0\]\.traceId/);
  });
});
