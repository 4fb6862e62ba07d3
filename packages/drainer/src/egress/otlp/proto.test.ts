import { describe, expect, it } from "vitest";
import {
  ExportLogsServiceRequest,
  ExportLogsServiceResponse,
  ExportMetricsServiceRequest,
  ExportMetricsServiceResponse,
  fixed64,
  Status,
} from "./proto.js";

describe("OTLP protobuf types (drain)", () => {
  it("otlp proto - the generated types the drain names are in the pinned package", () => {
    for (const t of [ExportLogsServiceRequest, ExportMetricsServiceRequest]) expect(typeof t.encode).toBe("function");
    for (const t of [ExportLogsServiceResponse, ExportMetricsServiceResponse]) expect(typeof t.decode).toBe("function");
  });

  it("otlp proto - 64-bit integers go in as low/high pairs and come out as written", () => {
    const time = 1_764_000_000_123_456_789n;
    const bytes = ExportLogsServiceRequest.encode({
      resourceLogs: [
        {
          resource: { attributes: [] },
          scopeLogs: [
            {
              scope: { name: "s" },
              logRecords: [
                {
                  timeUnixNano: fixed64(time),
                  observedTimeUnixNano: fixed64((1n << 64n) - 1n),
                  severityNumber: 9,
                  severityText: "INFO",
                  body: { stringValue: "x" },
                  attributes: [],
                },
              ],
            },
          ],
        },
      ],
    }).finish();
    // fixed64 is 8 little-endian bytes after its tag (field 1, wire type 1 = 0x09).
    const at = Buffer.from(bytes).indexOf(0x09);
    expect(Buffer.from(bytes).readBigUInt64LE(at + 1)).toBe(time);
    expect(fixed64(-1n)).toEqual({ low: -1, high: -1 });
    expect(fixed64(1n << 32n)).toEqual({ low: 0, high: 1 });
  });

  it("otlp proto - google.rpc.Status and partial_success answers decode", () => {
    const status = Status.encode(Status.fromObject({ code: 3, message: "bad" })).finish();
    expect(Status.toObject(Status.decode(status))).toEqual({ code: 3, message: "bad" });
    expect(ExportLogsServiceResponse.decode(new Uint8Array()).partialSuccess ?? null).toBeNull();
  });
});
