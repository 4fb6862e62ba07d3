import { describe, expect, it } from "vitest";
import { Mark } from "../../egress/mark.js";
import { FileLines } from "../file/decoder.js";
import { recordingSink, texts } from "../testing.js";
import { CriDecoder } from "./decoder.js";
import { placeCriLog } from "./source.js";

describe("CriDecoder", () => {
  it("cri decoder - merges P chunks into the next F of the same stream; empty and tagged lines are fine", () => {
    const { sink, out, counters } = recordingSink();
    const lines = new FileLines(new CriDecoder(sink, counters), () => undefined);
    const text = [
      "2026-11-23T10:00:00.000000001Z stdout P first ",
      "2026-11-23T10:00:00.000000002Z stderr F an error",
      "2026-11-23T10:00:00.000000003Z stdout P second ",
      "2026-11-23T10:00:00.000000004Z stdout F third",
      "2026-11-23T10:00:00.000000005Z stdout F",
      "2026-11-23T10:00:00.000000006+01:00 stdout F:x tagged",
      "garbage",
      "",
    ].join("\n");
    lines.push(Buffer.from(text), new Mark());
    expect(texts(out)).toEqual(["an error", "first second third", "", "tagged"]);
    expect(out[1]?.timestamp).toBe(1795428000000000001n);
    expect(out[0]?.log?.type).toBe("ERR");
    expect(counters.dropped.malformed).toBe(1);
  });

  it("cri mapping - namespace → tenant, container → app, pod → instance", () => {
    expect(placeCriLog("team-a_api-7d9f-x_0b1c-2d3e", "api", 0)).toEqual({
      tenant: "team-a",
      app: "api",
      processType: "web",
      instanceId: "api-7d9f-x",
      logRateLimit: 0,
    });
    expect(placeCriLog("not-a-pod-dir", "api", 0)).toBeUndefined();
  });

  it("cri mapping - the namespace's tailrace.tenant label and the pod's labels override; a pod's own tenant label does not", () => {
    const pod = { "tailrace.app": "shop", "tailrace.process": "worker", "tailrace.instance": "w-0", "tailrace.log_rate_limit": "4096" };
    expect(placeCriLog("team-a_api-7d9f-x_0b1c-2d3e", "api", 0, { namespace: { "tailrace.tenant": "acme" }, pod })).toEqual({
      tenant: "acme",
      app: "shop",
      processType: "worker",
      instanceId: "w-0",
      logRateLimit: 4096,
    });
    // Tenants create pods; only the operator labels namespaces.
    expect(placeCriLog("team-a_api-x_0b1c", "api", 7, { namespace: {}, pod: { "tailrace.tenant": "other" } })).toMatchObject({
      tenant: "team-a",
      app: "api",
      logRateLimit: 7,
    });
    expect(placeCriLog("team-a_api-x_0b1c", "api", 0, { namespace: {}, pod: { "tailrace.app": "no.dots" } })).toBeUndefined();
    expect(placeCriLog("team-a_api-x_0b1c", "api", 0, { namespace: { "tailrace.tenant": "a b" }, pod: {} })).toBeUndefined();
    expect(placeCriLog("team-a_api-x_0b1c", "api", 0, { namespace: {}, pod: { "tailrace.log_rate_limit": "fast" } })).toBeUndefined();
  });
});
