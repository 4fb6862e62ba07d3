import { totalmem } from "node:os";
import { describe, expect, it } from "vitest";
import { findCgroupRoot, parseCpuStat, parseMax } from "./cgroup.js";
import { parseProcStat, readProcessTree } from "./proc.js";

describe("cgroup and /proc readers", () => {
  it("metrics - cpu.stat usage_usec and memory.max, which may be max", () => {
    expect(parseCpuStat("usage_usec 1234\nuser_usec 1000\n")).toBe(1234);
    expect(parseCpuStat("nothing")).toBeUndefined();
    expect(parseMax("max\n")).toBe(totalmem());
    expect(parseMax("1048576\n")).toBe(1048576);
  });

  it("metrics - /proc/<pid>/stat with spaces and parentheses in the name", () => {
    const s = "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 1000000 300 18446744073709551615";
    expect(parseProcStat(s)).toEqual({ pid: 42, ppid: 1, cpuUsec: 3_000_000, rssBytes: 300 * 4096 });
  });

  it("metrics - this process's tree from the real /proc, and the real cgroup v2 mount", async () => {
    const u = await readProcessTree(process.pid, undefined);
    expect(u?.memory).toBeGreaterThan(10 * 2 ** 20);
    expect(u?.cpuUsec).toBeGreaterThan(0);
    expect(await findCgroupRoot()).toMatch(/^\/sys\/fs\/cgroup/);
  });
});
