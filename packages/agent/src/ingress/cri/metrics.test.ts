import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { kubepodsCgroupDirs } from "../metrics/cgroup.js";
import { CriContainerMetrics, type CriLogPlace, criContainerId } from "./metrics.js";

const root = mkdtempSync(join(tmpdir(), "tailrace-cri-metrics-"));
const pods = join(root, "log", "pods");
const containers = join(root, "log", "containers");
const cgroup = join(root, "cgroup");
afterAll(() => rmSync(root, { recursive: true, force: true }));

const id = (n: number) => n.toString(16).padStart(64, "0");

/** A pod's log directory and the kubelet's symlinks, which point at host paths (`/var/log/pods/...`), not ours. */
function pod(namespace: string, name: string, uid: string, container: string, runs: Array<{ log: string; id: string }>): CriLogPlace[] {
  const podDir = `${namespace}_${name}_${uid}`;
  mkdirSync(join(pods, podDir, container), { recursive: true });
  mkdirSync(containers, { recursive: true });
  return runs.map((r) => {
    writeFileSync(join(pods, podDir, container, r.log), "x".repeat(1000));
    symlinkSync(`/var/log/pods/${podDir}/${container}/${r.log}`, join(containers, `${name}_${namespace}_${container}-${r.id}.log`));
    return { dir: pods, podDir, namespace, pod: name, uid, container, log: r.log };
  });
}

function cgroupDir(dir: string, usageUsec: number, current: number, max: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "cpu.stat"), `usage_usec ${usageUsec}\nuser_usec 10\nsystem_usec 5\n`);
  writeFileSync(join(dir, "memory.current"), `${current}\n`);
  writeFileSync(join(dir, "memory.max"), `${max}\n`);
}

describe("CRI container metrics", () => {
  it("metrics - the kubelet's cgroup layouts: systemd slices per QoS (uid with _) and cgroupfs", () => {
    const dirs = kubepodsCgroupDirs("/cg", "0b1c-2d3e", "abc");
    expect(dirs).toContain("/cg/kubepods.slice/kubepods-pod0b1c_2d3e.slice/cri-containerd-abc.scope");
    expect(dirs).toContain("/cg/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0b1c_2d3e.slice/cri-containerd-abc.scope");
    expect(dirs).toContain("/cg/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0b1c_2d3e.slice/crio-abc.scope");
    expect(dirs).toContain("/cg/kubepods/burstable/pod0b1c-2d3e/abc");
    expect(dirs).toContain("/cg/kubepods/pod0b1c-2d3e/abc");
  });

  it("metrics - a restarted container: the live run reads its systemd-driver cgroup, the previous run reports nothing", async () => {
    const uid = "5f0e7a2c-1111-4222-8333-944455556666";
    const [previous, live] = pod("team-a", "api-7d9f-x0", uid, "api", [
      { log: "0.log", id: id(1) },
      { log: "1.log", id: id(2) },
    ]) as [CriLogPlace, CriLogPlace];
    // A rotation of the live run's log counts as its disk too.
    writeFileSync(join(pods, live.podDir, "api", "1.log.20261204-010000"), "y".repeat(500));
    const slice = join(cgroup, "kubepods.slice", "kubepods-burstable.slice", `kubepods-burstable-pod${uid.replaceAll("-", "_")}.slice`);
    cgroupDir(join(slice, `cri-containerd-${id(2)}.scope`), 123_456, 50 * 2 ** 20, String(256 * 2 ** 20));

    expect(await criContainerId(containers, live)).toBe(id(2));
    expect(await new CriContainerMetrics(live, containers, cgroup).read()).toEqual({
      cpuUsec: 123_456,
      memory: 50 * 2 ** 20,
      memoryQuota: 256 * 2 ** 20,
      disk: 1500,
    });
    expect(await new CriContainerMetrics(previous, containers, cgroup).read()).toBeUndefined();
  });

  it("metrics - the cgroupfs driver's layout, a Guaranteed pod, and a container whose symlink is not there yet", async () => {
    const uid = "77777777-aaaa-4bbb-8ccc-dddddddddddd";
    const [place] = pod("team-b", "worker-0", uid, "worker", [{ log: "0.log", id: id(3) }]) as [CriLogPlace];
    cgroupDir(join(cgroup, "kubepods", `pod${uid}`, id(3)), 9, 4096, "max");
    const u = await new CriContainerMetrics(place, containers, cgroup).read();
    expect(u).toMatchObject({ cpuUsec: 9, memory: 4096, disk: 1000 });
    expect(u?.memoryQuota).toBeGreaterThan(0);

    const unlinked = { ...place, container: "sidecar" };
    mkdirSync(join(pods, place.podDir, "sidecar"), { recursive: true });
    writeFileSync(join(pods, place.podDir, "sidecar", "0.log"), "z");
    const reader = new CriContainerMetrics(unlinked, containers, cgroup);
    expect(await reader.read()).toBeUndefined();
    // The kubelet makes the link just after the container: the next reading finds it.
    symlinkSync(`/var/log/pods/${place.podDir}/sidecar/0.log`, join(containers, `worker-0_team-b_sidecar-${id(4)}.log`));
    cgroupDir(join(cgroup, "kubepods", `pod${uid}`, id(4)), 1, 2, "3");
    expect(await reader.read()).toEqual({ cpuUsec: 1, memory: 2, memoryQuota: 3, disk: 1 });
  });

  it("metrics - a link of another pod with the same container name is not taken", async () => {
    const [place] = pod("team-c", "web-1", "12121212-3434-4565-8787-909090909090", "web", [{ log: "0.log", id: id(5) }]) as [CriLogPlace];
    const other = { ...place, podDir: "team-c_web-1_00000000-0000-4000-8000-000000000000", uid: "00000000-0000-4000-8000-000000000000" };
    expect(await criContainerId(containers, other)).toBeUndefined();
  });
});
