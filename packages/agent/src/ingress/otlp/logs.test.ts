import { type Envelope, MAX_PAYLOAD_BYTES, validateEnvelope } from "@tailrace/envelope";
import { describe, expect, it } from "vitest";
import { decodeLogs } from "./decode.js";
import { logsToEnvelopes, logType, severityName } from "./logs.js";
import { limits, logsJson, NOW, now, placement, str } from "./testing.js";

function map(records: object[], resource: object[] = [], l = limits) {
  const req = decodeLogs(Buffer.from(JSON.stringify(logsJson(records, resource))), "json");
  const out = logsToEnvelopes(req, placement, l, now);
  for (const e of out.envelopes) validateEnvelope(e);
  return out;
}
const payload = (e: Envelope | undefined) => Buffer.from(e?.log?.payload ?? []).toString("utf8");

describe("OTLP logs mapping", () => {
  it("otlp logs - a string body is the payload as is, any other value its JSON", () => {
    const out = map([
      { body: { stringValue: "plain {not json}" } },
      { body: { kvlistValue: { values: [str("a", "b"), { key: "n", value: { intValue: "12" } }] } } },
      { body: { arrayValue: { values: [{ boolValue: true }, { doubleValue: 1.5 }, { bytesValue: "AQI=" }] } } },
      { body: { intValue: "123456789012345678" } },
      {},
    ]);
    expect(out.envelopes.map(payload)).toEqual(["plain {not json}", '{"a":"b","n":12}', '[true,1.5,"AQI="]', '"123456789012345678"', ""]);
  });

  it("otlp logs - severity_number 17 (ERROR) and up is ERR; without one, an error-like severity_text is", () => {
    expect([1, 9, 13, 16, 17, 21, 24].map((n) => logType({ severityNumber: n }))).toEqual([
      "OUT",
      "OUT",
      "OUT",
      "OUT",
      "ERR",
      "ERR",
      "ERR",
    ]);
    expect(logType({ severityText: "ERROR" })).toBe("ERR");
    expect(logType({ severityText: "fatal" })).toBe("ERR");
    expect(logType({ severityText: "warning" })).toBe("OUT");
    expect(logType({ severityNumber: 9, severityText: "ERROR" })).toBe("OUT");
    expect([1, 5, 9, 13, 17, 21, 0, 25].map(severityName)).toEqual(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "", ""]);
    const [e] = map([{ severityNumber: 18 }]).envelopes;
    expect(e?.tags.severity).toBe("ERROR");
  });

  it("otlp logs - the timestamp is time_unix_nano, else observed_time_unix_nano, else now", () => {
    const out = map([{ timeUnixNano: "5", observedTimeUnixNano: "7" }, { observedTimeUnixNano: "7" }, { timeUnixNano: "0" }, {}]);
    expect(out.envelopes.map((e) => e.timestamp)).toEqual([5n, 7n, NOW, NOW]);
    const refused = map([{ timeUnixNano: "18446744073709551615" }, { timeUnixNano: "9" }]);
    expect(refused.rejected).toBe(1);
    expect(refused.error).toMatch(/logRecords\[0\]: time_unix_nano out of range/);
    expect(refused.envelopes.map((e) => e.timestamp)).toEqual([9n]);
  });

  it("otlp logs - the placement's tags win, attributes are bounded in count and size, and drops are counted", () => {
    const attrs = [str("tenant", "globex"), str("source_type", "LGR"), str("__proto__", "x"), str("", "x"), str("k".repeat(300), "x")];
    const many = Array.from({ length: 40 }, (_, i) => str(`a${String(i).padStart(2, "0")}`, "v".repeat(2000)));
    const [e] = map([{ attributes: [...attrs, ...many] }], [str("service.name", "shop"), str("a00", "resource loses")], {
      maxAttributes: 10,
      maxValueChars: 100,
    }).envelopes;
    expect(e?.tags).toMatchObject(placement.tags);
    expect(Object.getPrototypeOf(e?.tags)).toBe(Object.prototype);
    const fromAttributes = Object.keys(e?.tags ?? {}).filter((k) => /^a\d\d$/.test(k));
    expect(fromAttributes).toHaveLength(10);
    expect(e?.tags.a00).toBe("v".repeat(100));
    // 5 refused names, 30 over the count, and the resource's service.name (the count is full); a00 is shadowed.
    expect(e?.tags["otel.dropped_attributes_count"]).toBe("36");
    expect(e?.tags["service.name"]).toBeUndefined();
  });

  it("otlp logs - trace and span ids become hex tags; all-zero ids are none; ids of the wrong length refuse the record", () => {
    const ids = { traceId: "5b8efff798038103d269b633813fc60c", spanId: "eee19b7ec3c1b174" };
    const out = map([ids, { traceId: "0".repeat(32), spanId: "0".repeat(16) }, { eventName: "checkout", body: { stringValue: "e" } }]);
    expect(out.envelopes[0]?.tags).toMatchObject({ trace_id: ids.traceId, span_id: ids.spanId, "otel.scope.name": "lib" });
    expect(out.envelopes[1]?.tags.trace_id).toBeUndefined();
    expect(out.envelopes[2]?.tags.event_name).toBe("checkout");
    const req = decodeLogs(Buffer.from(JSON.stringify(logsJson([{}, {}]))), "json");
    const records = req.resourceLogs?.[0]?.scopeLogs?.[0]?.logRecords ?? [];
    records[0]!.traceId = new Uint8Array(5);
    const mapped = logsToEnvelopes(req, placement, limits, now);
    expect([mapped.rejected, mapped.envelopes.length]).toEqual([1, 1]);
    expect(mapped.error).toMatch(/trace_id must be 16 bytes/);
  });

  it("otlp logs - a body over 64 KiB is split on a character boundary, every part but the last marked partial", () => {
    const text = `${"é".repeat(40_000)}end`;
    const out = map([{ body: { stringValue: text } }]);
    expect(out.envelopes.length).toBe(2);
    expect(out.envelopes.every((e) => (e.log?.payload.length ?? 0) <= MAX_PAYLOAD_BYTES)).toBe(true);
    expect(out.envelopes.map((e) => e.tags.partial)).toEqual(["true", undefined]);
    expect(out.envelopes.map(payload).join("")).toBe(text);
  });
});
