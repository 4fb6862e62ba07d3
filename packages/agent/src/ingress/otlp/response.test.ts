import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExportLogsServiceResponse, ExportMetricsServiceResponse, Status } from "./proto.js";
import { failure, success } from "./response.js";

describe("OTLP responses", () => {
  let answer: (res: ServerResponse) => void = () => undefined;
  const server = createServer((_req, res) => answer(res));
  let base = "";
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  async function get(fn: (res: ServerResponse) => void) {
    answer = fn;
    const res = await fetch(base);
    return {
      status: res.status,
      type: res.headers.get("content-type"),
      retry: res.headers.get("retry-after"),
      body: new Uint8Array(await res.arrayBuffer()),
    };
  }

  it("otlp response - success is an Export*ServiceResponse in the request's encoding, with partial_success only when something was refused", async () => {
    const full = await get((res) => success(res, "logs", "protobuf", 0, ""));
    expect([full.status, full.type, full.body.length]).toEqual([200, "application/x-protobuf", 0]);
    const partial = await get((res) => success(res, "logs", "protobuf", 3, "why"));
    const decoded = ExportLogsServiceResponse.decode(partial.body) as {
      partialSuccess?: { rejectedLogRecords?: { toString(): string }; errorMessage?: string };
    };
    expect([decoded.partialSuccess?.rejectedLogRecords?.toString(), decoded.partialSuccess?.errorMessage]).toEqual(["3", "why"]);
    const metrics = await get((res) => success(res, "metrics", "protobuf", 2, "no"));
    const m = ExportMetricsServiceResponse.decode(metrics.body) as { partialSuccess?: { rejectedDataPoints?: { toString(): string } } };
    expect(m.partialSuccess?.rejectedDataPoints?.toString()).toBe("2");
    const json = await get((res) => success(res, "metrics", "json", 2, "no"));
    expect(json.type).toBe("application/json");
    expect(JSON.parse(Buffer.from(json.body).toString())).toEqual({ partialSuccess: { rejectedDataPoints: "2", errorMessage: "no" } });
  });

  it("otlp response - errors are a google.rpc.Status with the matching code, in either encoding", async () => {
    const pb = await get((res) => failure(res, 429, "full", "protobuf", { "retry-after": "1" }));
    expect([pb.status, pb.type, pb.retry]).toEqual([429, "application/x-protobuf", "1"]);
    expect(Status.decode(pb.body).toJSON()).toEqual({ code: 8, message: "full" });
    const js = await get((res) => failure(res, 400, "bad", "json"));
    expect(JSON.parse(Buffer.from(js.body).toString())).toEqual({ code: 3, message: "bad" });
    const other = await get((res) => failure(res, 500, "internal error", "json"));
    expect(JSON.parse(Buffer.from(other.body).toString()).code).toBe(13);
  });
});
