import { describe, expect, it } from "vitest";
import { formatBytes, MetricsModel, sparkPoints } from "./metrics.js";

describe("metrics", () => {
  it("metrics - keeps cpu and memory per instance, once per gauge", () => {
    const m = new MetricsModel();
    const g = (inst: string, ts: string, cpu: number) => ({
      timestamp: ts,
      instance_id: inst,
      gauge: { metrics: { cpu: { unit: "percentage", value: cpu }, memory: { unit: "bytes", value: 1024 } } },
    });
    expect(m.push([g("0", "1", 5), g("0", "1", 5), g("1", "1", 7), { timestamp: "2", log: {} }])).toBe(true);
    expect(m.instances.get("0")?.cpu).toEqual([5]);
    expect(m.instances.get("1")?.memory).toEqual([1024]);
    expect(m.push([g("0", "1", 5)])).toBe(false);
  });

  it("metrics - scales sparklines into their box", () => {
    expect(sparkPoints([0, 10], 100, 20)).toBe("0.0,19.0 100.0,1.0");
    expect(sparkPoints([], 100, 20)).toBe("");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(200 * 1024 * 1024)).toBe("200 MiB");
  });
});
