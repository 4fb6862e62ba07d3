import { describe, expect, it } from "vitest";
import { OtlpDepthError } from "./errors.js";
import {
  type AnyValue,
  ExportLogsServiceRequest,
  ExportLogsServiceResponse,
  ExportMetricsServiceRequest,
  ExportMetricsServiceResponse,
  MAX_ANY_DEPTH,
  Status,
  toBigInt,
} from "./proto.js";
import { logsJson, logsProto } from "./testing.js";

function nested(depth: number): AnyValue {
  let v: AnyValue = { stringValue: "leaf" };
  for (let i = 0; i < depth; i++) v = i % 2 ? { arrayValue: { values: [v] } } : { kvlistValue: { values: [{ key: "k", value: v }] } };
  return v;
}

describe("OTLP protobuf types", () => {
  it("otlp proto - the generated request and response types the agent names are in the pinned package", () => {
    for (const t of [ExportLogsServiceRequest, ExportLogsServiceResponse, ExportMetricsServiceRequest, ExportMetricsServiceResponse]) {
      expect(typeof t.decode).toBe("function");
      expect(typeof t.encode).toBe("function");
      expect(typeof t.fromObject).toBe("function");
    }
  });

  it("otlp proto - values nested up to the limit decode; one level more is refused, from protobuf and from JSON", () => {
    const ok = logsJson([{ body: nested(MAX_ANY_DEPTH) }]);
    const bytes = logsProto(ok);
    const back = ExportLogsServiceRequest.decode(bytes);
    expect(back.resourceLogs?.[0]?.scopeLogs?.[0]?.logRecords?.[0]?.body?.arrayValue).toBeTruthy();
    const deep = logsJson([{ attributes: [{ key: "a", value: nested(MAX_ANY_DEPTH + 1) }] }]);
    expect(() => ExportLogsServiceRequest.fromObject(deep)).toThrow(OtlpDepthError);
    // encode() takes plain objects without the guard, so it can write what decode must refuse.
    const deepBytes = ExportLogsServiceRequest.encode(deep).finish();
    expect(() => ExportLogsServiceRequest.decode(deepBytes)).toThrow(OtlpDepthError);
    // A refusal leaves the depth count where it was: the next decode is unaffected.
    expect(ExportLogsServiceRequest.decode(bytes).resourceLogs).toHaveLength(1);
  });

  it("otlp proto - 64-bit integers become bigints whatever form they take", () => {
    const back = ExportLogsServiceRequest.decode(logsProto(logsJson([{ timeUnixNano: "18446744073709551615" }])));
    expect(toBigInt(back.resourceLogs?.[0]?.scopeLogs?.[0]?.logRecords?.[0]?.timeUnixNano)).toBe(18446744073709551615n);
    expect(toBigInt(12.7)).toBe(12n);
    expect(toBigInt("-5")).toBe(-5n);
    expect(toBigInt(Number.NaN)).toBeUndefined();
    expect(toBigInt("x")).toBeUndefined();
    expect(toBigInt(null)).toBeUndefined();
  });

  it("otlp proto - google.rpc.Status encodes code and message", () => {
    expect(Buffer.from(Status.encode({ code: 3, message: "bad" }).finish())).toEqual(
      Buffer.from([0x08, 0x03, 0x12, 0x03, 0x62, 0x61, 0x64]),
    );
  });
});
